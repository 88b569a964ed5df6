"""``VAE``: a (conditional) variational autoencoder over observation dictionaries."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import torch
from torch.nn.functional import gumbel_softmax

from obsnets.bases import NetworkBase
from obsnets.encoders import with_low_dim_keys
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, format_shape
from obsnets_vae._checks import ordered_shapes, require_group
from obsnets_vae._losses import reparameterize_gaussian, squared_error_loss
from obsnets_vae._vae_layers import create_vae_nets
from obsnets_vae._vae_options import check_vae_options
from obsnets_vae.prior import Prior

__all__ = ["VAE"]

Shapes = Mapping[str, Sequence[int]]
TensorDict = Mapping[str, torch.Tensor]


class VAE(NetworkBase):
    """A variational autoencoder for ``p(X)`` or, given conditions ``Y``, ``p(X | Y)`` (cVAE).

    ``X`` (``input_shapes``) and ``Y`` (``condition_shapes``) are observation dictionaries of
    any modality with an installed encoder (images, vectors, ...). The encoder ``nets.encoder``
    (a ``MIMO_MLP`` over groups ``input``, ``condition``, ``goal``) outputs the posterior
    (``mean``/``logvar`` ``(B, D)``, or ``logit`` ``(B, D * C)`` for a categorical latent);
    the decoder ``nets.decoder`` maps the latent (observation key ``"latent"``, plus the
    conditions when ``decoder_is_conditioned``) to ``output_shapes``, which may differ from
    ``input_shapes`` (asymmetric reconstruction, e.g. low-resolution images); ``nets.prior``
    is a :class:`GaussianPrior` (N(0, 1), learned, GMM) or a :class:`CategoricalPrior`
    (Gumbel-softmax reparameterisation), optionally conditioned on ``Y``.

    Args:
        input_shapes: Key -> shape of the modelled variable ``X``.
        output_shapes: Key -> shape of the reconstructions.
        encoder_layer_dims: Hidden layer sizes of the encoder MLP.
        decoder_layer_dims: Hidden layer sizes of the decoder MLP.
        latent_dim: Latent size ``D``.
        device: Accepted for robomimic compatibility and otherwise unused: computation
            follows the device of the parameters and inputs (move the VAE with ``.to()``).
        condition_shapes: Key -> shape of the conditioning variable ``Y``; non-empty makes a
            cVAE.
        decoder_is_conditioned: Feed ``Y`` (and goals) to the decoder (cVAE only).
        decoder_reconstruction_sum_across_elements: Reconstruction loss as the total squared
            error divided by B, instead of the mean per key averaged over keys.
        latent_clip: Clamp prior samples to ``[-clip, clip]`` (Gaussian priors).
        output_squash: Output keys squashed to ``scale * tanh(.)``.
        output_scales: Output key -> scale, one per key of ``output_squash``.
        output_ranges: Output key -> ``(a, b)``: output ``a + (b - a) * sigmoid(.)``.
        prior_learn: Learn the prior (required for GMM and conditioned priors).
        prior_is_conditioned: Compute the prior's parameters from ``Y`` (and goals).
        prior_layer_dims: Hidden layer sizes of the conditioned prior's MLP.
        prior_use_gmm: Gaussian-mixture prior.
        prior_gmm_num_modes: Number of mixture modes.
        prior_gmm_learn_weights: Learn the mixture weights (uniform otherwise).
        prior_use_categorical: Categorical latents (``D`` latents with ``C`` classes).
        prior_categorical_dim: ``C``.
        prior_categorical_gumbel_softmax_hard: Straight-through one-hot Gumbel-softmax.
        goal_shapes: Key -> shape of goals, extra conditioning inputs (cVAE only).
        encoder_kwargs: Per-modality encoder settings for all MLPs' observation encoders.
        obs_modalities: Modality -> observation keys; ``"latent"`` is added under
            ``low_dim`` automatically.

    Differences from robomimic: ``decoder_is_conditioned=False`` is honoured (robomimic
    always fed ``Y`` to the decoder of a cVAE, so its checkpoints for that setting carry a
    conditioned decoder: build those with ``True``); invalid option combinations (GMM with
    categorical, GMM or conditioned prior without ``prior_learn``, ``prior_is_conditioned``
    without conditions, ...) and missing inputs raise obsnets errors; ``device`` is unused.
    State-dict keys are robomimic's (``nets.encoder.*``, ``nets.decoder.*``,
    ``nets.prior.prior_params.*`` / ``nets.prior.prior_module.*``).
    """

    def __init__(
        self,
        input_shapes: Shapes,
        output_shapes: Shapes,
        encoder_layer_dims: Sequence[int],
        decoder_layer_dims: Sequence[int],
        latent_dim: int,
        device: str | torch.device | None = None,
        condition_shapes: Shapes | None = None,
        decoder_is_conditioned: bool = True,
        decoder_reconstruction_sum_across_elements: bool = False,
        latent_clip: float | None = None,
        output_squash: Collection[str] = (),
        output_scales: Mapping[str, float] | None = None,
        output_ranges: Mapping[str, Sequence[float]] | None = None,
        prior_learn: bool = False,
        prior_is_conditioned: bool = False,
        prior_layer_dims: Sequence[int] = (),
        prior_use_gmm: bool = False,
        prior_gmm_num_modes: int = 10,
        prior_gmm_learn_weights: bool = False,
        prior_use_categorical: bool = False,
        prior_categorical_dim: int = 10,
        prior_categorical_gumbel_softmax_hard: bool = False,
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__()
        self.input_shapes = ordered_shapes(input_shapes)
        self.output_shapes = ordered_shapes(output_shapes)
        self.condition_shapes = ordered_shapes(condition_shapes)
        self.goal_shapes = ordered_shapes(goal_shapes)
        self._is_cvae = len(self.condition_shapes) > 0
        self._is_goal_conditioned = len(self.goal_shapes) > 0
        check_vae_options(
            input_shapes=self.input_shapes,
            output_shapes=self.output_shapes,
            is_cvae=self._is_cvae,
            goal_conditioned=self._is_goal_conditioned,
            decoder_is_conditioned=decoder_is_conditioned,
            output_squash=output_squash,
            output_scales=output_scales,
            output_ranges=output_ranges,
            prior_learn=prior_learn,
            prior_is_conditioned=prior_is_conditioned,
            prior_use_gmm=prior_use_gmm,
            prior_use_categorical=prior_use_categorical,
        )
        self.latent_dim = int(latent_dim)
        self.latent_clip = latent_clip
        self.decoder_is_conditioned = self._is_cvae and bool(decoder_is_conditioned)
        self.prior_is_conditioned = self._is_cvae and bool(prior_is_conditioned)
        self.decoder_reconstruction_sum_across_elements = bool(
            decoder_reconstruction_sum_across_elements
        )
        self.output_squash = tuple(output_squash)
        self.output_scales = OrderedDict((k, float(v)) for k, v in (output_scales or {}).items())
        self.output_ranges = OrderedDict(
            (k, (float(v[0]), float(v[1]))) for k, v in (output_ranges or {}).items()
        )
        self.prior_learn = bool(prior_learn)
        self.prior_use_gmm = bool(prior_use_gmm)
        self.prior_use_categorical = bool(prior_use_categorical)
        self.prior_categorical_dim = int(prior_categorical_dim)
        self.prior_categorical_gumbel_softmax_hard = bool(prior_categorical_gumbel_softmax_hard)
        self._gumbel_temperature = 1.0
        self._latent_size = self.latent_dim * (
            self.prior_categorical_dim if self.prior_use_categorical else 1
        )
        self.nets = create_vae_nets(
            self,
            encoder_layer_dims=encoder_layer_dims,
            decoder_layer_dims=decoder_layer_dims,
            prior_layer_dims=prior_layer_dims,
            prior_gmm_num_modes=prior_gmm_num_modes,
            prior_gmm_learn_weights=prior_gmm_learn_weights,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=with_low_dim_keys(obs_modalities, ["latent"], component="VAE"),
        )

    @property
    def _prior(self) -> Prior:
        return cast(Prior, self.nets["prior"])

    @property
    def device(self) -> torch.device:
        """The device of the VAE's parameters (follows ``.to()``)."""
        return next(self.parameters()).device

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """Output key -> reconstruction shape (without batch dimension)."""
        return {k: list(v) for k, v in self.output_shapes.items()}

    def _require_conditions(
        self, method: str, conditions: TensorDict | None, goals: TensorDict | None
    ) -> None:
        require_group(f"VAE.{method}", "conditions", conditions, self.condition_shapes)
        require_group(f"VAE.{method}", "goals", goals, self.goal_shapes)

    def encode(
        self,
        inputs: TensorDict,
        conditions: TensorDict | None = None,
        goals: TensorDict | None = None,
    ) -> dict[str, torch.Tensor]:
        """Compute the posterior parameters.

        Args:
            inputs: Input key -> ``(B, *shape)`` tensor (``X``).
            conditions: Condition key -> ``(B, *shape)`` tensor (``Y``; cVAE only).
            goals: Goal key -> ``(B, *shape)`` tensor (goal-conditioned cVAE only).

        Returns:
            ``mean`` and ``logvar`` ``(B, D)``, or ``logit`` ``(B, D * C)`` if categorical.
        """
        require_group("VAE.encode", "inputs", inputs, self.input_shapes)
        self._require_conditions("encode", conditions, goals)
        return self.nets["encoder"](input=inputs, condition=conditions, goal=goals)

    def reparameterize(self, posterior_params: TensorDict) -> torch.Tensor:
        """Draw differentiable latents ``(B, D)`` (or ``(B, D * C)``) from the posterior.

        Gaussian: ``mean + exp(clamp(logvar / 2, -4, 15)) * eps``. Categorical:
        Gumbel-softmax over each latent's ``C`` classes at the current temperature.
        """
        if self.prior_use_categorical:
            logits = posterior_params["logit"].reshape(
                -1, self.latent_dim, self.prior_categorical_dim
            )
            z = gumbel_softmax(
                logits,
                tau=self._gumbel_temperature,
                hard=self.prior_categorical_gumbel_softmax_hard,
                dim=-1,
            )
            return z.reshape(z.shape[0], -1)
        return reparameterize_gaussian(posterior_params["mean"], posterior_params["logvar"])

    def decode(
        self,
        conditions: TensorDict | None = None,
        goals: TensorDict | None = None,
        z: torch.Tensor | None = None,
        n: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Reconstruct outputs from latents ``z`` (or from ``n`` prior samples).

        Args:
            conditions: Condition key -> ``(B, *shape)`` tensor (cVAE only).
            goals: Goal key -> ``(B, *shape)`` tensor (goal-conditioned cVAE only).
            z: ``(B, D)`` (or ``(B, D * C)``) latents; drawn from the prior when ``None``.
            n: Number of prior samples when ``z`` is ``None``.

        Returns:
            Output key -> ``(B, *output_shape)``, squashed / ranged as configured.
        """
        if z is None:
            if n is None:
                raise InvalidKwargsError(
                    "VAE.decode needs latents z or a number n of prior samples to draw."
                )
            z = self.sample_prior(n, conditions=conditions, goals=goals)
        if z.dim() != 2 or z.shape[1] != self._latent_size:
            raise ShapeError(
                f"VAE.decode expects latents z of shape (B, {self._latent_size}); got "
                f"{format_shape(z.shape)}."
            )
        if self.decoder_is_conditioned:
            self._require_conditions("decode", conditions, goals)
            recons = self.nets["decoder"](input={"latent": z}, condition=conditions, goal=goals)
        else:
            recons = self.nets["decoder"](input={"latent": z})
        for key in self.output_squash:
            recons[key] = self.output_scales[key] * torch.tanh(recons[key])
        for key, (low, high) in self.output_ranges.items():
            recons[key] = torch.sigmoid(recons[key]) * (high - low) + low
        return recons

    def sample_prior(
        self, n: int, conditions: TensorDict | None = None, goals: TensorDict | None = None
    ) -> torch.Tensor:
        """Draw ``n`` latents from the prior (conditioned on ``conditions`` if it is)."""
        return self._prior.sample(n, obs_dict=conditions, goal_dict=goals)

    def kl_loss(
        self,
        posterior_params: TensorDict,
        encoder_z: torch.Tensor | None = None,
        conditions: TensorDict | None = None,
        goals: TensorDict | None = None,
    ) -> torch.Tensor:
        """KL between the posterior and the prior (a scalar; see the prior's ``kl_loss``)."""
        return self._prior.kl_loss(
            posterior_params, z=encoder_z, obs_dict=conditions, goal_dict=goals
        )

    def reconstruction_loss(self, reconstructions: TensorDict, targets: TensorDict) -> torch.Tensor:
        """Squared-error reconstruction loss (a scalar).

        By default the mean squared error of each key, averaged over keys; with
        ``decoder_reconstruction_sum_across_elements`` the total squared error divided by B.

        Args:
            reconstructions: Output key -> ``(B, *output_shape)``.
            targets: The same keys and shapes.
        """
        return squared_error_loss(
            "VAE.reconstruction_loss",
            reconstructions,
            targets,
            sum_across_elements=self.decoder_reconstruction_sum_across_elements,
        )

    def forward(
        self,
        inputs: TensorDict,
        outputs: TensorDict,
        conditions: TensorDict | None = None,
        goals: TensorDict | None = None,
        freeze_encoder: bool = False,
    ) -> OrderedDict[str, Any]:
        """Encode, sample, decode and compute both losses.

        Args:
            inputs: Input key -> ``(B, *shape)`` tensor.
            outputs: Reconstruction targets, output key -> ``(B, *output_shape)``.
            conditions: Condition key -> ``(B, *shape)`` tensor (cVAE only).
            goals: Goal key -> ``(B, *shape)`` tensor (goal-conditioned cVAE only).
            freeze_encoder: Detach the posterior parameters (no gradient into the encoder).

        Returns:
            ``encoder_params`` (dict), ``encoder_z`` ``(B, latent)``, ``decoder_outputs``
            (dict), ``kl_loss`` and ``reconstruction_loss`` (scalars).
        """
        params = self.encode(inputs, conditions=conditions, goals=goals)
        if freeze_encoder:
            params = {k: v.detach() for k, v in params.items()}
        z = self.reparameterize(params)
        recons = self.decode(conditions=conditions, goals=goals, z=z)
        return OrderedDict(
            encoder_params=params,
            encoder_z=z,
            decoder_outputs=recons,
            kl_loss=self.kl_loss(params, encoder_z=z, conditions=conditions, goals=goals),
            reconstruction_loss=self.reconstruction_loss(recons, outputs),
        )

    def set_gumbel_temperature(self, temperature: float) -> None:
        """Set the Gumbel-softmax temperature (categorical latents only; must be > 0)."""
        self._require_categorical("set_gumbel_temperature")
        if not float(temperature) > 0:
            raise ConfigError(f"VAE: the Gumbel temperature must be > 0; got {temperature!r}.")
        self._gumbel_temperature = float(temperature)

    def get_gumbel_temperature(self) -> float:
        """The current Gumbel-softmax temperature (categorical latents only)."""
        self._require_categorical("get_gumbel_temperature")
        return self._gumbel_temperature

    def _require_categorical(self, method: str) -> None:
        if not self.prior_use_categorical:
            raise ConfigError(
                f"VAE.{method}: the Gumbel temperature exists only with prior_use_categorical=True."
            )
