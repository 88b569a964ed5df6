"""``Squeeze`` and ``Unsqueeze`` with shape rules that account for the batch dimension."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.bases.module import Module
from obsnets.errors import ShapeError, format_shape

__all__ = ["Squeeze", "Unsqueeze"]


def _unbatched_dim(dim: int, rank: int) -> int:
    # ``dim`` indexes the batched tensor; shapes here have no batch dimension.
    return dim - 1 if dim >= 0 else rank + dim


class Unsqueeze(Module):
    """Insert a size-1 dimension at ``dim`` of the batched tensor.

    Args:
        dim: Dimension of the batched tensor, as ``torch.unsqueeze`` takes it.

    Differs from robomimic, whose ``output_shape`` was right only for ``dim=-1``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The input shape with a 1 inserted where ``forward`` inserts it."""
        if input_shape is None:
            raise ShapeError("Unsqueeze.output_shape needs input_shape.")
        shape = [int(d) for d in input_shape]
        position = self.dim - 1 if self.dim >= 0 else len(shape) + 1 + self.dim
        if position < 0:
            raise ShapeError(f"Unsqueeze(dim={self.dim}) cannot insert before the batch dim.")
        shape.insert(position, 1)
        return shape

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, ...) -> (B, ..., 1, ...)``."""
        return inputs.unsqueeze(self.dim)


class Squeeze(Module):
    """Remove the size-1 dimension ``dim`` of the batched tensor.

    Args:
        dim: Dimension of the batched tensor, as ``torch.squeeze`` takes it.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The input shape without the squeezed dimension (unchanged if it is not 1)."""
        if input_shape is None:
            raise ShapeError("Squeeze.output_shape needs input_shape.")
        shape = [int(d) for d in input_shape]
        position = _unbatched_dim(self.dim, len(shape))
        if not 0 <= position < len(shape):
            raise ShapeError(
                f"Squeeze(dim={self.dim}) does not fit input shape {format_shape(shape)}."
            )
        if shape[position] == 1:
            del shape[position]
        return shape

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, ..., 1, ...) -> (B, ...)``."""
        return inputs.squeeze(self.dim)
