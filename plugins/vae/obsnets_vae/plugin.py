"""obsnets plugin hooks for obsnets-vae: declares its components by import string.

Importing this module imports no component module.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "VAE": ("network", "obsnets_vae.vae:VAE"),
    "GaussianPrior": ("prior", "obsnets_vae.gaussian_prior:GaussianPrior"),
    "CategoricalPrior": ("prior", "obsnets_vae.categorical_prior:CategoricalPrior"),
}

HELPERS: dict[str, str] = {
    # public names that are not components: name -> "module:attribute"
    "Prior": "obsnets_vae.prior:Prior",
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-vae."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
