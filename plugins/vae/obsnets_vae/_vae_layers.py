"""Building the VAE's ``nets`` (encoder, decoder, prior) with robomimic's module layout."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets_vae.categorical_prior import CategoricalPrior
from obsnets_vae.gaussian_prior import GaussianPrior

if TYPE_CHECKING:
    from obsnets_vae.vae import VAE

__all__ = ["create_vae_nets"]


def create_vae_nets(
    vae: VAE,
    *,
    encoder_layer_dims: Sequence[int],
    decoder_layer_dims: Sequence[int],
    prior_layer_dims: Sequence[int],
    prior_gmm_num_modes: int,
    prior_gmm_learn_weights: bool,
    encoder_kwargs: dict[str, Any] | None,
    obs_modalities: Mapping[str, Sequence[str]] | None,
) -> nn.ModuleDict:
    """Return ``ModuleDict(encoder=MIMO_MLP, decoder=MIMO_MLP, prior=Prior)`` for ``vae``.

    Group order is robomimic's (``input``, ``condition``, ``goal``), so features are
    concatenated in the same order and checkpoints load unchanged.

    Args:
        vae: The VAE being built; its validated settings (shapes, flags) are read.
        encoder_layer_dims: Hidden layer sizes of the encoder MLP.
        decoder_layer_dims: Hidden layer sizes of the decoder MLP.
        prior_layer_dims: Hidden layer sizes of a conditioned prior's MLP.
        prior_gmm_num_modes: Number of GMM modes.
        prior_gmm_learn_weights: Learn the GMM weights.
        encoder_kwargs: Per-modality encoder settings.
        obs_modalities: Modality -> keys, ``"latent"`` included.
    """
    shared: dict[str, Any] = {"encoder_kwargs": encoder_kwargs, "obs_modalities": obs_modalities}
    conditions: OrderedDict[str, OrderedDict[str, tuple[int, ...]]] = OrderedDict()
    if vae._is_cvae:
        conditions["condition"] = vae.condition_shapes
        if vae._is_goal_conditioned:
            conditions["goal"] = vae.goal_shapes
    if vae.prior_use_categorical:
        heads = OrderedDict(logit=(vae._latent_size,))
    else:
        heads = OrderedDict(mean=(vae.latent_dim,), logvar=(vae.latent_dim,))

    nets = nn.ModuleDict()
    nets["encoder"] = MIMO_MLP(
        input_obs_group_shapes=OrderedDict(input=vae.input_shapes, **conditions),
        output_shapes=heads,
        layer_dims=encoder_layer_dims,
        **shared,
    )
    decoder_groups: OrderedDict[str, OrderedDict[str, tuple[int, ...]]] = OrderedDict(
        input=OrderedDict(latent=(vae._latent_size,))
    )
    if vae.decoder_is_conditioned:
        decoder_groups.update(conditions)
    nets["decoder"] = MIMO_MLP(
        input_obs_group_shapes=decoder_groups,
        output_shapes=vae.output_shapes,
        layer_dims=decoder_layer_dims,
        **shared,
    )
    prior_inputs: dict[str, Any] = {
        "obs_shapes": vae.condition_shapes if vae.prior_is_conditioned else None,
        "goal_shapes": vae.goal_shapes if vae.prior_is_conditioned else None,
        "mlp_layer_dims": prior_layer_dims,
        **shared,
    }
    if vae.prior_use_categorical:
        nets["prior"] = CategoricalPrior(
            vae.latent_dim, vae.prior_categorical_dim, learnable=vae.prior_learn, **prior_inputs
        )
    else:
        nets["prior"] = GaussianPrior(
            vae.latent_dim,
            latent_clip=vae.latent_clip,
            learnable=vae.prior_learn,
            use_gmm=vae.prior_use_gmm,
            gmm_num_modes=prior_gmm_num_modes,
            gmm_learn_weights=prior_gmm_learn_weights,
            **prior_inputs,
        )
    return nets
