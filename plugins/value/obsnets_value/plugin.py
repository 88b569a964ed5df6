"""obsnets plugin hooks for obsnets-value: declares its components by import string.

Importing this module imports no component module.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "ValueNetwork": ("network", "obsnets_value.value_network:ValueNetwork"),
    "ActionValueNetwork": ("network", "obsnets_value.action_value_network:ActionValueNetwork"),
    "DistributionalActionValueNetwork": (
        "network",
        "obsnets_value.distributional_action_value_network:DistributionalActionValueNetwork",
    ),
}

HELPERS: dict[str, str] = {
    # public names that are not components: name -> "module:attribute"
    "DiscreteValueDistribution": (
        "obsnets_value.discrete_value_distribution:DiscreteValueDistribution"
    ),
    "project_values_onto_atoms": "obsnets_value.atom_projection:project_values_onto_atoms",
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-value."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
