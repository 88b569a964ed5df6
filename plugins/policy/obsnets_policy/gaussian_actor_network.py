"""``GaussianActorNetwork``: a diagonal Gaussian policy (optionally tanh-squashed)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Distribution, Independent, Normal
from torch.nn.functional import softplus

from obsnets.errors import ConfigError
from obsnets.precision import at_least_float32
from obsnets_policy._common import (
    ObsModalities,
    check_limits,
    distribution_error,
    resolve_std_activation,
)
from obsnets_policy.actor_network import ActorNetwork
from obsnets_policy.tanh_distribution import TanhWrappedDistribution

__all__ = ["GaussianActorNetwork"]

STD_ACTIVATIONS: tuple[str | None, ...] = ("softplus", "exp", None)
LOW_NOISE_STD = 1e-4
"""Standard deviation used in eval mode when ``low_noise_eval`` is set."""


class GaussianActorNetwork(ActorNetwork):
    """A policy that outputs ``Independent(Normal(mean, std), 1)`` over actions.

    Heads ``mean`` and ``scale`` (each ``(A,)``). The mean is clamped to ``mean_limits`` and,
    unless ``use_tanh``, squashed by ``tanh``. The standard deviation is
    ``clamp(act(scale), *std_limits)``, or ``init_std`` with ``fixed_std``; with
    ``low_noise_eval`` it is ``1e-4`` in eval mode.

    Args:
        obs_shapes: Observation key -> shape without batch dimension.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the MLP (non-empty).
        fixed_std: Use the constant ``init_std`` instead of the ``scale`` head (the head is
            still built, so checkpoints keep their keys).
        std_activation: ``"softplus"`` (scaled so a zero pre-activation gives ``init_std``),
            ``"exp"``, or ``None`` (identity). Ignored with ``fixed_std``.
        init_last_fc_weight: If set, re-initialise every head's weight and bias uniformly in
            ``[-w, w]`` (small initial outputs, as CQL does).
        init_std: Standard deviation at initialisation (softplus) or the fixed one.
        mean_limits: ``(low, high)`` clamp of the pre-tanh mean.
        std_limits: ``(low, high)`` clamp of the standard deviation.
        low_noise_eval: In eval mode, use std ``1e-4`` and make :meth:`forward` return the
            mean.
        use_tanh: Wrap the Gaussian in :class:`TanhWrappedDistribution` (the mean is then not
            squashed itself; samples are).
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (see :class:`ActorNetwork`).
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward_train(obs) -> distribution`` with batch shape ``(B,)`` and event shape
    ``(A,)``; ``forward(obs) -> (B, A)``.

    Differences from robomimic: an unknown ``std_activation`` raises
    :class:`~obsnets.errors.ConfigError` listing the valid ones (robomimic asserts); with
    ``use_tanh`` the returned :class:`TanhWrappedDistribution` has a correct log-probability
    (see that class).
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        fixed_std: bool = False,
        std_activation: str | None = "softplus",
        init_last_fc_weight: float | None = None,
        init_std: float = 0.3,
        mean_limits: Sequence[float] = (-9.0, 9.0),
        std_limits: Sequence[float] = (0.007, 7.5),
        low_noise_eval: bool = True,
        use_tanh: bool = False,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        name = type(self).__name__
        resolve_std_activation(name, std_activation, STD_ACTIVATIONS)
        self.fixed_std = bool(fixed_std)
        self.init_std = float(init_std)
        if init_last_fc_weight is not None and init_last_fc_weight <= 0:
            raise ConfigError(
                f"{name}: init_last_fc_weight is the bound of a uniform initialisation "
                f"(-w, w) and must be above 0; got {init_last_fc_weight!r}."
            )
        self.mean_limits = check_limits(name, "mean_limits", mean_limits)
        self.std_limits = check_limits(name, "std_limits", std_limits, positive=True)
        self.std_activation = None if fixed_std else std_activation
        self.low_noise_eval = bool(low_noise_eval)
        self.use_tanh = bool(use_tanh)
        super().__init__(
            obs_shapes=obs_shapes,
            ac_dim=ac_dim,
            mlp_layer_dims=mlp_layer_dims,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        if init_last_fc_weight is not None:
            bound = float(init_last_fc_weight)
            with torch.no_grad():
                for head in self.nets["decoder"].nets.values():
                    torch.nn.init.uniform_(head.weight, -bound, bound)
                    torch.nn.init.uniform_(head.bias, -bound, bound)

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Decoder heads: ``mean`` and ``scale``, each ``(A,)``."""
        return OrderedDict(mean=(self.ac_dim,), scale=(self.ac_dim,))

    def _activate_std(self, raw: torch.Tensor) -> torch.Tensor:
        if self.std_activation == "softplus":
            # scaled so that a zero pre-activation maps to init_std
            zero = softplus(torch.zeros(1, dtype=raw.dtype, device=raw.device))
            return softplus(raw) * (self.init_std / zero)
        if self.std_activation == "exp":
            return torch.exp(raw)
        return raw

    def forward_train(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> Distribution:
        """The action distribution for a batch of observations.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.

        Returns:
            ``Independent(Normal, 1)`` with batch shape ``(B,)`` and event shape ``(A,)``,
            wrapped in :class:`TanhWrappedDistribution` when ``use_tanh``.
        """
        out = self._encode_heads(obs_dict, goal_dict)
        # float32 for the distribution: bf16 autocast heads are too coarse for log-probs
        mean = at_least_float32(out["mean"])
        scale = (
            torch.ones_like(mean) * self.init_std
            if self.fixed_std
            else at_least_float32(out["scale"])
        )
        mean = mean.clamp(min=self.mean_limits[0], max=self.mean_limits[1])
        if not self.use_tanh:
            mean = torch.tanh(mean)
        if self.low_noise_eval and not self.training:
            scale = torch.ones_like(mean) * LOW_NOISE_STD
        else:
            scale = self._activate_std(scale)
            scale = scale.clamp(min=self.std_limits[0], max=self.std_limits[1])
        try:
            dist: Distribution = Independent(Normal(loc=mean, scale=scale), 1)
        except ValueError as error:
            inputs = {"obs_dict": obs_dict, "goal_dict": goal_dict}
            raise distribution_error(type(self).__name__, error, inputs) from error
        if self.use_tanh:
            dist = TanhWrappedDistribution(base_dist=dist, scale=1.0)
        return dist

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Actions: the (squashed) mean in low-noise eval mode, else a sample.

        Returns:
            ``(B, A)`` actions.
        """
        dist = self.forward_train(obs_dict, goal_dict)
        if self.low_noise_eval and not self.training:
            # TanhWrappedDistribution.mean is the pre-tanh mean
            return torch.tanh(dist.mean) if self.use_tanh else dist.mean
        return dist.sample()

    def _to_string(self) -> str:
        return (
            f"action_dim={self.ac_dim}, fixed_std={self.fixed_std}, "
            f"std_activation={self.std_activation}, init_std={self.init_std}, "
            f"mean_limits={self.mean_limits}, std_limits={self.std_limits}, "
            f"low_noise_eval={self.low_noise_eval}, use_tanh={self.use_tanh}"
        )
