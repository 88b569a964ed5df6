"""obsnets-value: value, action-value and distributional action-value networks."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_value.plugin import COMPONENTS, HELPERS

if TYPE_CHECKING:
    from obsnets_value.action_value_network import ActionValueNetwork
    from obsnets_value.atom_projection import project_values_onto_atoms
    from obsnets_value.discrete_value_distribution import DiscreteValueDistribution
    from obsnets_value.distributional_action_value_network import (
        DistributionalActionValueNetwork,
    )
    from obsnets_value.value_network import ValueNetwork

__version__ = importlib.metadata.version("obsnets-value")  # written once, in pyproject.toml

__all__ = [
    "ActionValueNetwork",
    "DiscreteValueDistribution",
    "DistributionalActionValueNetwork",
    "ValueNetwork",
    "project_values_onto_atoms",
]

__getattr__, __dir__ = lazy_exports(
    __name__, {**{n: t for n, (_, t) in COMPONENTS.items()}, **HELPERS}
)
