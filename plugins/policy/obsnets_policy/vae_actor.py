"""``VAEActor``: a conditional VAE over actions whose prior and decoder form the policy."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.bases import NetworkBase
from obsnets.encoders import with_low_dim_keys
from obsnets_policy._common import ObsModalities, check_actions, check_goal
from obsnets_vae import VAE

__all__ = ["VAEActor"]

ACTION_KEY = "action"


class VAEActor(NetworkBase):
    """A cVAE over actions conditioned on observations (and goals).

    Training (:meth:`forward_train`) encodes the action with the observation into a latent,
    decodes it back and returns the VAE losses. At test time (:meth:`forward`) a latent is
    drawn from the prior (conditioned on the observation if ``prior_is_conditioned``) and
    decoded; the decoder squashes actions with ``tanh`` into ``[-1, 1]``.

    The VAE lives under ``_vae`` (robomimic's state_dict keys ``_vae.nets.*``).

    Args:
        obs_shapes: Observation key -> shape without batch dimension (the condition).
        ac_dim: Action dimension ``A``.
        encoder_layer_dims: Hidden sizes of the VAE encoder MLP.
        decoder_layer_dims: Hidden sizes of the VAE decoder MLP.
        latent_dim: Latent size ``D``.
        device: Device on which prior samples are drawn.
        decoder_is_conditioned: Whether the decoder sees the observation.
        decoder_reconstruction_sum_across_elements: Reconstruction loss as a sum over elements
            divided by the batch size, instead of a mean.
        latent_clip: If set, clamp prior samples to ``[-latent_clip, latent_clip]``.
        prior_learn: Learn the prior's parameters.
        prior_is_conditioned: Make the prior a function of the observation (needs
            ``prior_learn``).
        prior_layer_dims: Hidden sizes of the conditioned prior's MLP.
        prior_use_gmm: Use a Gaussian-mixture prior (needs ``prior_learn``).
        prior_gmm_num_modes: Number of prior mixture components.
        prior_gmm_learn_weights: Learn the mixture weights.
        prior_use_categorical: Use a categorical (Gumbel-softmax) latent instead.
        prior_categorical_dim: Number of classes per categorical latent.
        prior_categorical_gumbel_softmax_hard: Straight-through (hard) Gumbel-softmax.
        goal_shapes: Goal key -> shape; non-empty makes the policy goal-conditioned.
        encoder_kwargs: Per-modality encoder settings (see ``ActorNetwork``).
        obs_modalities: Modality -> observation keys; ``action`` is added under ``low_dim``.

    Shapes: ``forward(obs) -> (B, A)``; ``encode((B, A), obs) -> {"mean": (B, D), "logvar":
    (B, D)}`` (``{"logit": (B, D * C)}`` for a categorical latent).

    Differences from robomimic: ``actions`` of the wrong width raise
    :class:`~obsnets.errors.ShapeError`, and a missing ``goal_dict`` on a goal-conditioned
    actor raises :class:`~obsnets.errors.InvalidKwargsError` (robomimic failed inside the
    encoder). Behaviour of the VAE itself is that of ``obsnets_vae.VAE``.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        encoder_layer_dims: Sequence[int],
        decoder_layer_dims: Sequence[int],
        latent_dim: int,
        device: torch.device | str,
        decoder_is_conditioned: bool = True,
        decoder_reconstruction_sum_across_elements: bool = False,
        latent_clip: float | None = None,
        prior_learn: bool = False,
        prior_is_conditioned: bool = False,
        prior_layer_dims: Sequence[int] = (),
        prior_use_gmm: bool = False,
        prior_gmm_num_modes: int = 10,
        prior_gmm_learn_weights: bool = False,
        prior_use_categorical: bool = False,
        prior_categorical_dim: int = 10,
        prior_categorical_gumbel_softmax_hard: bool = False,
        goal_shapes: Mapping[str, Sequence[int]] | None = None,
        encoder_kwargs: Mapping[str, Any] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        super().__init__()
        self.obs_shapes = OrderedDict(obs_shapes)
        self.ac_dim = int(ac_dim)
        self.goal_shapes = OrderedDict(goal_shapes or {})
        action_shapes = OrderedDict([(ACTION_KEY, (self.ac_dim,))])
        self._vae = VAE(
            input_shapes=action_shapes,
            output_shapes=action_shapes,
            encoder_layer_dims=encoder_layer_dims,
            decoder_layer_dims=decoder_layer_dims,
            latent_dim=latent_dim,
            device=device,
            condition_shapes=self.obs_shapes,
            decoder_is_conditioned=decoder_is_conditioned,
            decoder_reconstruction_sum_across_elements=decoder_reconstruction_sum_across_elements,
            latent_clip=latent_clip,
            output_squash=[ACTION_KEY],  # decoded actions are tanh-squashed into [-1, 1]
            output_scales=OrderedDict([(ACTION_KEY, 1.0)]),
            prior_learn=prior_learn,
            prior_is_conditioned=prior_is_conditioned,
            prior_layer_dims=prior_layer_dims,
            prior_use_gmm=prior_use_gmm,
            prior_gmm_num_modes=prior_gmm_num_modes,
            prior_gmm_learn_weights=prior_gmm_learn_weights,
            prior_use_categorical=prior_use_categorical,
            prior_categorical_dim=prior_categorical_dim,
            prior_categorical_gumbel_softmax_hard=prior_categorical_gumbel_softmax_hard,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=with_low_dim_keys(obs_modalities, [ACTION_KEY], component="VAEActor"),
        )

    def _check_goal(self, goal_dict: Any) -> None:
        check_goal(type(self).__name__, self.goal_shapes, goal_dict)

    def encode(
        self,
        actions: torch.Tensor,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Posterior parameters of the latent given actions ``(B, A)`` and observations."""
        check_actions(type(self).__name__, actions, self.ac_dim)
        self._check_goal(goal_dict)
        inputs = OrderedDict([(ACTION_KEY, actions)])
        return self._vae.encode(inputs=inputs, conditions=obs_dict, goals=goal_dict)

    def decode(
        self,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        z: torch.Tensor | None = None,
        n: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Decode latents ``z`` ``(B, D)`` (or ``n`` prior samples) into ``{"action": (B, A)}``."""
        self._check_goal(goal_dict)
        return self._vae.decode(conditions=obs_dict, goals=goal_dict, z=z, n=n)

    def sample_prior(
        self,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        n: int | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` latents ``(n, D)`` from the prior (conditioned on ``obs_dict`` if it is)."""
        return self._vae.sample_prior(n=n, conditions=obs_dict, goals=goal_dict)

    def set_gumbel_temperature(self, temperature: float) -> None:
        """Set the Gumbel-softmax temperature (categorical latents only)."""
        self._vae.set_gumbel_temperature(temperature)

    def get_gumbel_temperature(self) -> float:
        """The Gumbel-softmax temperature (categorical latents only)."""
        return self._vae.get_gumbel_temperature()

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[A]``: one action per sample."""
        return [self.ac_dim]

    def forward_train(
        self,
        actions: torch.Tensor,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        freeze_encoder: bool = False,
    ) -> dict[str, Any]:
        """Encode, reparameterise and decode ``actions`` ``(B, A)``; return the VAE's outputs.

        Returns:
            ``{"encoder_params", "encoder_z", "decoder_outputs", "kl_loss",
            "reconstruction_loss"}`` as computed by the VAE.
        """
        check_actions(type(self).__name__, actions, self.ac_dim)
        self._check_goal(goal_dict)
        action_inputs = OrderedDict([(ACTION_KEY, actions)])
        return self._vae.forward(
            inputs=action_inputs,
            outputs=action_inputs,
            conditions=obs_dict,
            goals=goal_dict,
            freeze_encoder=freeze_encoder,
        )

    def forward(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        goal_dict: Mapping[str, torch.Tensor] | None = None,
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Actions ``(B, A)`` in ``[-1, 1]``: decode ``z``, or one prior sample per row."""
        n = None
        if z is None:
            n = int(next(iter(obs_dict.values())).shape[0])
        return self.decode(obs_dict=obs_dict, goal_dict=goal_dict, z=z, n=n)[ACTION_KEY]
