"""``RNNActorNetwork``: a recurrent deterministic policy over observation sequences."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from obsnets.blocks import RNNState
from obsnets.mimo.rnn_mimo_mlp import RNN_MIMO_MLP
from obsnets_policy._common import (
    ObsModalities,
    check_goal,
    expand_goal_over_time,
    is_goal_conditioned,
    observation_groups,
    sequence_length,
    time_steps_of_shapes,
)

__all__ = ["RNNActorNetwork"]


class RNNActorNetwork(RNN_MIMO_MLP):
    """A recurrent policy: per-step encoder -> LSTM/GRU -> per-step MLP -> ``tanh`` actions.

    Args:
        obs_shapes: Observation key -> shape without batch or time dimension.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the per-step MLP after the RNN (may be empty).
        rnn_hidden_dim: RNN hidden size ``H``.
        rnn_num_layers: Number of stacked RNN layers ``L``.
        rnn_type: ``"LSTM"`` or ``"GRU"``.
        rnn_kwargs: Extra ``nn.LSTM``/``nn.GRU`` arguments (e.g. ``{"bidirectional": True}``).
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned. A goal is
            given once per sequence, ``(B, ...)``, and repeated over time.
        encoder_kwargs: Per-modality encoder settings (see ``ActorNetwork``).
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward({k: (B, T, ...)}) -> (B, T, A)``; ``forward_step({k: (B, ...)}, state)
    -> ((B, A), state)``, with LSTM state ``(h, c)``, each ``(L * dirs, B, H)``.

    Differences from robomimic: a missing ``goal_dict`` on a goal-conditioned policy raises
    :class:`~obsnets.errors.InvalidKwargsError`; ``rnn_kwargs=None`` works.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        rnn_hidden_dim: int,
        rnn_num_layers: int,
        rnn_type: str = "LSTM",
        rnn_kwargs: Mapping[str, Any] | None = None,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        # plain attributes before nn.Module.__init__: _get_output_shapes needs them
        self.obs_shapes = OrderedDict(obs_shapes)
        self.ac_dim = int(ac_dim)
        self.goal_shapes = OrderedDict(goal_shapes or {})
        self._is_goal_conditioned = is_goal_conditioned(goal_shapes)
        super().__init__(
            input_obs_group_shapes=observation_groups(self.obs_shapes, goal_shapes),
            output_shapes=self._get_output_shapes(),
            mlp_layer_dims=mlp_layer_dims,
            rnn_hidden_dim=rnn_hidden_dim,
            rnn_num_layers=rnn_num_layers,
            rnn_type=rnn_type,
            rnn_kwargs=dict(rnn_kwargs or {}),
            mlp_activation=nn.ReLU,
            mlp_layer_func=nn.Linear,
            per_step=True,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Per-step decoder heads: ``action`` of shape ``(A,)``."""
        return OrderedDict(action=(self.ac_dim,))

    def output_shape(self, input_shape: Any = None) -> list[int]:  # type: ignore[override]
        """``[T, A]``, reading ``T`` from the observation shapes with their time dimension.

        Args:
            input_shape: ``{obs key: (T, ...)}`` (robomimic's form), or the grouped form
                ``{"obs": {obs key: (T, ...)}, ...}`` of ``RNN_MIMO_MLP.output_shape``.
        """
        shapes: Any = input_shape
        if isinstance(shapes, Mapping) and isinstance(shapes.get("obs"), Mapping):
            shapes = shapes["obs"]
        steps = time_steps_of_shapes(type(self).__name__, list(self.obs_shapes), shapes)
        return [steps, self.ac_dim]

    def _run_rnn(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None,
        rnn_init_state: RNNState | None,
    ) -> tuple[dict[str, torch.Tensor], RNNState]:
        """Encode ``(B, T, ...)`` observations and run the RNN and heads.

        Returns:
            ``{head: (B, T, *head_shape)}`` and the final RNN state.
        """
        name = type(self).__name__
        check_goal(name, self.goal_shapes, goal_dict)
        groups: dict[str, Any] = {"obs": obs_dict}
        if self._is_goal_conditioned and goal_dict is not None:  # check_goal ensured a dict
            groups["goal"] = expand_goal_over_time(goal_dict, sequence_length(name, obs_dict))
        heads, state = RNN_MIMO_MLP.forward(
            self, rnn_init_state=rnn_init_state, return_state=True, **groups
        )
        return heads, state

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_init_state: RNNState | None = None,
        return_state: bool = False,
    ) -> Any:
        """Actions for observation sequences.

        Args:
            obs_dict: ``{key: (B, T, *obs_shapes[key])}``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``, one goal per sequence; required when
                goal-conditioned.
            rnn_init_state: Initial RNN state; zeros when ``None``.
            return_state: Also return the final RNN state.

        Returns:
            ``(B, T, A)`` actions in ``[-1, 1]``, and the final state if asked.
        """
        heads, state = self._run_rnn(obs_dict, goal_dict, rnn_init_state)
        actions = torch.tanh(heads["action"])
        return (actions, state) if return_state else actions

    def forward_step(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_state: RNNState | None = None,
    ) -> tuple[torch.Tensor, RNNState]:
        """One control step: the action for the current observation and the next state.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``, the current observation.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.
            rnn_state: The state returned by the previous step; zeros when ``None``.

        Returns:
            ``(B, A)`` actions and the new RNN state.
        """
        sequence = {k: v.unsqueeze(1) for k, v in obs_dict.items()}
        actions, state = self.forward(
            sequence, goal_dict, rnn_init_state=rnn_state, return_state=True
        )
        return actions[:, 0], state

    def _to_string(self) -> str:
        return f"action_dim={self.ac_dim}"
