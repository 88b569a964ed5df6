"""``CoordConv2d``: a 2-D convolution that also sees each pixel's position."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from obsnets.errors import ConfigError, ShapeError
from obsnets_visual._checks import as_shape, check_input

__all__ = ["CoordConv2d"]

_IntPair = int | tuple[int, int]


def _pair(value: _IntPair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class CoordConv2d(nn.Conv2d):
    """``nn.Conv2d`` over the input plus two position channels (CoordConv, Liu et al. 2018).

    Two channels, ``row / H`` and ``col / W`` (values in ``[0, 1)``, in that order), are
    appended after the input channels, so the layer's weight has ``in_channels + 2`` input
    channels (state_dict keys and shapes as robomimic's).

    A layer, not a registered component: backbones use it for ``input_coord_conv=True``.

    Args:
        in_channels: Channels of the input, without the two position channels.
        out_channels: Channels of the output.
        kernel_size: As ``nn.Conv2d``.
        stride: As ``nn.Conv2d``.
        padding: As ``nn.Conv2d`` (an int or a pair).
        dilation: As ``nn.Conv2d``.
        groups: As ``nn.Conv2d``; must divide ``in_channels + 2``.
        bias: As ``nn.Conv2d``.
        padding_mode: As ``nn.Conv2d``.
        coord_encoding: Only ``"position"`` is supported.

    Differs from robomimic: the position channels are computed for each input's size, device
    and dtype (robomimic cached them on the first call, so a later input of another size
    crashed and a ``.to(device)`` left them behind); :meth:`output_shape` returns the
    convolution's output shape (robomimic returned its input shape plus two channels).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntPair,
        stride: _IntPair = 1,
        padding: _IntPair = 0,
        dilation: _IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        coord_encoding: str = "position",
    ) -> None:
        if coord_encoding != "position":
            raise ConfigError(
                f"CoordConv2d: coord_encoding must be 'position', got {coord_encoding!r}."
            )
        super().__init__(
            in_channels + 2,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,  # type: ignore[arg-type]
        )
        self.coord_encoding = coord_encoding
        self.input_channel = in_channels

    @staticmethod
    def position_encoding(
        height: int, width: int, device: torch.device, dtype: torch.dtype
    ) -> torch.Tensor:
        """The two position channels, ``(1, 2, H, W)``: ``row / H`` then ``col / W``."""
        rows = torch.arange(height, device=device, dtype=torch.float32) / float(height)
        cols = torch.arange(width, device=device, dtype=torch.float32) / float(width)
        grid = torch.stack(torch.meshgrid(rows, cols, indexing="ij"))  # (2, H, W)
        return grid.unsqueeze(0).to(dtype)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Append the position channels and convolve.

        Args:
            input: ``(B, in_channels, H, W)``.

        Returns:
            ``(B, out_channels, H', W')``.
        """
        check_input("CoordConv2d", input, (self.input_channel, "H", "W"))
        batch, _, height, width = input.shape
        position = self.position_encoding(height, width, input.device, input.dtype)
        # (B, C, H, W) + (B, 2, H, W) -> (B, C + 2, H, W)
        stacked = torch.cat((input, position.expand(batch, -1, -1, -1)), dim=1)
        return super().forward(stacked)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The convolution's output shape ``[out_channels, H', W']`` for ``(C, H, W)`` input."""
        channels, height, width = as_shape("CoordConv2d", input_shape, rank=3)
        if channels != self.input_channel:
            raise ShapeError(
                f"CoordConv2d expects {self.input_channel} input channels, got input shape "
                f"({channels}, {height}, {width})."
            )
        if self.padding == "same":
            return [self.out_channels, height, width]
        padding = (0, 0) if self.padding == "valid" else _pair(self.padding)  # type: ignore[arg-type]
        sizes = [
            math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1
            for size, k, s, p, d in zip(
                (height, width),
                _pair(self.kernel_size),  # type: ignore[arg-type]
                _pair(self.stride),  # type: ignore[arg-type]
                padding,
                _pair(self.dilation),  # type: ignore[arg-type]
            )
        ]
        return [self.out_channels, *sizes]
