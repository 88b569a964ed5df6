"""``PositionalEncoding``: the fixed sinusoidal position encoding of "Attention Is All You Need"."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from obsnets.bases.module import Module
from obsnets.errors import ConfigError, ShapeError

__all__ = ["PositionalEncoding"]


class PositionalEncoding(Module):
    """Sinusoidal encoding of (possibly fractional) positions; no parameters.

    Channel ``2i`` holds ``sin(k / 10000^(2i / D))`` and channel ``2i + 1`` holds
    ``cos(k / 10000^(2i / D))`` for position ``k`` (sine and cosine interleaved, robomimic's
    layout).

    Args:
        embed_dim: Size ``D`` of the encoding (even, >= 2).

    Shapes: ``(B, T)`` positions -> ``(B, T, D)``, in the positions' floating dtype.

    Differs from robomimic: an odd ``embed_dim`` is a :class:`~obsnets.errors.ConfigError`
    at construction (robomimic failed in forward).
    """

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim < 2:
            raise ConfigError(
                f"PositionalEncoding: embed_dim must be an int >= 2; got {embed_dim!r}."
            )
        if embed_dim % 2:
            raise ConfigError(
                f"PositionalEncoding interleaves sine and cosine channels and needs an even "
                f"embed_dim; got {embed_dim}. Use an even transformer_embed_dim."
            )
        self.embed_dim = embed_dim

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[T, D]`` for positions of shape ``(T,)`` (without batch dimension)."""
        if input_shape is None or len(input_shape) != 1:
            raise ShapeError(
                f"PositionalEncoding.output_shape needs the positions' shape (T,); got "
                f"{input_shape!r}."
            )
        return [int(input_shape[0]), self.embed_dim]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode positions ``x`` ``(B, T)`` (floating point) as ``(B, T, D)``."""
        if x.dim() != 2 or not x.is_floating_point():
            raise ShapeError(
                f"PositionalEncoding expects floating-point positions of shape (B, T); got "
                f"{x.dtype} of shape {tuple(x.shape)}."
            )
        half = torch.arange(0, self.embed_dim, 2, device=x.device, dtype=x.dtype)
        frequencies = torch.exp(half * (-math.log(10000.0) / self.embed_dim))  # (D / 2,)
        angles = x.unsqueeze(-1) * frequencies  # (B, T, D / 2)
        # (B, T, D / 2, 2) -> (B, T, D): sin, cos, sin, cos, ...
        return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2).detach()
