"""obsnets plugin hooks for obsnets-timm: declares its components by import string.

Importing this module imports no component module and not timm: timm is imported only when
``TimmConv`` is resolved (or :func:`obsnets_timm.list_timm_models` is called), so installing
obsnets-timm does not slow down building networks that do not use it.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

__all__ = ["COMPONENTS", "obsnets_register_components"]

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "TimmConv": ("backbone", "obsnets_timm.timm_conv:TimmConv"),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-timm."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
