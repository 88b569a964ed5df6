"""Helpers shared by the torchvision-based backbones: build, load, adapt, trunk, shapes."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torchvision
from torch import nn
from torch.func import functional_call

from obsnets.bases import InputNormalization
from obsnets.errors import ConfigError, ShapeError, suggestion
from obsnets_visual._checks import describe
from obsnets_visual.coord_conv import CoordConv2d
from obsnets_visual.pretrained import Pretrained, load_pretrained

__all__ = [
    "build_torchvision_model",
    "meta_output_shape",
    "replace_first_conv",
    "trunk_layers",
    "weights_normalization",
]

_HEAD_NAMES = frozenset({"avgpool", "classifier", "fc", "head", "heads", "flatten"})


def build_torchvision_model(
    component: str,
    model_name: str,
    pretrained: Pretrained,
    weights: str = "DEFAULT",
    model_kwargs: dict[str, Any] | None = None,
) -> tuple[nn.Module, bool]:
    """Build a torchvision classification model, with local weights if asked.

    Args:
        component: Name used in messages.
        model_name: A torchvision model name, e.g. ``"resnet18"``.
        pretrained: ``False``, ``True`` or a file path (see :mod:`obsnets_visual.pretrained`).
        weights: Member of the model's weights enum whose file ``pretrained=True`` looks for.
        model_kwargs: Extra keyword arguments for the torchvision builder.

    Returns:
        ``(model, loaded)``: the model (with its head) and whether weights were loaded.
    """
    available = torchvision.models.list_models(module=torchvision.models)
    if model_name not in available:
        raise ConfigError(
            f"{component}: unknown torchvision classification model {model_name!r}."
            f"{suggestion(model_name, available)} See torchvision.models.list_models()."
        )
    try:
        model = torchvision.models.get_model(model_name, weights=None, **(model_kwargs or {}))
    except TypeError as exc:
        raise ConfigError(f"{component}: torchvision {model_name!r} rejected {exc}") from exc
    if pretrained is False or pretrained is None:
        return model, False
    enum = torchvision.models.get_model_weights(model_name)
    try:
        entry = getattr(enum, weights)
    except AttributeError as exc:
        names = ["DEFAULT", *enum.__members__]
        raise ConfigError(
            f"{component}: {model_name!r} has no weights {weights!r}; choose one of {names}."
        ) from exc
    return model, load_pretrained(component, model, pretrained, entry.url)


@functools.cache  # a pure lookup, asked on every forward of a normalising VisualCore
def weights_normalization(model_name: str, weights: str) -> InputNormalization | None:
    """The input normalisation torchvision's ``weights`` of ``model_name`` were trained with.

    Read from the weights' own evaluation transforms (``ImageClassification``: mean, std,
    crop and resize sizes, interpolation), so every weights entry reports its own values
    (ResNet-50's ``IMAGENET1K_V2`` resizes to 232, not 256).

    Args:
        model_name: A torchvision model name, e.g. ``"resnet18"``.
        weights: A member of its weights enum, or ``"DEFAULT"``.

    Returns:
        The normalisation, or ``None`` if the transforms do not normalise.
    """
    entry = getattr(torchvision.models.get_model_weights(model_name), weights)
    transforms = entry.transforms()
    mean, std = getattr(transforms, "mean", None), getattr(transforms, "std", None)
    if mean is None or std is None:
        return None
    crop, resize = int(transforms.crop_size[0]), int(transforms.resize_size[0])
    return InputNormalization(
        mean=tuple(mean),
        std=tuple(std),
        input_size=(len(mean), crop, crop),
        interpolation=str(transforms.interpolation.value),
        crop_pct=crop / resize,
    )


def replace_first_conv(
    component: str,
    model: nn.Module,
    input_channel: int,
    coord_conv: bool,
    pretrained_loaded: bool,
) -> None:
    """Swap the model's first ``Conv2d`` for one taking ``input_channel`` channels (in place).

    Nothing changes when ``input_channel == 3`` and ``coord_conv`` is false. The new layer
    keeps the old one's hyperparameters and is freshly initialised.

    Args:
        component: Name used in messages.
        model: The model; its first ``nn.Conv2d`` (module order) is replaced.
        input_channel: Channels of the images the backbone will receive.
        coord_conv: Use a :class:`CoordConv2d` (two extra position channels).
        pretrained_loaded: Whether pretrained weights were loaded (a replaced first layer
            then loses its pretrained kernel, which is warned about).
    """
    if input_channel == 3 and not coord_conv:
        return
    found = next(((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)
    if found is None:
        raise ConfigError(f"{component}: the model has no Conv2d whose input could be adapted.")
    path, old = found
    layer_class = CoordConv2d if coord_conv else nn.Conv2d
    new = layer_class(
        input_channel,
        old.out_channels,
        kernel_size=old.kernel_size,  # type: ignore[arg-type]
        stride=old.stride,  # type: ignore[arg-type]
        padding=old.padding,  # type: ignore[arg-type]
        dilation=old.dilation,  # type: ignore[arg-type]
        groups=old.groups,
        bias=old.bias is not None,
        padding_mode=old.padding_mode,
    )
    parent_path, _, leaf = path.rpartition(".")
    setattr(model.get_submodule(parent_path), leaf, new)
    if pretrained_loaded:
        # robomimic dropped the pretrained first layer silently; say so instead.
        warnings.warn(
            f"{component}: the pretrained first convolution {path!r} was replaced by a freshly "
            f"initialised {layer_class.__name__} for {input_channel} input channel(s)"
            f"{' plus 2 position channels' if coord_conv else ''}.",
            UserWarning,
            stacklevel=3,
        )


def trunk_layers(component: str, model: nn.Module) -> list[nn.Module]:
    """The layers of a classification model up to its pooling/classifier head, in order.

    Works for models whose ``forward`` runs their children in order (ResNet/ResNeXt/Wide,
    RegNet, VGG, AlexNet, DenseNet, SqueezeNet, MobileNet, MNASNet, ShuffleNet, EfficientNet,
    ConvNeXt, Swin, MaxViT, GoogLeNet, Inception): auxiliary heads are skipped and module
    lists are unpacked. Vision transformers have no feature map and are refused.
    """
    if isinstance(model, torchvision.models.VisionTransformer):
        raise ConfigError(
            f"{component}: {type(model).__name__} produces tokens, not a feature map; use a "
            f"convolutional or hierarchical model (e.g. resnet18, convnext_tiny, swin_t)."
        )
    layers: list[nn.Module] = []
    for name, child in model.named_children():
        if name in _HEAD_NAMES:
            break
        if name.lower().startswith("aux"):
            continue
        if isinstance(child, nn.ModuleList):
            layers.extend(child)
        else:
            layers.append(child)
    if isinstance(model, torchvision.models.DenseNet):
        layers.append(nn.ReLU())  # DenseNet's forward applies it after ``features``
    if not layers:
        raise ConfigError(f"{component}: found no feature layers in {type(model).__name__}.")
    return layers


def meta_output_shape(component: str, module: nn.Module, input_shape: Sequence[int]) -> list[int]:
    """Output shape of ``module`` for one ``input_shape`` input, by a shape-only run.

    The module's parameters and buffers are replaced by storage-less ``meta`` tensors for the
    call, so this costs no arithmetic and leaves the module (BatchNorm statistics included)
    untouched.

    Raises:
        ShapeError: the module cannot process inputs of that shape.
    """
    state = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]
    }
    # Batch of 2: BatchNorm in training mode refuses a single value per channel.
    dtype = next(iter(state.values())).dtype if state else torch.get_default_dtype()
    probe = torch.empty(2, *input_shape, device="meta", dtype=dtype)
    try:
        with torch.no_grad():
            out = functional_call(module, state, (probe,), tie_weights=False, strict=False)
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ShapeError(
            f"{component} cannot process input shape {describe(list(input_shape))}: {exc}"
        ) from exc
    return [int(d) for d in out.shape[1:]]
