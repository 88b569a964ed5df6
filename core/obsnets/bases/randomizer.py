"""``Randomizer``: data augmentation inside the network (kind ``randomizer``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from obsnets.bases.module import Module

__all__ = ["Randomizer"]


class Randomizer(Module, abstract=True):
    """Perturbs a network's input in :meth:`forward_in` and folds its output in :meth:`forward_out`.

    The contract (as robomimic's): ``forward_in`` may multiply the batch, ``B -> B * N``,
    sample-major (all ``N`` samples of input 0 first), and change the per-sample shape
    (``output_shape_in``); ``forward_out`` folds ``B * N -> B`` again (``output_shape_out``).
    In training mode the random paths ``_forward_in`` / ``_forward_out`` run; in eval mode the
    deterministic ``_forward_in_eval`` / ``_forward_out_eval`` (identity unless overridden).

    Subclasses implement ``_forward_in``, ``_forward_out``, ``output_shape_in`` and
    ``output_shape_out``; they may override the eval paths. Randomizers hold no parameters.
    """

    component_kind: ClassVar[str | None] = "randomizer"

    def forward_in(self, inputs: torch.Tensor) -> torch.Tensor:
        """Randomize a network input.

        Args:
            inputs: ``(B, *input_shape)``.

        Returns:
            ``(B * N, *output_shape_in(input_shape))`` in training; the eval transform
            (``(B, ...)``) otherwise.
        """
        if self.training:
            return self._forward_in(inputs)
        return self._forward_in_eval(inputs)

    def forward_out(self, inputs: torch.Tensor) -> torch.Tensor:
        """Fold a network output computed on randomized inputs back to the original batch.

        Args:
            inputs: ``(B * N, ...)`` in training, ``(B, ...)`` in eval.

        Returns:
            ``(B, *output_shape_out(shape))``.
        """
        if self.training:
            return self._forward_out(inputs)
        return self._forward_out_eval(inputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward_in` (a randomizer used as a plain module augments)."""
        return self.forward_in(inputs)

    def _forward_in(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _forward_in")

    def _forward_out(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _forward_out")

    def _forward_in_eval(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def _forward_out_eval(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def output_shape_in(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Per-sample shape after :meth:`forward_in`, without batch dimension."""
        raise NotImplementedError(f"{type(self).__name__} does not implement output_shape_in")

    def output_shape_out(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Per-sample shape after :meth:`forward_out`, given the network's output shape."""
        raise NotImplementedError(f"{type(self).__name__} does not implement output_shape_out")

    def output_shape(self, input_shape: Sequence[int] | None = None) -> Any:
        """Same as :meth:`output_shape_in`: the shape of what the randomizer feeds a network."""
        return self.output_shape_in(input_shape)
