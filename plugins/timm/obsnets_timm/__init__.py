"""obsnets-timm: any timm model as a convolutional backbone, by timm's own model name.

Importing this package does not import timm; ``TimmConv`` and :func:`list_timm_models` are
loaded on first access.
"""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_timm.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_timm.model_names import list_timm_models
    from obsnets_timm.timm_conv import TimmConv

__version__ = importlib.metadata.version("obsnets-timm")  # written once, in pyproject.toml

__all__ = ["TimmConv", "list_timm_models"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **{name: target for name, (_, target) in COMPONENTS.items()},
        "list_timm_models": "obsnets_timm.model_names:list_timm_models",
    },
)
