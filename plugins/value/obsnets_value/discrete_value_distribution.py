"""``DiscreteValueDistribution``: a categorical distribution over a fixed grid of values."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.distributions import Categorical

from obsnets.errors import ConfigError, ShapeError, format_shape

__all__ = ["DiscreteValueDistribution"]


class DiscreteValueDistribution:
    """A categorical distribution whose outcomes are real values (C51 value atoms).

    Args:
        values: ``(..., N)`` support, broadcastable against the batch shape, e.g. ``(1, N)``
            atoms shared by a batch.
        probs: ``(B, N)`` probabilities (give exactly one of ``probs`` and ``logits``).
        logits: ``(B, N)`` unnormalised log-probabilities.

    ``mean()`` and ``variance()`` are methods (as in robomimic), each returning ``(B,)``.

    Differences from robomimic: :meth:`sample` works (robomimic called ``torch.gather``
    with its arguments swapped and raised); giving both or neither of ``probs`` / ``logits``,
    or a support whose size differs from theirs, raises an obsnets error.
    """

    def __init__(
        self,
        values: torch.Tensor,
        probs: torch.Tensor | None = None,
        logits: torch.Tensor | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ConfigError(
                "DiscreteValueDistribution needs exactly one of probs and logits; got "
                f"{'both' if probs is not None else 'neither'}."
            )
        self._categorical_dist = Categorical(probs=probs, logits=logits)
        num_atoms = self._categorical_dist.param_shape[-1]
        if values.dim() == 0 or values.shape[-1] != num_atoms:
            raise ShapeError(
                f"DiscreteValueDistribution: values must end with the number of atoms "
                f"{num_atoms}; got values of shape {format_shape(values.shape)}."
            )
        self._values = values

    @property
    def values(self) -> torch.Tensor:
        """The support, as given: ``(..., N)``."""
        return self._values

    @property
    def probs(self) -> torch.Tensor:
        """``(B, N)`` probabilities."""
        return self._categorical_dist.probs

    @property
    def logits(self) -> torch.Tensor:
        """``(B, N)`` normalised log-probabilities (logits minus their logsumexp)."""
        return self._categorical_dist.logits

    @property
    def batch_shape(self) -> torch.Size:
        """The batch shape ``(B,)``."""
        return self._categorical_dist.batch_shape

    def mean(self) -> torch.Tensor:
        """``(B,)`` expected value, ``sum_i p_i * v_i``."""
        return (self.probs * self._values).sum(dim=-1)

    def variance(self) -> torch.Tensor:
        """``(B,)`` variance, ``sum_i p_i * (v_i - mean)^2``."""
        squared = (self._values - self.mean().unsqueeze(-1)).pow(2)
        return (self.probs * squared).sum(dim=-1)

    def sample(self, sample_shape: Sequence[int] = ()) -> torch.Tensor:
        """Draw values: atom ``v_i`` with probability ``p_i``.

        Args:
            sample_shape: Leading shape ``S`` of independent draws.

        Returns:
            ``(*S, B)`` sampled values (not differentiable).
        """
        shape = torch.Size(sample_shape)
        index = self._categorical_dist.sample(shape)  # (*S, B)
        support = torch.broadcast_to(self._values, (*shape, *self.batch_shape, self.num_atoms))
        return support.gather(-1, index.unsqueeze(-1)).squeeze(-1)

    @property
    def num_atoms(self) -> int:
        """Number of atoms ``N``."""
        return int(self._categorical_dist.param_shape[-1])

    def __repr__(self) -> str:
        return (
            f"DiscreteValueDistribution(batch_shape={tuple(self.batch_shape)}, "
            f"num_atoms={self.num_atoms})"
        )
