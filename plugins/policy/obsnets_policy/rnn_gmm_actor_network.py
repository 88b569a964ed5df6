"""``RNNGMMActorNetwork``: a recurrent Gaussian-mixture policy (BC-RNN-GMM)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Distribution

from obsnets.blocks import RNNState
from obsnets_policy._common import ObsModalities
from obsnets_policy.gmm_actor_network import (
    gmm_distribution,
    gmm_output_shapes,
    set_gmm_options,
)
from obsnets_policy.rnn_actor_network import RNNActorNetwork

__all__ = ["RNNGMMActorNetwork"]


class RNNGMMActorNetwork(RNNActorNetwork):
    """A recurrent policy whose per-step output is a mixture of ``num_modes`` Gaussians.

    Per step, heads ``mean``/``scale`` ``(M, A)`` and ``logits`` ``(M,)`` parameterise the
    same mixture as :class:`~obsnets_policy.GMMActorNetwork`.

    Args:
        obs_shapes: Observation key -> shape without batch or time dimension.
        ac_dim: Action dimension ``A``.
        mlp_layer_dims: Hidden sizes of the per-step MLP after the RNN (may be empty).
        rnn_hidden_dim: RNN hidden size ``H``.
        rnn_num_layers: Number of stacked RNN layers ``L``.
        rnn_type: ``"LSTM"`` or ``"GRU"``.
        rnn_kwargs: Extra ``nn.LSTM``/``nn.GRU`` arguments.
        num_modes: Number of mixture components ``M`` (>= 1).
        min_std: Floor added to every component's standard deviation.
        std_activation: ``"softplus"`` or ``"exp"``.
        low_noise_eval: Use standard deviation ``1e-4`` in eval mode (the mode is still
            sampled).
        use_tanh: Wrap the mixture in :class:`~obsnets_policy.TanhWrappedDistribution`.
        goal_shapes: Goal key -> shape; a goal ``(B, ...)`` is repeated over time.
        encoder_kwargs: Per-modality encoder settings (see ``ActorNetwork``).
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward_train({k: (B, T, ...)})`` -> distribution with batch shape ``(B, T)``
    and event shape ``(A,)``; ``forward_train_step({k: (B, ...)}, state)`` -> (distribution
    with batch shape ``(B,)``, state); ``forward_step`` -> (``(B, A)`` samples, state).

    Differences from robomimic: ``forward_train_step`` builds the one-step distribution from
    the head outputs through the same code as ``forward_train``, so it works with
    ``use_tanh=True`` (robomimic raised ``AttributeError`` and would have dropped the tanh);
    ``num_modes < 1`` and unknown ``std_activation`` values raise
    :class:`~obsnets.errors.ConfigError`.
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
            rnn_hidden_dim=rnn_hidden_dim,
            rnn_num_layers=rnn_num_layers,
            rnn_type=rnn_type,
            rnn_kwargs=rnn_kwargs,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )

    def _get_output_shapes(self) -> OrderedDict[str, tuple[int, ...]]:
        """Per-step heads: ``mean``/``scale`` ``(M, A)`` and ``logits`` ``(M,)``."""
        return gmm_output_shapes(self.num_modes, self.ac_dim)

    def _distribution(
        self, heads: Mapping[str, torch.Tensor], inputs: Mapping[str, Any]
    ) -> Distribution:
        return gmm_distribution(
            heads,
            std_activation=self.std_activation,
            min_std=self.min_std,
            low_noise=self.low_noise_eval and not self.training,
            use_tanh=self.use_tanh,
            component=type(self).__name__,
            inputs=inputs,
        )

    def forward_train(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_init_state: RNNState | None = None,
        return_state: bool = False,
    ) -> Any:
        """Per-step action mixtures for observation sequences.

        Args:
            obs_dict: ``{key: (B, T, *obs_shapes[key])}``.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.
            rnn_init_state: Initial RNN state; zeros when ``None``.
            return_state: Also return the final RNN state.

        Returns:
            A distribution with batch shape ``(B, T)`` and event shape ``(A,)``, and the final
            state if asked.
        """
        heads, state = self._run_rnn(obs_dict, goal_dict, rnn_init_state)
        dist = self._distribution(heads, {"obs_dict": obs_dict, "goal_dict": goal_dict})
        return (dist, state) if return_state else dist

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_init_state: RNNState | None = None,
        return_state: bool = False,
    ) -> Any:
        """Sampled actions ``(B, T, A)`` (and the final state if asked)."""
        dist, state = self.forward_train(
            obs_dict, goal_dict, rnn_init_state=rnn_init_state, return_state=True
        )
        actions = dist.sample()
        return (actions, state) if return_state else actions

    def forward_train_step(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_state: RNNState | None = None,
    ) -> tuple[Distribution, RNNState]:
        """The action mixture for one step of observations, and the next RNN state.

        Args:
            obs_dict: ``{key: (B, *obs_shapes[key])}``, the current observation.
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.
            rnn_state: The previous step's state; zeros when ``None``.

        Returns:
            A distribution with batch shape ``(B,)`` and event shape ``(A,)`` (tanh-wrapped
            when ``use_tanh``), and the new state.
        """
        sequence = {k: v.unsqueeze(1) for k, v in obs_dict.items()}
        heads, state = self._run_rnn(sequence, goal_dict, rnn_state)
        step_heads = {k: v[:, 0] for k, v in heads.items()}
        inputs = {"obs_dict": obs_dict, "goal_dict": goal_dict}
        return self._distribution(step_heads, inputs), state

    def forward_step(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        rnn_state: RNNState | None = None,
    ) -> tuple[torch.Tensor, RNNState]:
        """One control step: sampled ``(B, A)`` actions and the new RNN state."""
        dist, state = self.forward_train_step(obs_dict, goal_dict, rnn_state)
        return dist.sample(), state

    def _to_string(self) -> str:
        return (
            f"action_dim={self.ac_dim}, std_activation={self.std_activation}, "
            f"low_noise_eval={self.low_noise_eval}, num_modes={self.num_modes}, "
            f"min_std={self.min_std}, use_tanh={self.use_tanh}"
        )
