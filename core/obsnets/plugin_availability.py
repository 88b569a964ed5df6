"""Why a component name is not available although a plugin may provide it.

A plugin that **failed** (import error, bad declaration) turns an unknown name into a hint that
chains the plugin's error. A plugin **kept out** on purpose, disabled by the user or
incompatible with the installed obsnets, turns it into an error of its own naming the plugin,
why it is kept out and how to let it in, whether the name is plain or qualified: naming a
module brings back nothing that was switched off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import metadata

import pluggy

from obsnets import hookspecs
from obsnets.catalog import distribution_for
from obsnets.errors import DisabledPluginError, IncompatiblePluginError, ObsnetsError
from obsnets.plugin_info import ENTRY_POINT_GROUP, UNUSABLE, PluginInfo

__all__ = ["explain_missing", "top_level_package", "unavailable"]


def top_level_package(module: str) -> str:
    """``"pkg"`` for ``"pkg.sub.module"`` or a qualified name ``"pkg.sub:Class"``."""
    return module.split(":", 1)[0].split(".", 1)[0]


def explain_missing(plugins: Iterable[PluginInfo], name: str) -> tuple[str, BaseException | None]:
    """Say why ``name`` is not available: a plugin failed, or is not installed.

    (A disabled or incompatible plugin's name is an error of its own: see :func:`unavailable`.)

    Args:
        plugins: Every installed plugin.
        name: The component name asked for.

    Returns:
        A hint to append to the error message, and the exception to chain as its cause.
    """
    installed = list(plugins)
    wanted = distribution_for(name)
    for info in installed:
        if info.status == "failed" and (wanted is None or info.distribution == wanted):
            return (
                f" Plugin {info.name!r} ({info.distribution}) failed to load, and may provide "
                f"it: {info.reason}. Run 'obsnets plugins' for details.",
                info.error,
            )
    if wanted is not None and not any(p.distribution == wanted for p in installed):
        return f" It is provided by {wanted}: pip install {wanted}", None
    return " Run 'obsnets list' to see every available name.", None


def unavailable(
    plugins: Iterable[PluginInfo],
    blocked_packages: Mapping[str, PluginInfo],
    name: str,
    kind: str | None,
) -> ObsnetsError | None:
    """The error for a component of an installed plugin that is disabled or incompatible.

    A qualified name is matched by its top-level package (cheap: the registry asks before it
    imports any undeclared module or returns any class no plugin declared). A plain name
    (asked only once it is otherwise unknown) is matched by what the plugin declares.

    Args:
        plugins: Every installed plugin.
        blocked_packages: Top-level package -> the kept-out plugin it belongs to.
        name: A plain or qualified component name.
        kind: The kind the caller's slot expects, if any (for the message).

    Returns:
        A :class:`~obsnets.errors.DisabledPluginError` or
        :class:`~obsnets.errors.IncompatiblePluginError` naming the plugin, why it is kept out
        and how to let it in; ``None`` when no such plugin provides ``name``.
    """
    if ":" in name:
        info = blocked_packages.get(top_level_package(name))
    else:
        kept_out = [p for p in plugins if p.status in UNUSABLE]
        info = next((p for p in kept_out if _declares(p, name)), None)
    if info is None:
        return None
    what = f"{kind or 'component'} {name!r}"
    version = f" {info.version}" if info.version else ""
    plugin = f"plugin {info.name!r} ({info.distribution}{version})"
    if info.status == "incompatible":
        return IncompatiblePluginError(
            f"{what} is provided by {plugin}, which is not loaded because it does not support "
            f"this obsnets: it {info.reason}. {info.fix}"
        )
    return DisabledPluginError(
        f"{what}: {plugin} provides it but is disabled ({info.reason}); a disabled plugin's "
        f"components are refused by plain and qualified name alike. To use it, {info.fix}."
    )


def _declares(info: PluginInfo, name: str) -> bool:
    # A plugin kept out is never registered; importing its light module to ask is cheap.
    if distribution_for(name) == info.distribution:
        return True
    try:
        module = metadata.EntryPoint(info.name, info.module, ENTRY_POINT_GROUP).load()
        probe = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        probe.add_hookspecs(hookspecs)
        probe.register(module)
        names: list[str] = []
        probe.hook.obsnets_register_components(register=lambda kind, n, target: names.append(n))
    except (Exception, SystemExit):
        return False
    return name in names
