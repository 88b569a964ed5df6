"""``FeatureAggregator``: reduce one dimension of a feature tensor by (weighted) averaging."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.bases import PoolBase
from obsnets.errors import ConfigError, ShapeError
from obsnets_visual._checks import as_shape, describe

__all__ = ["FeatureAggregator"]

AGG_TYPES = ("avg", "w_avg")


class FeatureAggregator(PoolBase):
    """Reduce dimension ``dim`` of ``(B, ...)`` features by a mean or a weighted sum.

    ``dim`` indexes the **batched** tensor, as in ``torch.mean`` (``dim=1`` is the first
    dimension after the batch; negative values count from the end). ``"avg"`` takes the mean
    over it; ``"w_avg"`` takes ``sum(x * weight)`` over it with a weight set by
    :meth:`set_weight` (broadcastable to the input, e.g. ``(B, N, 1)`` for ``(B, N, D)``).

    Args:
        dim: The dimension of the batched input to reduce; not the batch dimension.
        agg_type: ``"avg"`` or ``"w_avg"``.
        input_shape: Shape of one input without batch dimension. Optional; when given it
            is checked and is the default of :meth:`output_shape` (VisualCore passes it).

    Differs from robomimic: ``forward`` reduces ``dim`` (robomimic always reduced dim 1,
    whatever ``output_shape`` claimed); an unknown ``agg_type`` is a ``ConfigError`` at
    construction (robomimic's error path itself crashed); the weight starts as ``None`` and
    using ``w_avg`` without one is a clear error.
    """

    def __init__(
        self, dim: int = 1, agg_type: str = "avg", input_shape: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if agg_type not in AGG_TYPES:
            raise ConfigError(
                f"FeatureAggregator: agg_type must be one of {AGG_TYPES}, got {agg_type!r}."
            )
        if dim == 0:
            raise ConfigError("FeatureAggregator: dim=0 is the batch dimension; use dim >= 1.")
        self.dim = int(dim)
        self.agg_type = agg_type
        self.agg_weight: torch.Tensor | None = None
        self.input_shape = (
            None if input_shape is None else as_shape("FeatureAggregator", input_shape)
        )
        if self.input_shape is not None:
            self._position(self.input_shape)

    def _position(self, shape: Sequence[int]) -> int:
        """Index of ``dim`` in a shape without batch dimension."""
        rank = len(shape)
        position = self.dim - 1 if self.dim > 0 else rank + self.dim
        if not 0 <= position < rank:
            raise ShapeError(
                f"FeatureAggregator(dim={self.dim}) needs an input with that dimension; "
                f"got input shape {describe(list(shape))}."
            )
        return position

    def set_weight(self, w: torch.Tensor) -> None:
        """Set the weight of ``"w_avg"`` (broadcastable to the input)."""
        if self.agg_type != "w_avg":
            raise ConfigError(
                f"FeatureAggregator.set_weight needs agg_type='w_avg', not {self.agg_type!r}."
            )
        self.agg_weight = w

    def clear_weight(self) -> None:
        """Forget the weight of ``"w_avg"``."""
        if self.agg_type != "w_avg":
            raise ConfigError(
                f"FeatureAggregator.clear_weight needs agg_type='w_avg', not {self.agg_type!r}."
            )
        self.agg_weight = None

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The input shape without the reduced dimension."""
        if input_shape is None:
            if self.input_shape is None:
                raise ShapeError("FeatureAggregator.output_shape needs input_shape.")
            shape = list(self.input_shape)
        else:
            shape = as_shape("FeatureAggregator", input_shape)
        del shape[self._position(shape)]
        return shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reduce ``dim``: ``(B, ..., N, ...) -> (B, ..., ...)``."""
        shape = tuple(x.shape[1:])
        if self.input_shape is not None and list(shape) != self.input_shape:
            raise ShapeError(
                f"FeatureAggregator expects input of shape {describe(['B', *self.input_shape])}, "
                f"got {describe(tuple(x.shape))}."
            )
        dim = self._position(shape) + 1
        if self.agg_type == "avg":
            return torch.mean(x, dim=dim)
        if self.agg_weight is None:
            raise ConfigError("FeatureAggregator(agg_type='w_avg'): call set_weight(w) first.")
        return torch.sum(x * self.agg_weight, dim=dim)
