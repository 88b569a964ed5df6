"""obsnets plugin hooks for obsnets-scan: declares its components by import string.

Importing this module imports no component module.
"""

from __future__ import annotations

from typing import Any

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_encoder_defaults", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "Conv1dBase": ("backbone", "obsnets_scan.conv1d_base:Conv1dBase"),
    "ScanCore": ("encoder_core", "obsnets_scan.scan_core:ScanCore"),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-scan."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)


@hookimpl
def obsnets_encoder_defaults(modality: str) -> dict[str, Any] | None:
    """robomimic's default encoder for the ``scan`` modality: ``ScanCore`` with its defaults.

    Args:
        modality: The modality name; only ``"scan"`` gets an answer.

    Returns:
        The encoder settings for ``"scan"`` (no randomizer), ``None`` for any other modality.
    """
    if modality != "scan":
        return None
    return {
        "core_class": "ScanCore",
        "core_kwargs": {},
        "obs_randomizer_class": None,
        "obs_randomizer_kwargs": {},
    }
