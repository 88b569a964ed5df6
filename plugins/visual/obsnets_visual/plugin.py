"""obsnets plugin hooks for obsnets-visual: declares its components by import string.

Importing this module imports no component module (and not torchvision).
"""

from __future__ import annotations

from typing import Any

from obsnets.hookspecs import RegisterComponent, hookimpl

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "VisualCore": ("encoder_core", "obsnets_visual.visual_core:VisualCore"),
    "VisualCoreLanguageConditioned": (
        "encoder_core",
        "obsnets_visual.visual_core_language:VisualCoreLanguageConditioned",
    ),
    "ResNet18Conv": ("backbone", "obsnets_visual.resnet18_conv:ResNet18Conv"),
    "ResNet50Conv": ("backbone", "obsnets_visual.resnet50_conv:ResNet50Conv"),
    "ShallowConv": ("backbone", "obsnets_visual.shallow_conv:ShallowConv"),
    "FiLMLayer": ("backbone", "obsnets_visual.film_layer:FiLMLayer"),
    "ResNet18ConvFiLM": ("backbone", "obsnets_visual.resnet18_conv_film:ResNet18ConvFiLM"),
    "TorchvisionConv": ("backbone", "obsnets_visual.torchvision_conv:TorchvisionConv"),
    "SpatialSoftmax": ("pool", "obsnets_visual.spatial_softmax:SpatialSoftmax"),
    "SpatialMeanPool": ("pool", "obsnets_visual.spatial_mean_pool:SpatialMeanPool"),
    "FeatureAggregator": ("pool", "obsnets_visual.feature_aggregator:FeatureAggregator"),
}

IMAGE_MODALITIES = ("rgb", "depth")


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-visual."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)


@hookimpl
def obsnets_encoder_defaults(modality: str) -> dict[str, Any] | None:
    """robomimic's default encoder for images: a ``VisualCore`` with its defaults, no randomizer.

    For ``"rgb"`` and ``"depth"`` (robomimic's depth default is a copy of rgb's); ``None``
    for any other modality. ``core_kwargs`` is empty, so ``VisualCore``'s own defaults apply:
    ResNet18Conv + SpatialSoftmax(num_kp=32) + flatten + Linear to 64.
    """
    if modality not in IMAGE_MODALITIES:
        return None
    return {
        "core_class": "VisualCore",
        "core_kwargs": {},
        "obs_randomizer_class": None,
        "obs_randomizer_kwargs": {},
    }
