"""``GMMActorNetwork``: a Gaussian-mixture policy, plus the mixture builder RNN policies share."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal
from torch.nn.functional import softplus

from obsnets.precision import at_least_float32
from obsnets.validation import check_int
from obsnets_policy._common import (
    ObsModalities,
    distribution_error,
    resolve_std_activation,
)
from obsnets_policy.actor_network import ActorNetwork
from obsnets_policy.tanh_distribution import TanhWrappedDistribution

__all__ = [
    "GMM_STD_ACTIVATIONS",
    "GMMActorNetwork",
    "gmm_distribution",
    "gmm_output_shapes",
    "set_gmm_options",
]

GMM_STD_ACTIVATIONS: tuple[str, ...] = ("softplus", "exp")
LOW_NOISE_STD = 1e-4
"""Component standard deviation used in eval mode when ``low_noise_eval`` is set."""


def set_gmm_options(
    network: Any,
    num_modes: int,
    min_std: float,
    std_activation: str,
    low_noise_eval: bool,
    use_tanh: bool,
) -> None:
    """Check and store the mixture-head settings every GMM policy takes (robomimic's names).

    Args:
        network: The policy being constructed (before ``super().__init__``, which builds the
            heads from ``num_modes``); the settings become its attributes.
        num_modes: Mixture components ``M`` (>= 1).
        min_std: Added to every component's scale.
        std_activation: ``"softplus"`` or ``"exp"``, applied to the scale head.
        low_noise_eval: In eval mode, replace every scale by 1e-4.
        use_tanh: Tanh-wrap the mixture instead of squashing the means.

    Raises:
        ConfigError: ``num_modes`` below 1 or an unknown ``std_activation``.
    """
    name = type(network).__name__
    network.num_modes = check_int(name, "num_modes", num_modes, low=1)
    network.min_std = float(min_std)
    network.std_activation = resolve_std_activation(name, std_activation, GMM_STD_ACTIVATIONS)
    network.low_noise_eval = bool(low_noise_eval)
    network.use_tanh = bool(use_tanh)


def gmm_output_shapes(num_modes: int, ac_dim: int) -> OrderedDict[str, tuple[int, ...]]:
    """Heads of a GMM policy: ``mean`` and ``scale`` ``(M, A)``, ``logits`` ``(M,)``."""
    return OrderedDict(mean=(num_modes, ac_dim), scale=(num_modes, ac_dim), logits=(num_modes,))


def gmm_distribution(
    heads: Mapping[str, torch.Tensor],
    *,
    std_activation: str,
    min_std: float,
    low_noise: bool,
    use_tanh: bool,
    component: str = "GMM policy",
    inputs: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> Distribution:
    """Build the action mixture from raw head outputs.

    Args:
        heads: ``mean`` and ``scale`` ``(*batch, M, A)``, ``logits`` ``(*batch, M)``, where
            ``*batch`` is ``(B,)`` or ``(B, T)``.
        std_activation: ``"softplus"`` or ``"exp"``, applied to ``scale``.
        min_std: Added to the activated scale.
        low_noise: Use standard deviation ``1e-4`` for every component instead.
        use_tanh: Leave the means unsquashed and wrap the mixture in
            :class:`TanhWrappedDistribution`; otherwise squash the means with ``tanh``.
        component: The network, for error messages.
        inputs: The observations the heads came from (group name -> tensors), searched for
            NaN or inf when the heads are not finite.

    Raises:
        ShapeError: the heads hold NaN or inf (naming the observations that do).

    Returns:
        ``MixtureSameFamily(Categorical(logits), Independent(Normal(mean, std), 1))`` with
        batch shape ``*batch`` and event shape ``(A,)`` (tanh-wrapped if ``use_tanh``).
    """
    # float32 for the mixture: under bf16 autocast the heads come out of bf16 matmuls, and
    # log-probs, softplus and the mode logits need more than bf16's 3 digits.
    heads = {k: at_least_float32(v) for k, v in heads.items()}
    means = heads["mean"]
    if not use_tanh:
        means = torch.tanh(means)
    if low_noise:
        scales = torch.ones_like(means) * LOW_NOISE_STD
    elif std_activation == "softplus":
        scales = softplus(heads["scale"]) + min_std
    else:
        scales = torch.exp(heads["scale"]) + min_std
    # torch's argument check fails on an empty batch (a reshape of 0 elements): skip it there.
    validate = None if means.numel() else False
    try:
        components = Independent(Normal(loc=means, scale=scales, validate_args=validate), 1)
        mixture = Categorical(logits=heads["logits"], validate_args=validate)
    except ValueError as error:
        raise distribution_error(component, error, inputs or {}) from error
    dist: Distribution = MixtureSameFamily(
        mixture_distribution=mixture, component_distribution=components, validate_args=validate
    )
    if use_tanh:
        dist = TanhWrappedDistribution(base_dist=dist, scale=1.0)
    return dist


class GMMActorNetwork(ActorNetwork):
    """A policy that outputs a mixture of ``num_modes`` diagonal Gaussians over actions.

    Heads ``mean`` and ``scale`` ``(M, A)`` and ``logits`` ``(M,)`` (unnormalised mixture
    weights). Component means are squashed by ``tanh`` unless ``use_tanh``; component standard
    deviations are ``act(scale) + min_std``, or ``1e-4`` in eval mode with ``low_noise_eval``.

    Args:
        obs_shapes: Observation key -> shape without batch dimension.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the MLP (non-empty).
        num_modes: Number of mixture components ``M`` (>= 1).
        min_std: Floor added to every component's standard deviation.
        std_activation: ``"softplus"`` or ``"exp"``.
        low_noise_eval: Use standard deviation ``1e-4`` in eval mode. :meth:`forward` still
            samples: the mode is drawn from the mixture weights.
        use_tanh: Wrap the mixture in :class:`TanhWrappedDistribution`.
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (see :class:`ActorNetwork`).
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward_train(obs) -> distribution`` with batch shape ``(B,)`` and event shape
    ``(A,)``; ``forward(obs) -> (B, A)`` samples.

    Differences from robomimic: ``num_modes < 1`` and unknown ``std_activation`` values raise
    :class:`~obsnets.errors.ConfigError` (robomimic asserts or fails later); the tanh-wrapped
    mixture has a correct log-probability.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        mlp_layer_dims: Sequence[int],
        num_modes: int = 5,
        min_std: float = 0.01,
        std_activation: str = "softplus",
        low_noise_eval: bool = True,
        use_tanh: bool = False,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        set_gmm_options(self, num_modes, min_std, std_activation, low_noise_eval, use_tanh)
        super().__init__(
            obs_shapes=obs_shapes,
            ac_dim=ac_dim,
            mlp_layer_dims=mlp_layer_dims,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Decoder heads: ``mean``/``scale`` ``(M, A)`` and ``logits`` ``(M,)``."""
        return gmm_output_shapes(self.num_modes, self.ac_dim)

    def forward_train(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> Distribution:
        """The action mixture for a batch of observations.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.

        Returns:
            ``MixtureSameFamily`` with batch shape ``(B,)`` and event shape ``(A,)``.
        """
        return gmm_distribution(
            self._encode_heads(obs_dict, goal_dict),
            std_activation=self.std_activation,
            min_std=self.min_std,
            low_noise=self.low_noise_eval and not self.training,
            use_tanh=self.use_tanh,
            component=type(self).__name__,
            inputs={"obs_dict": obs_dict, "goal_dict": goal_dict},
        )

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Sampled actions ``(B, A)`` (the mode is drawn even in low-noise eval)."""
        return self.forward_train(obs_dict, goal_dict).sample()

    def _to_string(self) -> str:
        return (
            f"action_dim={self.ac_dim}, num_modes={self.num_modes}, min_std={self.min_std}, "
            f"std_activation={self.std_activation}, low_noise_eval={self.low_noise_eval}, "
            f"use_tanh={self.use_tanh}"
        )
