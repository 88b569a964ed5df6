"""``SinusoidalPosEmb``: the sinusoidal embedding of diffusion steps."""

from __future__ import annotations

import math

import torch
from torch import nn

from obsnets.errors import ConfigError, ShapeError

__all__ = ["SinusoidalPosEmb"]


class SinusoidalPosEmb(nn.Module):
    """Sinusoidal embedding of one diffusion step per batch element; no parameters.

    The output is ``cat(sin(t * f), cos(t * f))`` (all sines, then all cosines, robomimic's
    layout) with frequencies ``f_i = exp(-i * log(10000) / (dim / 2 - 1))``,
    ``i = 0 .. dim / 2 - 1``.

    Args:
        dim: Embedding size, even and at least 4 (the frequencies divide by ``dim / 2 - 1``).

    Shapes: ``(B,)`` steps -> ``(B, dim)``, in the steps' floating dtype (float32 for
    integer steps); computed in at least float32, so half-precision steps keep their accuracy.

    Differs from robomimic: a ``dim`` below 4 or odd is a :class:`~obsnets.errors.ConfigError`
    (robomimic divided by zero, or returned ``dim - 1`` values).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 4 or dim % 2:
            raise ConfigError(
                f"SinusoidalPosEmb: dim (diffusion_step_embed_dim) must be an even int >= 4 "
                f"(half sines, half cosines, frequencies spaced over dim / 2 - 1 steps); got "
                f"{dim!r}. Use e.g. 128 or 256."
            )
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed the steps ``x`` ``(B,)``: returns ``(B, dim)``."""
        if x.dim() != 1:
            raise ShapeError(
                f"SinusoidalPosEmb expects one step per batch element, shape (B,); got shape "
                f"{tuple(x.shape)}."
            )
        dtype = x.dtype if x.is_floating_point() else torch.float32
        # computed in at least float32: bfloat16 / float16 angles of large steps lose the
        # step itself (and the sines their accuracy); the result is cast back to ``dtype``
        compute = torch.promote_types(dtype, torch.float32)
        half = self.dim // 2
        scale = math.log(10000.0) / (half - 1)
        frequencies = torch.exp(torch.arange(half, device=x.device, dtype=compute) * -scale)
        angles = x.to(compute)[:, None] * frequencies[None, :]  # (B, dim / 2)
        return torch.cat((angles.sin(), angles.cos()), dim=-1).to(dtype)  # (B, dim)
