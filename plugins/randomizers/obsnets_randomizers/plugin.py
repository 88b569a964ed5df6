"""obsnets plugin hooks for obsnets-randomizers: declares its components by import string.

Importing this module imports no component module.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "CropRandomizer": ("randomizer", "obsnets_randomizers.crop_randomizer:CropRandomizer"),
    "ColorRandomizer": ("randomizer", "obsnets_randomizers.color_randomizer:ColorRandomizer"),
    "GaussianNoiseRandomizer": (
        "randomizer",
        "obsnets_randomizers.gaussian_noise_randomizer:GaussianNoiseRandomizer",
    ),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-randomizers."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
