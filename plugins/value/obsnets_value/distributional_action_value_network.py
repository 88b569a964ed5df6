"""``DistributionalActionValueNetwork``: a C51 critic, a categorical distribution over Q."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch

from obsnets.errors import ConfigError
from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets.precision import at_least_float32
from obsnets_value.action_value_network import ActionValueNetwork
from obsnets_value.discrete_value_distribution import DiscreteValueDistribution

__all__ = ["DistributionalActionValueNetwork"]

Shapes = Mapping[str, Sequence[int]]


class DistributionalActionValueNetwork(ActionValueNetwork):
    """A distributional Q-network (C51): a categorical distribution over fixed value atoms.

    The atoms are ``num_atoms`` evenly spaced values from ``value_bounds[0]`` to
    ``value_bounds[1]``; the head ``log_probs`` of shape ``(num_atoms,)`` holds their
    unnormalised logits. :meth:`forward_train` returns a :class:`DiscreteValueDistribution`
    and :meth:`forward` its mean. ``value_bounds`` sets the grid only: no tanh squashing.

    Args:
        obs_shapes: Observation key -> shape without batch dimension, in encoding order.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden layer sizes of the MLP.
        value_bounds: ``(v_min, v_max)``, the ends of the atom grid (required).
        num_atoms: Number of atoms ``N`` (at least 2).
        goal_shapes: Goal key -> shape; non-empty makes the network goal-conditioned.
        encoder_kwargs: Per-modality encoder settings, as for ``MIMO_MLP``.
        obs_modalities: Modality -> observation keys; ``"action"`` is added under
            ``low_dim`` automatically.

    The atoms are a non-persistent buffer ``value_atoms`` (``(N,)``): they follow
    ``.to(device)`` and do not appear in the state dict, whose keys stay robomimic's.

    Differences from robomimic: the returned distribution's ``sample()`` works (see
    :class:`DiscreteValueDistribution`); ``output_shape()`` is ``[]`` because :meth:`forward`
    returns ``(B,)`` (robomimic inherited ``[1]``).
    """

    value_atoms: torch.Tensor

    def __init__(
        self,
        obs_shapes: Shapes,
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        value_bounds: Sequence[float],
        num_atoms: int,
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        name = type(self).__name__
        if value_bounds is None:
            raise ConfigError(f"{name} needs value_bounds=(v_min, v_max) for its atom grid.")
        if isinstance(num_atoms, bool) or not isinstance(num_atoms, int) or num_atoms < 2:
            raise ConfigError(f"{name}: num_atoms must be an int >= 2; got {num_atoms!r}.")
        self.num_atoms = num_atoms
        super().__init__(
            obs_shapes=obs_shapes,
            ac_dim=ac_dim,
            mlp_layer_dims=mlp_layer_dims,
            value_bounds=value_bounds,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        low, high = cast(tuple[float, float], self.value_bounds)  # required here
        # float64 grid cast once, as robomimic's numpy linspace: atoms match to the last bit
        atoms = torch.linspace(low, high, num_atoms, dtype=torch.float64).to(torch.float32)
        self.register_buffer("value_atoms", atoms, persistent=False)

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """The output head: ``log_probs`` of shape ``(num_atoms,)`` (logits, in fact)."""
        return OrderedDict(log_probs=(self.num_atoms,))

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[]``: :meth:`forward` returns one scalar (the mean value) per sample."""
        return []

    def forward_train(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        acts: torch.Tensor,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> DiscreteValueDistribution:
        """Compute the value distribution.

        Args:
            obs_dict: Observation key -> ``(B, *obs_shape)`` tensor.
            acts: ``(B, A)`` actions.
            goal_dict: Goal key -> ``(B, *goal_shape)`` tensor (needed when goal-conditioned).

        Returns:
            A :class:`DiscreteValueDistribution` with ``values`` ``(1, N)`` (the atoms) and
            ``logits`` / ``probs`` ``(B, N)``.
        """
        self._check_goal(goal_dict)
        inputs = self._obs_with_action(obs_dict, acts)
        logits = MIMO_MLP.forward(self, obs=inputs, goal=goal_dict)["log_probs"]  # (B, N)
        # float32 atoms and probabilities even under bf16 autocast (atoms like 0.1 are not
        # representable in bf16, and the expected value sums N products)
        logits = at_least_float32(logits)
        atoms = self.value_atoms.to(logits.dtype).unsqueeze(0)  # (1, N)
        return DiscreteValueDistribution(values=atoms, logits=logits)

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        acts: torch.Tensor,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Compute the expected Q-value, ``(B,)`` (the mean of :meth:`forward_train`)."""
        return self.forward_train(obs_dict, acts, goal_dict).mean()
