"""obsnets-policy: policy networks over observation dictionaries and their distributions."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_policy.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_policy.actor_network import ActorNetwork
    from obsnets_policy.gaussian_actor_network import GaussianActorNetwork
    from obsnets_policy.gmm_actor_network import GMMActorNetwork
    from obsnets_policy.perturbation_actor_network import PerturbationActorNetwork
    from obsnets_policy.rnn_actor_network import RNNActorNetwork
    from obsnets_policy.rnn_gmm_actor_network import RNNGMMActorNetwork
    from obsnets_policy.tanh_distribution import TanhWrappedDistribution
    from obsnets_policy.vae_actor import VAEActor

__version__ = importlib.metadata.version("obsnets-policy")  # written once, in pyproject.toml

__all__ = [
    "ActorNetwork",
    "GMMActorNetwork",
    "GaussianActorNetwork",
    "PerturbationActorNetwork",
    "RNNActorNetwork",
    "RNNGMMActorNetwork",
    "TanhWrappedDistribution",
    "VAEActor",
]

_EXPORTS = {name: target for name, (_, target) in COMPONENTS.items()}
_EXPORTS["TanhWrappedDistribution"] = "obsnets_policy.tanh_distribution:TanhWrappedDistribution"

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
