"""obsnets plugin hooks for obsnets-shifts: declares its components by import string.

obsnets imports this module when it discovers installed plugins, so it must stay light: it
names the module of each component without importing it. A component's module is imported
only when a config names the component.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "RandomShiftsRandomizer": (
        "randomizer",
        "obsnets_shifts.random_shifts_randomizer:RandomShiftsRandomizer",
    ),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-shifts."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
