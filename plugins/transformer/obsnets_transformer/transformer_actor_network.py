"""``TransformerActorNetwork``: a deterministic GPT policy over a context of observations."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.errors import InvalidKwargsError
from obsnets_policy._common import (
    ObsModalities,
    check_goal,
    expand_goal_over_time,
    is_goal_conditioned,
    observation_groups,
    sequence_length,
    time_steps_of_shapes,
)
from obsnets_transformer.mimo_transformer import MIMO_Transformer

__all__ = ["TransformerActorNetwork"]


class TransformerActorNetwork(MIMO_Transformer):
    """A policy that maps a sequence of observations to an action at every step.

    A :class:`MIMO_Transformer` over the ``obs`` group (and ``goal`` when ``goal_shapes`` is
    non-empty) with one head ``action``; ``tanh`` keeps actions in ``[-1, 1]``. robomimic's
    BC-Transformer acts with the action at the last step.

    Args:
        obs_shapes: Observation key -> shape without batch or time dimension.
        ac_dim: Action dimension ``A``.
        transformer_embed_dim: Embedding size ``D``.
        transformer_num_layers: Transformer blocks.
        transformer_num_heads: Attention heads (divides ``D``).
        transformer_context_length: Longest observation context ``L``.
        transformer_emb_dropout: Dropout probability on the input embeddings.
        transformer_attn_dropout: Dropout probability on attention weights.
        transformer_block_output_dropout: Dropout probability on each block's outputs.
        transformer_sinusoidal_embedding: Fixed sinusoidal position encoding.
        transformer_activation: ``"relu"``, ``"gelu"`` or ``"geglu"``.
        transformer_nn_parameter_for_timesteps: Learned position embedding as one parameter.
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned. A goal
            ``(B, ...)`` is repeated over the ``T`` steps; ``(B, T, ...)`` is used as given.
        encoder_kwargs: Per-modality encoder settings (see ``obs_encoder_factory``).
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward({k: (B, T, *obs_shapes[k])}) -> (B, T, A)``, ``1 <= T <= L``.

    Differs from robomimic: ``actions`` other than ``None`` are refused (robomimic accepted
    and ignored them); a missing ``goal_dict`` on a goal-conditioned policy raises
    :class:`~obsnets.errors.InvalidKwargsError` instead of an assertion.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        transformer_embed_dim: int,
        transformer_num_layers: int,
        transformer_num_heads: int,
        transformer_context_length: int,
        transformer_emb_dropout: float = 0.1,
        transformer_attn_dropout: float = 0.1,
        transformer_block_output_dropout: float = 0.1,
        transformer_sinusoidal_embedding: bool = False,
        transformer_activation: str = "gelu",
        transformer_nn_parameter_for_timesteps: bool = False,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        # plain attributes before nn.Module.__init__: _get_output_shapes reads them
        self.obs_shapes = OrderedDict(obs_shapes)
        self.ac_dim = int(ac_dim)
        self.goal_shapes = OrderedDict(goal_shapes or {})
        self._is_goal_conditioned = is_goal_conditioned(goal_shapes)
        super().__init__(
            input_obs_group_shapes=observation_groups(obs_shapes, goal_shapes),
            output_shapes=self._get_output_shapes(),
            transformer_embed_dim=transformer_embed_dim,
            transformer_num_layers=transformer_num_layers,
            transformer_num_heads=transformer_num_heads,
            transformer_context_length=transformer_context_length,
            transformer_emb_dropout=transformer_emb_dropout,
            transformer_attn_dropout=transformer_attn_dropout,
            transformer_block_output_dropout=transformer_block_output_dropout,
            transformer_sinusoidal_embedding=transformer_sinusoidal_embedding,
            transformer_activation=transformer_activation,
            transformer_nn_parameter_for_timesteps=transformer_nn_parameter_for_timesteps,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Decoder heads: ``action`` of shape ``(A,)``."""
        return OrderedDict(action=(self.ac_dim,))

    def output_shape(self, input_shape: Any = None) -> list[int]:  # type: ignore[override]
        """``[T, A]``, reading ``T`` from the observation shapes with their time dimension.

        Args:
            input_shape: ``{obs key: (T, ...)}`` (robomimic's form).
        """
        steps = time_steps_of_shapes(type(self).__name__, list(self.obs_shapes), input_shape)
        return [steps, self.ac_dim]

    def _encode_heads(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        actions: Any,
        goal_dict: Mapping[str, torch.Tensor] | None,
    ) -> dict[str, torch.Tensor]:
        """Run the transformer: ``{head: (B, T, *head_shape)}``."""
        name = type(self).__name__
        if actions is not None:
            raise InvalidKwargsError(
                f"{name} does not condition on actions; robomimic accepted and ignored them. "
                f"Pass actions=None (or leave it out)."
            )
        check_goal(name, self.goal_shapes, goal_dict)
        groups: dict[str, Any] = {"obs": obs_dict}
        if self._is_goal_conditioned and goal_dict is not None:  # check_goal ensured a dict
            steps = sequence_length(name, obs_dict)
            first = next(iter(self.goal_shapes))
            per_sequence = goal_dict[first].dim() == len(self.goal_shapes[first]) + 1
            groups["goal"] = expand_goal_over_time(goal_dict, steps) if per_sequence else goal_dict
        return MIMO_Transformer.forward(self, **groups)

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        actions: None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Actions at every step of the observation sequences.

        Args:
            obs_dict: ``{key: (B, T, *obs_shapes[key])}``.
            actions: Must be ``None`` (kept for robomimic's call signature).
            goal_dict: ``{key: (B, *goal_shapes[key])}`` or ``(B, T, ...)``; required when
                goal-conditioned.

        Returns:
            ``(B, T, A)`` actions in ``[-1, 1]``.
        """
        return torch.tanh(self._encode_heads(obs_dict, actions, goal_dict)["action"])

    def _to_string(self) -> str:
        return f"action_dim={self.ac_dim}"
