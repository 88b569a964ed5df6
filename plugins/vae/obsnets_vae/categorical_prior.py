"""``CategoricalPrior``: a uniform or learned categorical prior over one-hot latents."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Categorical, kl_divergence
from torch.nn.functional import one_hot

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, format_shape
from obsnets.precision import at_least_float32
from obsnets_vae.prior import Prior

__all__ = ["CategoricalPrior"]

Shapes = Mapping[str, Sequence[int]]


class CategoricalPrior(Prior):
    """A prior over ``D`` independent categorical latents with ``C`` classes each.

    Latents are one-hot per latent dimension and flattened to ``(B, D * C)``. With
    ``learnable=False`` every class is equally likely; otherwise the logits (``(D, C)``)
    are free parameters, or outputs of an MLP over ``obs_shapes`` when that is non-empty.

    Args:
        latent_dim: Number of categorical latents ``D``.
        categorical_dim: Number of classes ``C`` per latent.
        device: Accepted for robomimic compatibility and otherwise unused: samples are drawn
            on the device of the prior's parameters or inputs (it follows ``.to()``).
        learnable: Learn the logits.
        obs_shapes: Observation key -> shape; non-empty makes the logits functions of them.
        mlp_layer_dims: Hidden layer sizes of that MLP.
        goal_shapes: Goal key -> shape, extra MLP inputs.
        encoder_kwargs: Per-modality encoder settings for the MLP's observation encoders.
        obs_modalities: Modality -> observation keys, for those encoders.

    Sampling an unlearned prior with ``D == 1`` and ``C <= n`` cycles deterministically
    through the classes (``0, 1, ..., C-1, 0, ...``) so every class appears, as robomimic.
    :meth:`kl_loss` is the exact KL between categoricals, summed over latents and averaged
    over the batch.

    Differences from robomimic: errors instead of assertions; :meth:`output_shape` is ``{}``
    for an unlearned prior instead of raising.
    """

    def __init__(
        self,
        latent_dim: int,
        categorical_dim: int,
        device: str | torch.device | None = None,
        learnable: bool = False,
        obs_shapes: Shapes | None = None,
        mlp_layer_dims: Sequence[int] = (),
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        name = type(self).__name__
        input_dependent = obs_shapes is not None and len(obs_shapes) > 0
        if int(latent_dim) < 1 or int(categorical_dim) < 1:
            raise ConfigError(
                f"{name}: latent_dim and categorical_dim must be positive ints; got "
                f"{latent_dim!r} and {categorical_dim!r}."
            )
        if input_dependent and not learnable:
            raise ConfigError(
                f"{name}: a prior conditioned on observations (obs_shapes given) must be "
                "learned; set learnable=True or drop obs_shapes."
            )
        param_shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        if learnable:
            lead = () if input_dependent else (1,)
            param_shapes["logit"] = (*lead, int(latent_dim), int(categorical_dim))
        super().__init__(
            param_shapes=param_shapes,
            param_obs_dependent=OrderedDict((k, input_dependent) for k in param_shapes),
            obs_shapes=obs_shapes,
            mlp_layer_dims=mlp_layer_dims,
            goal_shapes=goal_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        self.latent_dim = int(latent_dim)
        self.categorical_dim = int(categorical_dim)
        self.learnable = bool(learnable)
        self._input_dependent = input_dependent

    def forward(
        self,
        batch_size: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Compute the prior logits: ``{"logit": (B, D, C)}`` (unnormalised).

        Args:
            batch_size: ``B``.
            obs_dict: Observation key -> ``(B, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(B, ...)`` tensor (goal-conditioned priors).
        """
        if not self.learnable:
            raise ConfigError(
                f"{type(self).__name__}.forward: a uniform prior (learnable=False) has no "
                "parameters to compute."
            )
        return super().forward(batch_size, obs_dict=obs_dict, goal_dict=goal_dict)

    def sample(
        self,
        n: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` one-hot latents, flattened to ``(n, D * C)`` (float).

        Args:
            n: Number of samples; must equal the batch size of ``obs_dict`` if conditioned.
            obs_dict: Observation key -> ``(n, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(n, ...)`` tensor (goal-conditioned priors).
        """
        self._check_inputs("sample", n, obs_dict, goal_dict)
        anchor = self._anchor
        if self.learnable:
            logits = self.forward(n, obs_dict=obs_dict, goal_dict=goal_dict)["logit"]
            classes = Categorical(logits=logits).sample()  # (n, D)
            dtype = logits.dtype
        elif self.latent_dim == 1 and self.categorical_dim <= n:
            # every class at least once: 0, 1, ..., C-1, 0, 1, ...
            classes = torch.arange(n, device=anchor.device).remainder(self.categorical_dim)
            classes = classes.unsqueeze(-1)
            dtype = anchor.dtype
        else:
            shape = (n, self.latent_dim)
            classes = torch.randint(self.categorical_dim, shape, device=anchor.device)
            dtype = anchor.dtype
        onehot = one_hot(classes, self.categorical_dim).to(dtype)  # (n, D, C)
        return onehot.reshape(n, self.latent_dim * self.categorical_dim)

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """``{"logit": [D, C]}`` for a learned prior, ``{}`` for a uniform one."""
        if not self.learnable:
            return {}
        return {"logit": [self.latent_dim, self.categorical_dim]}

    def kl_loss(
        self,
        posterior_params: Mapping[str, torch.Tensor],
        z: torch.Tensor | None = None,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """KL between the posterior categoricals and the prior, summed over D, mean over B.

        Args:
            posterior_params: ``logit``: ``(B, D * C)`` unnormalised posterior logits.
            z: Unused (the KL is exact); accepted for a uniform prior interface.
            obs_dict: Observation key -> ``(B, ...)`` tensor (conditioned priors).
            goal_dict: Goal key -> ``(B, ...)`` tensor (goal-conditioned priors).

        Returns:
            A scalar.
        """
        if "logit" not in posterior_params:
            raise InvalidKwargsError(
                f"{type(self).__name__}.kl_loss: posterior_params needs key 'logit'; got "
                f"{sorted(posterior_params)}."
            )
        flat = posterior_params["logit"]
        size = self.latent_dim * self.categorical_dim
        if flat.dim() != 2 or flat.shape[1] != size:
            raise ShapeError(
                f"{type(self).__name__}.kl_loss expects posterior logits of shape (B, {size}) "
                f"(latent_dim * categorical_dim); got {format_shape(flat.shape)}."
            )
        # float32 KL: under bf16 autocast the logits come out of bf16 matmuls
        logits = at_least_float32(flat).reshape(-1, self.latent_dim, self.categorical_dim)
        if self.learnable:
            prior_logits = self.forward(flat.shape[0], obs_dict=obs_dict, goal_dict=goal_dict)
            prior = Categorical(logits=at_least_float32(prior_logits["logit"]))
        else:
            prior = Categorical(logits=torch.zeros_like(logits))
        kl = kl_divergence(Categorical(logits=logits), prior)  # (B, D)
        return kl.sum(dim=-1).mean()
