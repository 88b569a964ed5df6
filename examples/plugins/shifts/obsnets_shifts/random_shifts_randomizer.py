"""``RandomShiftsRandomizer``: DrQ's pad-and-shift image augmentation (kind ``randomizer``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from obsnets import Randomizer
from obsnets.errors import ConfigError, ShapeError, format_shape
from torch.nn import functional

__all__ = ["PADDING_MODES", "RandomShiftsRandomizer", "shift_images"]

PADDING_MODES = ("replicate", "constant", "reflect", "circular")


def shift_images(images: torch.Tensor, offsets: torch.Tensor, pad: int, mode: str) -> torch.Tensor:
    """Pad each image by ``pad`` pixels on every side, then crop it back at ``offsets``.

    Args:
        images: ``(B, C, H, W)``.
        offsets: ``(B, 2)`` integer ``(row, column)`` of each crop's top-left corner in the
            padded image, each in ``[0, 2 * pad]``; ``(pad, pad)`` leaves an image unchanged.
        pad: Padding on each side, in pixels.
        mode: ``torch.nn.functional.pad`` mode (``"replicate"`` repeats the border pixels).

    Returns:
        ``(B, C, H, W)``: image ``b`` moved by ``pad - offsets[b]`` pixels (down, right).
    """
    batch, _, height, width = images.shape
    padded = functional.pad(images, (pad, pad, pad, pad), mode=mode)  # (B, C, H+2p, W+2p)
    rows = offsets[:, 0:1] + torch.arange(height, device=images.device)  # (B, H)
    cols = offsets[:, 1:2] + torch.arange(width, device=images.device)  # (B, W)
    index = torch.arange(batch, device=images.device)[:, None, None]
    crops = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]  # (B,H,W,C)
    return crops.permute(0, 3, 1, 2)


class RandomShiftsRandomizer(Randomizer):
    """Random shifts of up to ``pad`` pixels: DrQ's augmentation for pixel-based control.

    Kostrikov et al., "Image Augmentation Is All You Need" (DrQ, 2020) and Yarats et al.
    (DrQ-v2, 2021): pad the image by ``pad`` pixels (replicating its border) and crop it back
    to its own size at a uniformly random integer offset, independently for every sample.
    For 84x84 images ``pad=4`` is the papers' setting.

    In training, :meth:`forward_in` makes ``num_samples`` shifted copies of each image,
    ``(B, C, H, W) -> (B * N, C, H, W)``, sample-major (all copies of image 0 first), and
    :meth:`forward_out` averages the network's outputs over the copies. In eval mode both are
    the identity: the network sees the unshifted image.

    Compared with robomimic's ``CropRandomizer``: the image keeps its size (no smaller input
    for the network, no centre crop at eval), and every offset from ``-pad`` to ``+pad`` is
    drawn (CropRandomizer never draws its last valid offset).

    Args:
        input_shape: Shape of one image without batch dimension, ``(C, H, W)``.
        pad: Largest shift, in pixels, in each direction.
        num_samples: Shifted copies per image, ``N``.
        padding_mode: How the border is filled: ``"replicate"`` (DrQ), ``"constant"``
            (zeros), ``"reflect"`` or ``"circular"``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        pad: int = 4,
        num_samples: int = 1,
        padding_mode: str = "replicate",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if len(input_shape) != 3:
            raise ShapeError(
                f"{name} shifts images (C, H, W); got input_shape {format_shape(input_shape)}."
            )
        if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
            raise ConfigError(f"{name}: pad must be a non-negative int; got {pad!r}.")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ConfigError(f"{name}: num_samples must be an int >= 1; got {num_samples!r}.")
        if padding_mode not in PADDING_MODES:
            raise ConfigError(
                f"{name}: padding_mode must be one of {', '.join(PADDING_MODES)}; "
                f"got {padding_mode!r}."
            )
        self.input_shape = [int(d) for d in input_shape]
        if padding_mode == "reflect" and pad >= min(self.input_shape[1:]):
            raise ConfigError(
                f"{name}: 'reflect' padding needs pad < image height and width; got pad={pad} "
                f"for images {format_shape(self.input_shape)}."
            )
        self.pad = pad
        self.num_samples = num_samples
        self.padding_mode = padding_mode

    def output_shape_in(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Per-sample shape after :meth:`forward_in`: the image's own, ``[C, H, W]``."""
        return list(self.input_shape if input_shape is None else input_shape)

    def output_shape_out(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Per-sample shape after :meth:`forward_out`: the network output's, unchanged."""
        if input_shape is None:
            raise ConfigError(
                f"{type(self).__name__}.output_shape_out needs the network's output shape."
            )
        return list(input_shape)

    def _forward_in(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 4 or list(inputs.shape[1:]) != self.input_shape:
            raise ShapeError(
                f"{type(self).__name__} expects images "
                f"(B, {', '.join(map(str, self.input_shape))}); got {format_shape(inputs.shape)}."
            )
        copies = inputs.repeat_interleave(self.num_samples, dim=0)  # (B * N, C, H, W)
        offsets = torch.randint(
            0, 2 * self.pad + 1, (copies.shape[0], 2), device=inputs.device
        )  # every offset in [0, 2 * pad], both ends included
        return shift_images(copies, offsets, self.pad, self.padding_mode)

    def _forward_out(self, inputs: torch.Tensor) -> torch.Tensor:
        grouped = inputs.reshape(-1, self.num_samples, *inputs.shape[1:])  # (B, N, ...)
        return grouped.mean(dim=1)
