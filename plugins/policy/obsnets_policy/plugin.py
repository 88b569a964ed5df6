"""obsnets plugin hooks for obsnets-policy: declares its components by import string.

Importing this module imports no component module.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "ActorNetwork": ("network", "obsnets_policy.actor_network:ActorNetwork"),
    "PerturbationActorNetwork": (
        "network",
        "obsnets_policy.perturbation_actor_network:PerturbationActorNetwork",
    ),
    "GaussianActorNetwork": (
        "network",
        "obsnets_policy.gaussian_actor_network:GaussianActorNetwork",
    ),
    "GMMActorNetwork": ("network", "obsnets_policy.gmm_actor_network:GMMActorNetwork"),
    "RNNActorNetwork": ("network", "obsnets_policy.rnn_actor_network:RNNActorNetwork"),
    "RNNGMMActorNetwork": ("network", "obsnets_policy.rnn_gmm_actor_network:RNNGMMActorNetwork"),
    "VAEActor": ("network", "obsnets_policy.vae_actor:VAEActor"),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-policy."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
