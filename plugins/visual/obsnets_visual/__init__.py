"""obsnets-visual: VisualCore, convolutional backbones and pools for image observations."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_visual.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_visual.coord_conv import CoordConv2d
    from obsnets_visual.feature_aggregator import FeatureAggregator
    from obsnets_visual.film_layer import FiLMLayer
    from obsnets_visual.frozen_batch_norm import FrozenBatchNorm, FrozenBatchNormAct
    from obsnets_visual.norm import (
        GroupNormAct,
        replace_batchnorm_with_frozen,
        replace_batchnorm_with_groupnorm,
    )
    from obsnets_visual.resnet18_conv import ResNet18Conv
    from obsnets_visual.resnet18_conv_film import ResNet18ConvFiLM
    from obsnets_visual.resnet50_conv import ResNet50Conv
    from obsnets_visual.shallow_conv import ShallowConv
    from obsnets_visual.spatial_mean_pool import SpatialMeanPool
    from obsnets_visual.spatial_softmax import SpatialSoftmax
    from obsnets_visual.torchvision_conv import TorchvisionConv
    from obsnets_visual.visual_core import VisualCore
    from obsnets_visual.visual_core_language import VisualCoreLanguageConditioned

EXTRA_EXPORTS = {
    "CoordConv2d": "obsnets_visual.coord_conv:CoordConv2d",
    "FrozenBatchNorm": "obsnets_visual.frozen_batch_norm:FrozenBatchNorm",
    "FrozenBatchNormAct": "obsnets_visual.frozen_batch_norm:FrozenBatchNormAct",
    "GroupNormAct": "obsnets_visual.norm:GroupNormAct",
    "replace_batchnorm_with_frozen": "obsnets_visual.norm:replace_batchnorm_with_frozen",
    "replace_batchnorm_with_groupnorm": "obsnets_visual.norm:replace_batchnorm_with_groupnorm",
}

__version__ = importlib.metadata.version("obsnets-visual")  # written once, in pyproject.toml

__all__ = [
    "CoordConv2d",
    "FeatureAggregator",
    "FiLMLayer",
    "FrozenBatchNorm",
    "FrozenBatchNormAct",
    "GroupNormAct",
    "ResNet18Conv",
    "ResNet18ConvFiLM",
    "ResNet50Conv",
    "ShallowConv",
    "SpatialMeanPool",
    "SpatialSoftmax",
    "TorchvisionConv",
    "VisualCore",
    "VisualCoreLanguageConditioned",
    "replace_batchnorm_with_frozen",
    "replace_batchnorm_with_groupnorm",
]

__getattr__, __dir__ = lazy_exports(
    __name__, {**{n: t for n, (_, t) in COMPONENTS.items()}, **EXTRA_EXPORTS}
)
