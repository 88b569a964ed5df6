"""obsnets plugin hooks for obsnets-transformer: declares its components by import string.

Importing this module imports no component module. The robomimic algorithms hook is called
only by obsnets-robomimic (when installed), the first time a checkpoint's algorithm is
looked up; it imports obsnets-robomimic then, so that is no hard dependency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components", "obsnets_robomimic_register_algorithms"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "MIMO_Transformer": ("network", "obsnets_transformer.mimo_transformer:MIMO_Transformer"),
    "TransformerActorNetwork": (
        "network",
        "obsnets_transformer.transformer_actor_network:TransformerActorNetwork",
    ),
    "TransformerGMMActorNetwork": (
        "network",
        "obsnets_transformer.transformer_gmm_actor_network:TransformerGMMActorNetwork",
    ),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-transformer."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)


@hookimpl(optionalhook=True)  # obsnets-robomimic adds this hook's spec; it may be absent
def obsnets_robomimic_register_algorithms(register: Callable[..., Any]) -> None:
    """Make robomimic's ``BC_Transformer`` and ``BC_Transformer_GMM`` checkpoints loadable."""
    from obsnets_transformer.robomimic_algorithms import transformer_algorithms

    for spec in transformer_algorithms():
        register(spec)
