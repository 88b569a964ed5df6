"""obsnets-vae: a (conditional) VAE with Gaussian, GMM and categorical priors."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_vae.plugin import COMPONENTS, HELPERS

if TYPE_CHECKING:
    from obsnets_vae.categorical_prior import CategoricalPrior
    from obsnets_vae.gaussian_prior import GaussianPrior
    from obsnets_vae.prior import Prior
    from obsnets_vae.vae import VAE

__version__ = importlib.metadata.version("obsnets-vae")  # written once, in pyproject.toml

__all__ = ["VAE", "CategoricalPrior", "GaussianPrior", "Prior"]

__getattr__, __dir__ = lazy_exports(
    __name__, {**{n: t for n, (_, t) in COMPONENTS.items()}, **HELPERS}
)
