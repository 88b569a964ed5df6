"""``PerturbationActorNetwork``: BCQ's actor, a bounded correction of a proposed action."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.encoders import with_low_dim_keys
from obsnets_policy._common import ObsModalities, check_actions
from obsnets_policy.actor_network import ActorNetwork

__all__ = ["PerturbationActorNetwork"]

ACTION_KEY = "action"


class PerturbationActorNetwork(ActorNetwork):
    """Perturbs given actions: ``clamp(a + scale * tanh(MLP(obs, a, goal)), -1, 1)``.

    The proposed actions are one more low-dimensional input of the ``obs`` group, under the
    key ``action`` (encoded last, after ``obs_shapes``).

    Args:
        obs_shapes: Observation key -> shape without batch dimension.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the MLP (non-empty).
        perturbation_scale: Largest change the network may make to each action component.
        goal_shapes: Goal key -> shape; non-empty makes the network goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (see :class:`ActorNetwork`).
        obs_modalities: Modality -> observation keys; ``action`` is added under ``low_dim``
            unless listed.

    Shapes: ``forward(obs, (B, A)) -> (B, A)``.

    Differences from robomimic: ``acts`` of the wrong width raise
    :class:`~obsnets.errors.ShapeError` naming the expected ``(B, A)``.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        perturbation_scale: float = 0.05,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        self.perturbation_scale = float(perturbation_scale)
        super().__init__(
            obs_shapes=obs_shapes,
            ac_dim=ac_dim,
            mlp_layer_dims=mlp_layer_dims,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _encoded_obs_shapes(self) -> OrderedDict[str, Sequence[int]]:
        shapes = OrderedDict(self.obs_shapes)
        shapes[ACTION_KEY] = (self.ac_dim,)
        return shapes

    def _encoder_modalities(self, obs_modalities: ObsModalities | None) -> Any:
        return with_low_dim_keys(obs_modalities, [ACTION_KEY], component=type(self).__name__)

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        acts: torch.Tensor,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Perturbed actions.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``.
            acts: ``(B, A)`` proposed actions in ``[-1, 1]``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.

        Returns:
            ``(B, A)`` actions in ``[-1, 1]``.
        """
        check_actions(type(self).__name__, acts, self.ac_dim, what="acts")
        inputs = dict(obs_dict)
        inputs[ACTION_KEY] = acts
        perturbation = torch.tanh(self._encode_heads(inputs, goal_dict)["action"])
        return (acts + self.perturbation_scale * perturbation).clamp(-1.0, 1.0)

    def _to_string(self) -> str:
        return f"action_dim={self.ac_dim}, perturbation_scale={self.perturbation_scale}"
