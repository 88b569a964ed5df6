"""``ValueNetwork``: a state-value network V(s) (optionally goal-conditioned)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.errors import ConfigError, InvalidKwargsError
from obsnets.mimo.mimo_mlp import MIMO_MLP

__all__ = ["ValueNetwork"]

Shapes = Mapping[str, Sequence[int]]


def _check_bounds(
    component: str, value_bounds: Sequence[float] | None
) -> tuple[float, float] | None:
    if value_bounds is None:
        return None
    try:
        low, high = (float(v) for v in value_bounds)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{component}: value_bounds must be a pair (low, high) of numbers; got "
            f"{value_bounds!r}."
        ) from exc
    if not low < high:
        raise ConfigError(
            f"{component}: value_bounds must satisfy low < high; got ({low}, {high})."
        )
    return low, high


class ValueNetwork(MIMO_MLP):
    """A value network: observations (and optionally goals) -> one value per sample.

    A :class:`~obsnets.mimo.mimo_mlp.MIMO_MLP` with input groups ``obs`` (and ``goal`` when
    ``goal_shapes`` is non-empty) and a single output head ``value`` of shape ``(1,)``. With
    ``value_bounds=(lo, hi)`` the raw head output ``v`` becomes ``(hi + lo) / 2 +
    (hi - lo) / 2 * tanh(v)``, so values lie in ``(lo, hi)``.

    Args:
        obs_shapes: Observation key -> shape without batch dimension, in encoding order.
        mlp_layer_dims: Hidden layer sizes of the MLP between encoder and head.
        value_bounds: Optional ``(lo, hi)`` range the output is squashed into.
        goal_shapes: Goal key -> shape; non-empty makes the network goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (``core_class``, ``core_kwargs``,
            ``obs_randomizer_class``, ``obs_randomizer_kwargs``), as for ``MIMO_MLP``.
        obs_modalities: Modality -> observation keys (e.g. ``{"rgb": ["agentview_image"],
            "low_dim": [...]}``); decides which encoder each key gets.

    Differences from robomimic: a missing ``goal_dict`` on a goal-conditioned network and
    malformed ``value_bounds`` raise obsnets errors instead of failing deep inside (or being
    accepted silently); ``obs_modalities`` replaces robomimic's process-wide modality mapping.
    State-dict keys are robomimic's (``nets.encoder...``, ``nets.mlp._model...``,
    ``nets.decoder.nets.value...``).
    """

    def __init__(
        self,
        obs_shapes: Shapes,
        mlp_layer_dims: Sequence[int],
        value_bounds: Sequence[float] | None = None,
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        bounds = _check_bounds(type(self).__name__, value_bounds)
        groups: OrderedDict[str, OrderedDict[str, tuple[int, ...]]] = OrderedDict()
        groups["obs"] = OrderedDict((k, tuple(v)) for k, v in obs_shapes.items())
        if goal_shapes:
            groups["goal"] = OrderedDict((k, tuple(v)) for k, v in goal_shapes.items())
        super().__init__(
            input_obs_group_shapes=groups,
            output_shapes=self._get_output_shapes(),
            layer_dims=mlp_layer_dims,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=self._modalities(obs_modalities),
        )
        self.value_bounds = bounds
        self._is_goal_conditioned = "goal" in groups
        self._goal_keys = list(groups.get("goal", ()))
        if bounds is not None:
            self._value_scale = (bounds[1] - bounds[0]) / 2.0
            self._value_offset = (bounds[1] + bounds[0]) / 2.0

    def _modalities(
        self, obs_modalities: Mapping[str, Sequence[str]] | None
    ) -> Mapping[str, Sequence[str]] | None:
        """The modality mapping passed to ``MIMO_MLP`` (subclasses add their own keys)."""
        return obs_modalities

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """The output heads: ``value`` of shape ``(1,)``."""
        return OrderedDict(value=(1,))

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[1]``: one value per sample."""
        return [1]

    def _check_goal(self, goal_dict: Mapping[str, torch.Tensor] | None) -> None:
        if self._is_goal_conditioned and goal_dict is None:
            raise InvalidKwargsError(
                f"{type(self).__name__} was built with goal_shapes (keys {self._goal_keys}), so "
                f"forward needs goal_dict={{key: (B, ...) tensor}}; got goal_dict=None."
            )

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Compute values.

        Args:
            obs_dict: Observation key -> ``(B, *obs_shape)`` tensor.
            goal_dict: Goal key -> ``(B, *goal_shape)`` tensor (needed when goal-conditioned).

        Returns:
            ``(B, 1)`` values (inside ``value_bounds`` when given).
        """
        self._check_goal(goal_dict)
        values = super().forward(obs=obs_dict, goal=goal_dict)["value"]
        if self.value_bounds is not None:
            values = self._value_offset + self._value_scale * torch.tanh(values)
        return values

    def _to_string(self) -> str:
        return f"value_bounds={self.value_bounds}"
