"""``ResNetConvBase``: the truncated torchvision ResNet shared by ResNet18Conv and ResNet50Conv."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from obsnets.bases import ConvBase, InputNormalization
from obsnets_visual._checks import as_shape, check_input, check_shape
from obsnets_visual._torchvision import (
    build_torchvision_model,
    replace_first_conv,
    weights_normalization,
)
from obsnets_visual.pretrained import Pretrained

__all__ = ["ResNetConvBase"]


class ResNetConvBase(ConvBase, abstract=True):
    """A torchvision ResNet without its average pool and classifier, as ``self.nets``.

    ``nets`` indices follow torchvision's children: 0 ``conv1``, 1 ``bn1``, 2 ``relu``,
    3 ``maxpool``, 4-7 ``layer1``-``layer4`` (robomimic's state_dict keys). The output is
    ``[C, ceil(H / 32), ceil(W / 32)]``, exact for every input size.

    Subclasses set ``arch`` (torchvision builder name), ``weights_name`` (member of its
    weights enum) and ``output_channels``.

    Args:
        input_channel: Channels of the input images. Other than 3, ``conv1`` is replaced by a
            freshly initialised convolution with the same hyperparameters.
        pretrained: ``False`` for random initialisation; ``True`` for torchvision's ImageNet
            weights read from the torch hub cache (``torch.hub.get_dir()/checkpoints``); or the
            path of a torchvision-layout state_dict file (``torch.save`` or ``.safetensors``).
            Nothing is ever downloaded: a missing file is a ``ConfigError`` saying where to
            put it.
        input_coord_conv: Replace ``conv1`` by a :class:`CoordConv2d` (two position channels).
        freeze: Freeze the backbone: no parameter requires a gradient, and BatchNorm layers
            stay in eval mode under ``.train()`` (see :meth:`obsnets.ConvBase.train`).
    """

    arch: ClassVar[str]
    weights_name: ClassVar[str]
    output_channels: ClassVar[int]

    def __init__(
        self,
        input_channel: int = 3,
        pretrained: Pretrained = False,
        input_coord_conv: bool = False,
        freeze: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        model, loaded = build_torchvision_model(name, self.arch, pretrained, self.weights_name)
        replace_first_conv(name, model, int(input_channel), bool(input_coord_conv), loaded)
        self.input_channel = int(input_channel)
        self.input_coord_conv = bool(input_coord_conv)
        self.pretrained = pretrained
        # Everything but avgpool and fc: indices 0..7 as robomimic's keys.
        self.nets = nn.Sequential(*list(model.children())[:-2])
        if freeze:
            self._freeze_weights()

    @property
    def input_normalization(self) -> InputNormalization | None:
        """ImageNet's normalisation of ``weights_name`` when pretrained, else ``None``.

        A weights file passed as ``pretrained`` is taken to hold those weights.
        """
        if self.pretrained is False or self.pretrained is None:
            return None
        return weights_normalization(self.arch, self.weights_name)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[C_out, ceil(H / 32), ceil(W / 32)]`` for a ``(input_channel, H, W)`` input."""
        name = type(self).__name__
        shape = as_shape(name, input_shape, rank=3)
        check_shape(name, (self.input_channel, "H", "W"), shape)
        return [self.output_channels, math.ceil(shape[1] / 32), math.ceil(shape[2] / 32)]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, input_channel, H, W) -> (B, C_out, ceil(H / 32), ceil(W / 32))``."""
        check_input(type(self).__name__, inputs, (self.input_channel, "H", "W"))
        return self.nets(inputs)

    def extra_repr(self) -> str:
        return (
            f"input_channel={self.input_channel}, input_coord_conv={self.input_coord_conv}, "
            f"pretrained={self.pretrained!r}, freeze={self.freeze}"
        )
