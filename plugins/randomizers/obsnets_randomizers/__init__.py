"""obsnets-randomizers: CropRandomizer, ColorRandomizer and GaussianNoiseRandomizer."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_randomizers.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_randomizers.color_randomizer import ColorRandomizer
    from obsnets_randomizers.crop_randomizer import CropRandomizer
    from obsnets_randomizers.gaussian_noise_randomizer import GaussianNoiseRandomizer

__version__ = importlib.metadata.version("obsnets-randomizers")  # written once, in pyproject.toml

__all__ = ["ColorRandomizer", "CropRandomizer", "GaussianNoiseRandomizer"]

__getattr__, __dir__ = lazy_exports(__name__, {n: t for n, (_, t) in COMPONENTS.items()})
