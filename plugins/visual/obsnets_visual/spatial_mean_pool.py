"""``SpatialMeanPool``: average a feature map over its spatial positions."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.bases import PoolBase
from obsnets.errors import ShapeError
from obsnets_visual._checks import as_shape, describe

__all__ = ["SpatialMeanPool"]


class SpatialMeanPool(PoolBase):
    """Global average pooling: ``(B, C, *spatial) -> (B, C)``.

    Args:
        input_shape: Shape ``(C, ...)`` of the feature map (VisualCore passes its backbone's
            output shape). Only the channel count is enforced: any spatial size is pooled.

    Differs from robomimic, whose ``output_shape`` ignored its argument.
    """

    def __init__(self, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.input_shape = as_shape("SpatialMeanPool", input_shape)
        if len(self.input_shape) < 2:
            raise ShapeError(
                f"SpatialMeanPool expects a feature map shape (C, H, ...), got "
                f"{describe(self.input_shape)}."
            )
        self.in_shape = self.input_shape  # robomimic's attribute name

    def _check(self, shape: Sequence[int]) -> None:
        if len(shape) < 2 or shape[0] != self.input_shape[0]:
            expected = "(" + ", ".join([str(self.input_shape[0]), "H", "..."]) + ")"
            raise ShapeError(
                f"SpatialMeanPool expects input shape {expected}, got {describe(list(shape))}."
            )

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[C]`` for a ``(C, ...)`` input (the constructor's shape when ``None``)."""
        shape = (
            self.input_shape if input_shape is None else as_shape("SpatialMeanPool", input_shape)
        )
        self._check(shape)
        return [shape[0]]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial) -> (B, C)``: the mean over every spatial position."""
        self._check(tuple(inputs.shape[1:]))
        return torch.flatten(inputs, start_dim=2).mean(dim=2)
