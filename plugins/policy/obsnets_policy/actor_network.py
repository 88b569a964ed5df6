"""``ActorNetwork``: a deterministic policy ``a = tanh(MLP(encode(obs, goal)))``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets_policy._common import (
    ObsModalities,
    check_goal,
    is_goal_conditioned,
    observation_groups,
)

__all__ = ["ActorNetwork"]


class ActorNetwork(MIMO_MLP):
    """A deterministic policy over an observation dict, optionally goal-conditioned.

    The observation group ``obs`` (and ``goal`` when ``goal_shapes`` is non-empty) is encoded
    per key, concatenated, passed through an MLP and decoded into the head ``action``; a final
    ``tanh`` keeps actions in ``[-1, 1]``.

    Args:
        obs_shapes: Observation key -> shape without batch dimension, in encoding order,
            e.g. ``{"robot0_eef_pos": (3,), "agentview_image": (3, 84, 84)}``.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the MLP between encoder and heads (non-empty).
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (``core_class``, ``core_kwargs``,
            ``obs_randomizer_class``, ``obs_randomizer_kwargs``), as robomimic's
            ``config.observation.encoder``.
        obs_modalities: Modality -> observation keys (``{"rgb": [...], "low_dim": [...]}``);
            decides which encoder each key gets.

    Shapes: ``forward({k: (B, *obs_shapes[k])}) -> (B, A)``.

    Differences from robomimic: a missing ``goal_dict`` on a goal-conditioned policy raises
    :class:`~obsnets.errors.InvalidKwargsError` instead of an assertion, and the modality of
    each key comes from ``obs_modalities`` instead of process-wide state.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        self._init_policy_attributes(obs_shapes, ac_dim, goal_shapes)
        super().__init__(
            input_obs_group_shapes=observation_groups(self._encoded_obs_shapes(), goal_shapes),
            output_shapes=self._get_output_shapes(),
            layer_dims=mlp_layer_dims,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=self._encoder_modalities(obs_modalities),
        )

    def _init_policy_attributes(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        goal_shapes: Mapping[str, Sequence[int]] | None,
    ) -> None:
        # set before nn.Module.__init__ (plain attributes only): _get_output_shapes needs them
        self.obs_shapes = OrderedDict(obs_shapes)
        self.ac_dim = int(ac_dim)
        self.goal_shapes = OrderedDict(goal_shapes or {})
        self._is_goal_conditioned = is_goal_conditioned(goal_shapes)

    def _encoded_obs_shapes(self) -> OrderedDict[str, Sequence[int]]:
        """The ``obs`` group's keys; subclasses add inputs of their own (e.g. ``action``)."""
        return OrderedDict(self.obs_shapes)

    def _encoder_modalities(self, obs_modalities: ObsModalities | None) -> Any:
        """The modality mapping passed to the encoder; subclasses add their own keys."""
        return obs_modalities

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Decoder heads: ``action`` of shape ``(A,)``."""
        return OrderedDict(action=(self.ac_dim,))

    def _encode_heads(
        self, obs_dict: Mapping[str, torch.Tensor], goal_dict: Mapping[str, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        """Run encoder, MLP and heads: ``{head: (B, *head_shape)}``."""
        check_goal(type(self).__name__, self.goal_shapes, goal_dict)
        groups: dict[str, Any] = {"obs": obs_dict}
        if self._is_goal_conditioned:
            groups["goal"] = goal_dict
        return MIMO_MLP.forward(self, **groups)

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[A]``: one action per sample."""
        return [self.ac_dim]

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Actions for a batch of observations.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.

        Returns:
            ``(B, A)`` actions in ``[-1, 1]``.
        """
        return torch.tanh(self._encode_heads(obs_dict, goal_dict)["action"])

    def _to_string(self) -> str:
        return f"action_dim={self.ac_dim}"
