"""``ShallowConv``: the small four-layer convolution stack of deep spatial autoencoders."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from obsnets.bases import ConvBase
from obsnets_visual._checks import as_shape, check_input, check_shape

__all__ = ["ShallowConv"]


class ShallowConv(ConvBase):
    """Four convolutions that halve the resolution once (Finn et al., 2016, DSAE).

    ``nets``: ``Conv2d(C, 64, 7, stride 2, pad 3)``, ReLU, ``Conv2d(64, 32, 1)``, ReLU,
    ``Conv2d(32, 32, 3, pad 1)``, ReLU, ``Conv2d(32, output_channel, 3, pad 1)``; the
    convolutions sit at indices 0, 2, 4 and 6 (robomimic's keys).

    Args:
        input_channel: Channels of the input images.
        output_channel: Channels of the output feature map.

    Output: ``(B, output_channel, ceil(H / 2), ceil(W / 2))``.

    Differs from robomimic, whose last layer always produced 32 channels whatever
    ``output_channel`` said, and whose shape formula used ``floor`` (odd sizes failed its own
    check). With ``output_channel=32`` the layers and keys are robomimic's.
    """

    def __init__(self, input_channel: int = 3, output_channel: int = 32) -> None:
        super().__init__()
        self.input_channel = int(input_channel)
        self.output_channel = int(output_channel)
        self.nets = nn.Sequential(
            nn.Conv2d(self.input_channel, 64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            nn.Conv2d(64, 32, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, self.output_channel, kernel_size=3, padding=1),
        )

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[output_channel, ceil(H / 2), ceil(W / 2)]`` for a ``(input_channel, H, W)`` input."""
        shape = as_shape("ShallowConv", input_shape, rank=3)
        check_shape("ShallowConv", (self.input_channel, "H", "W"), shape)
        return [self.output_channel, math.ceil(shape[1] / 2), math.ceil(shape[2] / 2)]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, input_channel, H, W) -> (B, output_channel, ceil(H / 2), ceil(W / 2))``."""
        check_input("ShallowConv", inputs, (self.input_channel, "H", "W"))
        return self.nets(inputs)
