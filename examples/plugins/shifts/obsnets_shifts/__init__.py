"""obsnets-shifts: DrQ random-shift image augmentation for obsnets observation encoders."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports

from obsnets_shifts.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_shifts.random_shifts_randomizer import (
        RandomShiftsRandomizer,
        shift_images,
    )

__version__ = importlib.metadata.version("obsnets-shifts")  # written once, in pyproject.toml

__all__ = ["RandomShiftsRandomizer", "shift_images"]

# Components load on first access, so importing the package (which discovery does) stays cheap.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **{n: t for n, (_, t) in COMPONENTS.items()},
        "shift_images": "obsnets_shifts.random_shifts_randomizer:shift_images",
    },
)
