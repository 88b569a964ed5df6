"""obsnets plugin hooks for obsnets-diffusion: declares its components by import string.

Importing this module imports no component module and not diffusers (which is imported only
when a network builds a noise scheduler). The robomimic algorithms hook is called only by
obsnets-robomimic (when installed), the first time a checkpoint's algorithm is looked up; it
imports obsnets-robomimic then, so that is no hard dependency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components", "obsnets_robomimic_register_algorithms"]

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


@hookimpl(optionalhook=True)  # obsnets-robomimic adds this hook's spec; it may be absent
def obsnets_robomimic_register_algorithms(register: Callable[..., Any]) -> None:
    """Make robomimic's ``diffusion_policy`` (``DiffusionPolicyUNet``) checkpoints loadable."""
    from obsnets_diffusion.robomimic_algorithms import diffusion_algorithms

    for spec in diffusion_algorithms():
        register(spec)
