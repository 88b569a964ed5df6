"""``GaussianPrior``: N(0, 1), a learned Gaussian, or a learned Gaussian mixture prior."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Categorical
from torch.nn.functional import log_softmax

from obsnets.errors import ConfigError, InvalidKwargsError
from obsnets.precision import at_least_float32
from obsnets.validation import check_int
from obsnets_vae._losses import (
    kl_gaussians,
    kl_standard_normal,
    log_normal,
    log_normal_mixture,
    reparameterize_gaussian,
)
from obsnets_vae.prior import Prior

__all__ = ["GaussianPrior"]

Shapes = Mapping[str, Sequence[int]]


class GaussianPrior(Prior):
    """A Gaussian latent prior: fixed N(0, 1), a learned Gaussian, or a learned GMM.

    With ``learnable=False`` the prior is N(0, I) and has no parameters. Otherwise it has
    means and log-variances for ``M`` modes (``M = gmm_num_modes`` with ``use_gmm``, else 1),
    plus mixture weights with ``gmm_learn_weights`` (uniform weights otherwise); they are
    free parameters, or outputs of an MLP over ``obs_shapes`` when that is non-empty.

    Args:
        latent_dim: Latent size ``D``.
        device: Accepted for robomimic compatibility and otherwise unused: the prior samples
            on the device of its parameters or inputs (it follows ``.to()``).
        latent_clip: If set, samples from :meth:`sample` are clamped to ``[-clip, clip]``.
        learnable: Learn the prior's parameters (required for GMM and conditioning).
        use_gmm: Use a mixture of ``gmm_num_modes`` Gaussians.
        gmm_num_modes: Number of mixture modes ``M``.
        gmm_learn_weights: Learn the mixture weights (uniform otherwise).
        obs_shapes: Observation key -> shape; non-empty makes the parameters functions of
            these observations.
        mlp_layer_dims: Hidden layer sizes of that MLP.
        goal_shapes: Goal key -> shape, extra MLP inputs.
        encoder_kwargs: Per-modality encoder settings for the MLP's observation encoders.
        obs_modalities: Modality -> observation keys, for those encoders.

    KL (:meth:`kl_loss`): closed form against N(0, I) or the learned Gaussian; for a GMM the
    single-sample estimate ``log q(z | x) - log p(z)`` at the given ``z`` (log-variances
    clamped to ``[-8, 30]``), averaged over the batch -- it can be negative.

    Differences from robomimic: invalid option combinations raise
    :class:`~obsnets.errors.ConfigError` instead of ``AssertionError``; an unlearned prior
    answers :meth:`output_shape` with ``{}``; ``device`` is not used (see above);
    :meth:`forward`'s ``logweights`` is always a tensor -- uniform ``-log M`` when the
    weights are not learned (robomimic returned ``None``), so every prior has one output
    layout.
    """

    def __init__(
        self,
        latent_dim: int,
        device: str | torch.device | None = None,
        latent_clip: float | None = None,
        learnable: bool = False,
        use_gmm: bool = False,
        gmm_num_modes: int = 10,
        gmm_learn_weights: bool = False,
        obs_shapes: Shapes | None = None,
        mlp_layer_dims: Sequence[int] = (),
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        name = type(self).__name__
        input_dependent = obs_shapes is not None and len(obs_shapes) > 0
        latent_dim = check_int(name, "latent_dim", latent_dim, low=1)
        if input_dependent and not learnable:
            raise ConfigError(
                f"{name}: a prior conditioned on observations (obs_shapes given) must be "
                "learned; set learnable=True or drop obs_shapes."
            )
        if use_gmm and not learnable:
            raise ConfigError(f"{name}: a GMM prior must be learned; set learnable=True.")
        if use_gmm and int(gmm_num_modes) < 1:
            raise ConfigError(f"{name}: gmm_num_modes must be >= 1; got {gmm_num_modes!r}.")
        if latent_clip is not None and not float(latent_clip) > 0:
            raise ConfigError(f"{name}: latent_clip must be positive; got {latent_clip!r}.")
        num_modes = int(gmm_num_modes) if use_gmm else 1
        learn_weights = bool(use_gmm and gmm_learn_weights)
        param_shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        if learnable:
            lead = () if input_dependent else (1,)
            param_shapes["mean"] = (*lead, num_modes, latent_dim)
            param_shapes["logvar"] = (*lead, num_modes, latent_dim)
            if learn_weights:
                param_shapes["weight"] = (*lead, num_modes)
        super().__init__(
            param_shapes=param_shapes,
            param_obs_dependent=OrderedDict((k, input_dependent) for k in param_shapes),
            obs_shapes=obs_shapes,
            mlp_layer_dims=mlp_layer_dims,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        self.latent_dim = latent_dim
        self.latent_clip = None if latent_clip is None else float(latent_clip)
        self.learnable = bool(learnable)
        self.use_gmm = bool(use_gmm)
        self.num_modes = num_modes
        self.gmm_learn_weights = learn_weights
        self._input_dependent = input_dependent

    def _require_learnable(self, method: str) -> None:
        if not self.learnable:
            raise ConfigError(
                f"{type(self).__name__}.{method}: a fixed N(0, 1) prior (learnable=False) has "
                "no parameters to compute."
            )

    def forward(
        self,
        batch_size: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Compute the prior's parameters.

        Args:
            batch_size: ``B``.
            obs_dict: Observation key -> ``(B, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(B, ...)`` tensor (goal-conditioned priors).

        Returns:
            ``means`` ``(B, M, D)``, ``logvars`` ``(B, M, D)`` and ``logweights`` ``(B, M)``,
            the normalised log mixture weights (uniform, ``-log M``, unless learned).
        """
        self._require_learnable("forward")
        params = super().forward(batch_size, obs_dict=obs_dict, goal_dict=goal_dict)
        means = params["mean"]
        if self.gmm_learn_weights:
            logweights = log_softmax(params["weight"], dim=-1)
        else:
            logweights = means.new_full((means.shape[0], self.num_modes), -math.log(self.num_modes))
        return {"means": means, "logvars": params["logvar"], "logweights": logweights}

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """Per-sample shapes of :meth:`forward`'s outputs (``{}`` for N(0, 1))."""
        if not self.learnable:
            return {}
        return {
            "means": [self.num_modes, self.latent_dim],
            "logvars": [self.num_modes, self.latent_dim],
            "logweights": [self.num_modes],
        }

    def sample(
        self,
        n: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` latents ``(n, D)`` (clamped to ``latent_clip`` when set).

        Args:
            n: Number of samples; must equal the batch size of ``obs_dict`` if conditioned.
            obs_dict: Observation key -> ``(n, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(n, ...)`` tensor (goal-conditioned priors).
        """
        self._check_inputs("sample", n, obs_dict, goal_dict)
        if not self.learnable:
            z = torch.randn(
                n, self.latent_dim, device=self._anchor.device, dtype=self._anchor.dtype
            )
        else:
            out = self.forward(n, obs_dict=obs_dict, goal_dict=goal_dict)
            means, logvars = out["means"], out["logvars"]  # (n, M, D)
            if self.use_gmm:
                modes = Categorical(logits=out["logweights"]).sample()  # (n,)
                index = modes.view(n, 1, 1).expand(n, 1, self.latent_dim)
                means = means.gather(1, index)
                logvars = logvars.gather(1, index)
            z = reparameterize_gaussian(means[:, 0], logvars[:, 0])
        if self.latent_clip is not None:
            z = z.clamp(-self.latent_clip, self.latent_clip)
        return z

    def kl_loss(
        self,
        posterior_params: Mapping[str, torch.Tensor],
        z: torch.Tensor | None = None,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """KL between the posterior ``N(mean, exp(logvar))`` and the prior, averaged over B.

        Args:
            posterior_params: ``mean`` and ``logvar``, each ``(B, D)``.
            z: ``(B, D)`` posterior samples; required for a GMM prior (single-sample KL).
            obs_dict: Observation key -> ``(B, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(B, ...)`` tensor (goal-conditioned priors).

        Returns:
            A scalar.
        """
        missing = [k for k in ("mean", "logvar") if k not in posterior_params]
        if missing:
            raise InvalidKwargsError(
                f"{type(self).__name__}.kl_loss: posterior_params needs keys 'mean' and "
                f"'logvar'; missing {missing}."
            )
        # float32 KL: under bf16 autocast the encoder's heads come out of bf16 matmuls
        mean = at_least_float32(posterior_params["mean"])
        logvar = at_least_float32(posterior_params["logvar"])
        if not self.learnable:
            return kl_standard_normal(mean, logvar)
        out = self.forward(mean.shape[0], obs_dict=obs_dict, goal_dict=goal_dict)
        prior_means = at_least_float32(out["means"])
        prior_logvars = at_least_float32(out["logvars"])
        if not self.use_gmm:
            return kl_gaussians(mean, logvar, prior_means[:, 0], prior_logvars[:, 0])
        if z is None:
            raise InvalidKwargsError(
                f"{type(self).__name__}.kl_loss: the KL to a GMM prior is a single-sample "
                "estimate and needs z, the (B, D) latents drawn from the posterior."
            )
        z = at_least_float32(z)
        log_q = log_normal(z, mean, torch.exp(logvar.clamp(-8.0, 30.0)))
        # uniform weights take robomimic's log-mean-exp path, the same number bit for bit
        log_weights = at_least_float32(out["logweights"]) if self.gmm_learn_weights else None
        log_p = log_normal_mixture(
            z, prior_means, torch.exp(prior_logvars.clamp(-8.0, 30.0)), log_weights
        )
        return (log_q - log_p).mean()
