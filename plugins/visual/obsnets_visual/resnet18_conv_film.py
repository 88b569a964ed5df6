"""``ResNet18ConvFiLM``: ResNet-18 with a FiLM layer after every residual block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from obsnets.bases import ConvBase, InputNormalization
from obsnets_visual._checks import as_shape, check_input, check_shape
from obsnets_visual._torchvision import (
    build_torchvision_model,
    replace_first_conv,
    weights_normalization,
)
from obsnets_visual.film_layer import FiLMLayer
from obsnets_visual.pretrained import Pretrained

__all__ = ["ResNet18ConvFiLM"]


def _out_channels(block: nn.Module) -> int:
    """Output channels of a torchvision BasicBlock: those of its second convolution."""
    conv = cast(nn.Conv2d, block.get_submodule("conv2"))  # torchvision's BasicBlock
    return int(conv.out_channels)


class ResNet18ConvFiLM(ConvBase):
    """Language-conditioned ResNet-18: ``(B, C, H, W), (B, E) -> (B, 512, H/32, W/32)``.

    Layout (robomimic's keys): ``_base_block`` = conv1, bn1, relu, maxpool (indices 0-3);
    ``_conv_blocks`` = the 8 BasicBlocks of layer1-layer4; ``_film_layers`` = one
    :class:`FiLMLayer` per block, applied after it. Sizes are rounded up (``ceil``).

    Args:
        input_channel: Channels of the input images (other than 3 replaces ``conv1``).
        pretrained: ``False``, ``True`` (torchvision's ``resnet18-f37072fd.pth`` from the
            torch hub cache) or a path to a torchvision-layout state_dict; never downloads.
        input_coord_conv: Replace ``conv1`` by a :class:`CoordConv2d`.
        lang_emb_dim: Size ``E`` of the language embedding each FiLM layer projects.

    With ``pretrained``, :attr:`input_normalization` is ImageNet's (``IMAGENET1K_V1``).

    Differs from robomimic, which found each block's channel count by running random
    tensors through the blocks in training mode at construction (updating BatchNorm
    statistics, pretrained ones included); the counts are read from the blocks here.
    """

    def __init__(
        self,
        input_channel: int = 3,
        pretrained: Pretrained = False,
        input_coord_conv: bool = False,
        lang_emb_dim: int = 768,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        model, loaded = build_torchvision_model(name, "resnet18", pretrained, "IMAGENET1K_V1")
        replace_first_conv(name, model, int(input_channel), bool(input_coord_conv), loaded)
        self.input_channel = int(input_channel)
        self.input_coord_conv = bool(input_coord_conv)
        self.pretrained = pretrained
        self.lang_emb_dim = int(lang_emb_dim)
        children = list(model.children())[:-2]  # drop avgpool, fc
        stem = [c for c in children if not isinstance(c, nn.Sequential)]
        blocks = [b for c in children if isinstance(c, nn.Sequential) for b in c]
        self._base_block = nn.Sequential(*stem)
        self._conv_blocks = nn.ModuleList(blocks)
        self._film_layers = nn.ModuleList(
            FiLMLayer(self.lang_emb_dim, _out_channels(block)) for block in blocks
        )
        self._output_channels = 512

    @property
    def input_normalization(self) -> InputNormalization | None:
        """ImageNet's normalisation (``IMAGENET1K_V1``) when pretrained, else ``None``."""
        if self.pretrained is False or self.pretrained is None:
            return None
        return weights_normalization("resnet18", "IMAGENET1K_V1")

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[512, ceil(H / 32), ceil(W / 32)]`` for a ``(input_channel, H, W)`` input."""
        shape = as_shape("ResNet18ConvFiLM", input_shape, rank=3)
        check_shape("ResNet18ConvFiLM", (self.input_channel, "H", "W"), shape)
        return [self._output_channels, math.ceil(shape[1] / 32), math.ceil(shape[2] / 32)]

    def forward(self, inputs: torch.Tensor, lang_emb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Run the network, modulating after every residual block.

        Args:
            inputs: Images ``(B, input_channel, H, W)``.
            lang_emb: Language embeddings ``(B, lang_emb_dim)``.

        Returns:
            ``(B, 512, ceil(H / 32), ceil(W / 32))``.
        """
        check_input("ResNet18ConvFiLM", inputs, (self.input_channel, "H", "W"))
        x = self._base_block(inputs)
        for block, film in zip(self._conv_blocks, self._film_layers):
            x = film(block(x), lang_emb)
        return x
