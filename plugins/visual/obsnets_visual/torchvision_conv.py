"""``TorchvisionConv``: the feature trunk of any torchvision classification model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases import ConvBase, InputNormalization
from obsnets_visual._checks import as_shape, check_input, check_shape
from obsnets_visual._torchvision import (
    build_torchvision_model,
    meta_output_shape,
    replace_first_conv,
    trunk_layers,
    weights_normalization,
)
from obsnets_visual.pretrained import Pretrained

__all__ = ["TorchvisionConv"]


class TorchvisionConv(ConvBase):
    """A torchvision classification model without its pooling and classifier head.

    ``nets`` is a ``Sequential`` of the model's layers up to its head (``avgpool``,
    ``classifier``, ``fc`` or ``head``), e.g. for ``"resnet18"`` the same layers and keys as
    :class:`ResNet18Conv`. Works with ResNet/ResNeXt/Wide-ResNet, RegNet, VGG, AlexNet,
    DenseNet, SqueezeNet, MobileNet, MNASNet, ShuffleNet, EfficientNet, ConvNeXt, Swin,
    MaxViT, GoogLeNet and Inception; vision transformers (no feature map) are refused.
    Inputs are used as given: normalise them the way the weights expect (torchvision's
    GoogLeNet/Inception ``transform_input`` is not applied).

    :meth:`output_shape` is exact for any input size: it runs the trunk once per input shape
    on storage-less ``meta`` tensors (no arithmetic, no change to BatchNorm statistics) and
    remembers the answer.

    Args:
        model_name: A name from ``torchvision.models.list_models()``, e.g. ``"convnext_tiny"``.
        input_channel: Channels of the input images; other than 3 replaces the first
            convolution by a freshly initialised one.
        pretrained: ``False``; ``True`` for the weights named by ``weights``, read from the
            torch hub cache (``torch.hub.get_dir()/checkpoints``, torchvision's own file
            name); or the path of a state_dict file in torchvision's layout. Never downloads.
        weights: Member of the model's torchvision weights enum used with
            ``pretrained=True``, e.g. ``"IMAGENET1K_V1"``; ``"DEFAULT"`` is torchvision's
            recommended one.
        input_coord_conv: Replace the first convolution by a :class:`CoordConv2d`.
        model_kwargs: Extra keyword arguments for the torchvision builder.
        freeze: Freeze the backbone: no parameter requires a gradient, and BatchNorm layers
            stay in eval mode under ``.train()`` (see :meth:`obsnets.ConvBase.train`).

    With ``pretrained``, :attr:`input_normalization` is that of the ``weights`` entry (its
    torchvision evaluation transforms: mean, std, crop, resize, interpolation).
    """

    def __init__(
        self,
        model_name: str,
        input_channel: int = 3,
        pretrained: Pretrained = False,
        weights: str = "DEFAULT",
        input_coord_conv: bool = False,
        model_kwargs: dict[str, Any] | None = None,
        freeze: bool = False,
    ) -> None:
        super().__init__()
        self.label = f"TorchvisionConv({model_name!r})"
        model, loaded = build_torchvision_model(
            self.label, model_name, pretrained, weights, model_kwargs
        )
        replace_first_conv(self.label, model, int(input_channel), bool(input_coord_conv), loaded)
        self.model_name = model_name
        self.input_channel = int(input_channel)
        self.input_coord_conv = bool(input_coord_conv)
        self.pretrained = pretrained
        self.weights = weights
        self.nets = nn.Sequential(*trunk_layers(self.label, model))
        # Plain dict of int lists: shape metadata, not module state.
        self._shape_cache: dict[tuple[int, ...], list[int]] = {}
        if freeze:
            self._freeze_weights()

    @property
    def input_normalization(self) -> InputNormalization | None:
        """The normalisation of the ``weights`` entry when pretrained, else ``None``.

        A weights file passed as ``pretrained`` is taken to hold those weights.
        """
        if self.pretrained is False or self.pretrained is None:
            return None
        return weights_normalization(self.model_name, self.weights)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The trunk's output shape ``[C, H', W']`` for a ``(input_channel, H, W)`` input."""
        shape = as_shape(self.label, input_shape, rank=3)
        check_shape(self.label, (self.input_channel, "H", "W"), shape)
        key = tuple(shape)
        if key not in self._shape_cache:
            self._shape_cache[key] = meta_output_shape(self.label, self.nets, shape)
        return list(self._shape_cache[key])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, input_channel, H, W) -> (B, *output_shape((input_channel, H, W)))``."""
        check_input(self.label, inputs, (self.input_channel, "H", "W"))
        return self.nets(inputs)

    def extra_repr(self) -> str:
        return (
            f"model_name={self.model_name!r}, input_channel={self.input_channel}, "
            f"freeze={self.freeze}"
        )
