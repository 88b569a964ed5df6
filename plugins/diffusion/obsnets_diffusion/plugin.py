"""obsnets plugin hooks for obsnets-diffusion: declares its components by import string.

Importing this module imports no component module and not diffusers (which is imported only
when a network builds a noise scheduler).
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "ConditionalUnet1D": ("network", "obsnets_diffusion.conditional_unet1d:ConditionalUnet1D"),
    "DiffusionPolicyNetwork": (
        "network",
        "obsnets_diffusion.diffusion_policy_network:DiffusionPolicyNetwork",
    ),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-diffusion."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
