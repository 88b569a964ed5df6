"""``ActionValueNetwork``: an action-value network Q(s, a) (optionally goal-conditioned)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.encoders import with_low_dim_keys
from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets.validation import check_int
from obsnets_value.value_network import ValueNetwork

__all__ = ["ActionValueNetwork"]

Shapes = Mapping[str, Sequence[int]]


class ActionValueNetwork(ValueNetwork):
    """A Q-network: observations and actions (and optionally goals) -> one value per sample.

    The action enters as one more low_dim observation key, ``"action"`` of shape
    ``(ac_dim,)``, appended after the observation keys, so the MLP sees
    ``concat(encoded obs..., action)``. Everything else is :class:`ValueNetwork`.

    Args:
        obs_shapes: Observation key -> shape without batch dimension, in encoding order.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden layer sizes of the MLP.
        value_bounds: Optional ``(lo, hi)`` range the output is squashed into.
        goal_shapes: Goal key -> shape; non-empty makes the network goal-conditioned.
        encoder_kwargs: Per-modality encoder settings, as for ``MIMO_MLP``.
        obs_modalities: Modality -> observation keys; ``"action"`` is added under
            ``low_dim`` automatically.

    Differences from robomimic: an action tensor that is not ``(B, A)`` raises a
    :class:`~obsnets.errors.ShapeError` naming both shapes, and an observation key named
    ``"action"`` is refused at construction (robomimic silently overwrote it).
    """

    def __init__(
        self,
        obs_shapes: Shapes,
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        value_bounds: Sequence[float] | None = None,
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        name = type(self).__name__
        if "action" in obs_shapes:
            raise ConfigError(
                f"{name} adds the observation key 'action' itself; obs_shapes must not "
                f"contain it (rename that observation)."
            )
        self.ac_dim = check_int(name, "ac_dim", ac_dim, low=1)
        full_obs_shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict(
            (k, tuple(v)) for k, v in obs_shapes.items()
        )
        full_obs_shapes["action"] = (self.ac_dim,)
        super().__init__(
            obs_shapes=full_obs_shapes,
            mlp_layer_dims=mlp_layer_dims,
            value_bounds=value_bounds,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _modalities(
        self, obs_modalities: Mapping[str, Sequence[str]] | None
    ) -> Mapping[str, Sequence[str]] | None:
        return with_low_dim_keys(obs_modalities, ["action"], component=type(self).__name__)

    def _obs_with_action(
        self, obs_dict: Mapping[str, torch.Tensor], acts: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if not isinstance(acts, torch.Tensor) or acts.dim() != 2 or acts.shape[1] != self.ac_dim:
            got = format_shape(acts.shape) if isinstance(acts, torch.Tensor) else repr(acts)
            raise ShapeError(
                f"{type(self).__name__} expects actions of shape (B, {self.ac_dim}); got {got}."
            )
        inputs = dict(obs_dict)
        inputs["action"] = acts
        return inputs

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        acts: torch.Tensor,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Compute Q-values.

        Args:
            obs_dict: Observation key -> ``(B, *obs_shape)`` tensor.
            acts: ``(B, A)`` actions.
            goal_dict: Goal key -> ``(B, *goal_shape)`` tensor (needed when goal-conditioned).

        Returns:
            ``(B, 1)`` Q-values.
        """
        return super().forward(self._obs_with_action(obs_dict, acts), goal_dict)
