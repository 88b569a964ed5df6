"""Gaussian log-densities and KL divergences used by the VAE priors (batch-first tensors)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from obsnets.errors import InvalidKwargsError, ShapeError, format_shape
from obsnets.precision import at_least_float32

__all__ = [
    "kl_gaussians",
    "kl_standard_normal",
    "log_normal",
    "log_normal_mixture",
    "reparameterize_gaussian",
    "squared_error_loss",
]

_LOG_2PI = math.log(2.0 * math.pi)


def kl_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(logvar)) || N(0, 1))`` summed over ``(B, D)``'s D, averaged over B."""
    kl = -0.5 * (1.0 + logvar - mean.pow(2) - logvar.exp())
    return kl.sum(dim=1).mean()


def kl_gaussians(
    mean_1: torch.Tensor, logvar_1: torch.Tensor, mean_2: torch.Tensor, logvar_2: torch.Tensor
) -> torch.Tensor:
    """``KL(N_1 || N_2)`` of diagonal Gaussians ``(B, D)``, summed over D, averaged over B."""
    kl = -0.5 * (
        1.0
        + logvar_1
        - logvar_2
        - (mean_2 - mean_1).pow(2) / logvar_2.exp()
        - logvar_1.exp() / logvar_2.exp()
    )
    return kl.sum(dim=1).mean()


def log_normal(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Log-density of diagonal Gaussians at ``x``: ``(..., D) -> (...)``."""
    return (-0.5 * (torch.log(var) + (x - mean).pow(2) / var + _LOG_2PI)).sum(dim=-1)


def log_normal_mixture(
    x: torch.Tensor,
    means: torch.Tensor,
    variances: torch.Tensor,
    log_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Log-density of a diagonal Gaussian mixture at ``x``.

    Args:
        x: ``(B, D)`` points.
        means: ``(B, M, D)`` component means.
        variances: ``(B, M, D)`` component variances.
        log_weights: ``(B, M)`` normalised log mixture weights; ``None`` for uniform weights.

    Returns:
        ``(B,)`` log-densities.
    """
    per_mode = log_normal(x.unsqueeze(1).expand_as(means), means, variances)  # (B, M)
    if log_weights is None:
        return torch.logsumexp(per_mode, dim=1) - math.log(per_mode.shape[1])
    return torch.logsumexp(per_mode + log_weights, dim=1)


def reparameterize_gaussian(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Differentiable sample ``mean + std * eps``, ``std = exp(clamp(logvar / 2, -4, 15))``."""
    # float32 noise and latents even under bf16 autocast (bf16 noise is visibly quantised)
    std = torch.exp((0.5 * at_least_float32(logvar)).clamp(-4.0, 15.0))
    return at_least_float32(mean) + std * torch.randn_like(std)


def squared_error_loss(
    component: str,
    reconstructions: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    *,
    sum_across_elements: bool,
) -> torch.Tensor:
    """Squared-error reconstruction loss over a dict of ``(B, ...)`` tensors (a scalar).

    Args:
        component: Name used in error messages.
        reconstructions: Key -> ``(B, ...)`` reconstruction.
        targets: The same keys, each of its reconstruction's shape.
        sum_across_elements: Total squared error divided by B; otherwise the mean squared
            error of each key, averaged over keys.
    """
    errors = []
    for key, recon in reconstructions.items():
        if key not in targets:
            raise InvalidKwargsError(
                f"{component}: targets lack key {key!r}; got {sorted(targets)}."
            )
        if targets[key].shape != recon.shape:
            raise ShapeError(
                f"{component}: target {key!r} has shape {format_shape(targets[key].shape)}, "
                f"its reconstruction {format_shape(recon.shape)}; they must match."
            )
        errors.append((recon - targets[key]).pow(2))
    if not errors:
        raise InvalidKwargsError(f"{component}: no reconstructions given.")
    if sum_across_elements:
        return torch.stack([e.sum() for e in errors]).sum() / errors[0].shape[0]
    return torch.stack([e.mean() for e in errors]).sum() / len(errors)
