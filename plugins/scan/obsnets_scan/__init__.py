"""obsnets-scan: ScanCore and the Conv1dBase backbone for range-finder (scan) observations."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_scan.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_scan.conv1d_base import Conv1dBase
    from obsnets_scan.scan_core import ScanCore

__version__ = importlib.metadata.version("obsnets-scan")  # written once, in pyproject.toml

__all__ = ["Conv1dBase", "ScanCore"]

__getattr__, __dir__ = lazy_exports(__name__, {n: t for n, (_, t) in COMPONENTS.items()})
