"""``TransformerGMMActorNetwork``: a GPT policy with a Gaussian-mixture action head per step."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Distribution

from obsnets_policy._common import ObsModalities
from obsnets_policy.gmm_actor_network import (
    gmm_distribution,
    gmm_output_shapes,
    set_gmm_options,
)
from obsnets_transformer.transformer_actor_network import TransformerActorNetwork

__all__ = ["TransformerGMMActorNetwork"]


class TransformerGMMActorNetwork(TransformerActorNetwork):
    """A transformer policy that outputs a mixture of ``num_modes`` Gaussians at every step.

    Heads ``mean`` and ``scale`` ``(M, A)`` and ``logits`` ``(M,)`` per step; the mixture is
    obsnets-policy's (the same as :class:`~obsnets_policy.GMMActorNetwork`'s): means squashed
    by ``tanh`` unless ``use_tanh`` (then the mixture is tanh-wrapped), standard deviations
    ``act(scale) + min_std``, or ``1e-4`` in eval mode with ``low_noise_eval``.

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
        num_modes: Mixture components ``M`` (>= 1).
        min_std: Floor added to every component's standard deviation.
        std_activation: ``"softplus"`` or ``"exp"``.
        low_noise_eval: Use standard deviation ``1e-4`` in eval mode.
        use_tanh: Wrap the mixture in ``TanhWrappedDistribution``.
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned.
        encoder_kwargs: Per-modality encoder settings.
        obs_modalities: Modality -> observation keys.

    Shapes: ``forward_train(obs) -> distribution`` with batch shape ``(B, T)`` and event shape
    ``(A,)``; ``forward(obs) -> (B, T, A)`` samples.

    Differs from robomimic: ``num_modes < 1`` and unknown ``std_activation`` values raise
    :class:`~obsnets.errors.ConfigError` (robomimic asserted); ``actions`` other than ``None``
    are refused (robomimic ignored them).
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
        actions: None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        low_noise_eval: bool | None = None,
    ) -> Distribution:
        """The action mixture at every step.

        Args:
            obs_dict: ``{key: (B, T, *obs_shapes[key])}``.
            actions: Must be ``None`` (kept for robomimic's call signature).
            goal_dict: ``{key: (B, *goal_shapes[key])}``; required when goal-conditioned.
            low_noise_eval: Overrides the constructor's setting for this call (``None``:
                keep it), as robomimic's BC-Transformer-GMM does.

        Returns:
            ``MixtureSameFamily`` with batch shape ``(B, T)`` and event shape ``(A,)``.
        """
        low_noise = self.low_noise_eval if low_noise_eval is None else bool(low_noise_eval)
        return gmm_distribution(
            self._encode_heads(obs_dict, actions, goal_dict),
            std_activation=self.std_activation,
            min_std=self.min_std,
            low_noise=low_noise and not self.training,
            use_tanh=self.use_tanh,
            component=type(self).__name__,
            inputs={"obs_dict": obs_dict, "goal_dict": goal_dict},
        )

    def forward(  # type: ignore[override]
        self,
        obs_dict: Mapping[str, torch.Tensor],
        actions: None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Sampled actions ``(B, T, A)`` (a mode is drawn at every step, also in low-noise eval)."""
        return self.forward_train(obs_dict, actions, goal_dict).sample()

    def _to_string(self) -> str:
        return (
            f"action_dim={self.ac_dim}, num_modes={self.num_modes}, min_std={self.min_std}, "
            f"std_activation={self.std_activation}, low_noise_eval={self.low_noise_eval}, "
            f"use_tanh={self.use_tanh}"
        )
