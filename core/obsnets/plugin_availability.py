"""Why a component name is not available although a plugin may provide it.

A plugin that **failed** (import error, bad declaration) turns an unknown name into a hint that
chains the plugin's error. A plugin **kept out** on purpose, disabled by the user or
incompatible with the installed obsnets, turns it into an error of its own naming the plugin,
why it is kept out and how to let it in, whether the name is plain or qualified: naming a
module brings back nothing that was switched off.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable, Mapping
from importlib.machinery import PathFinder
from pathlib import Path

from obsnets.catalog import FIRST_PARTY_COMPONENTS, distribution_for
from obsnets.errors import DisabledPluginError, IncompatiblePluginError, ObsnetsError
from obsnets.plugin_info import UNUSABLE, PluginInfo
from obsnets.trust import top_level_package

__all__ = ["explain_missing", "unavailable"]


def explain_missing(plugins: Iterable[PluginInfo], name: str) -> tuple[str, BaseException | None]:
    """Say why ``name`` is not available: a plugin failed, is kept out, or is not installed.

    (A name that a disabled or incompatible plugin is known to declare is an error of its own:
    see :func:`unavailable`. One whose declarations cannot be read without importing it, which
    a kept-out plugin never is, is named here as one that may provide it.)

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
    maybe = [p for p in installed if p.status in UNUSABLE and _declares(p, name) is None]
    if maybe:
        return "".join(f" {_kept_out(info)}" for info in maybe), None
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
    (asked only once it is otherwise unknown) is matched, without importing the plugin, by the
    catalog of first-party components or by the plugin module's source naming it.

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
        info = next((p for p in kept_out if _declares(p, name)), None)  # True only
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


def _kept_out(info: PluginInfo) -> str:
    """One sentence: ``info`` is disabled or incompatible, may provide the name, and the fix."""
    version = f" {info.version}" if info.version else ""
    plugin = f"Plugin {info.name!r} ({info.distribution}{version})"
    if info.status == "incompatible":
        return (
            f"{plugin} may provide it but is not loaded because it does not support this "
            f"obsnets: it {info.reason}. {info.fix}"
        )
    return f"{plugin} may provide it but is disabled ({info.reason}); to use it, {info.fix}."


def _declares(info: PluginInfo, name: str) -> bool | None:
    """Whether the kept-out plugin ``info`` declares component ``name``, found without
    importing it: a disabled plugin's code must never run, not even its light plugin module.

    Returns:
        ``True`` when the catalog or the plugin module's source names it; ``False`` when the
        catalog lists the plugin's distribution and not ``name`` (the catalog is complete for
        first-party distributions); ``None`` when it cannot be told without running the plugin.
    """
    if distribution_for(name) == info.distribution:
        return True
    if info.distribution in FIRST_PARTY_COMPONENTS:
        return False
    source = _module_source(info.module)
    if source is not None and _names_literally(source, name):
        return True
    return None


def _names_literally(source: str, name: str) -> bool:
    """Whether ``source`` has a string literal ``name`` or an import string ending in it
    (``register("kind", "Name", "pkg.module:Name")``), read with :mod:`ast`, never run."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (node.value == name or node.value.endswith(f":{name}"))
        for node in ast.walk(tree)
    )


def _module_source(module: str) -> str | None:
    """The source of ``module`` (``"pkg.plugin"``, or an entry-point value ``"pkg.plugin:obj"``),
    found without importing it or its parent packages; ``None`` when it cannot be found."""
    top, *rest = module.split(":", 1)[0].split(".")
    try:
        # A top-level name imports nothing to be found; a dotted one would import its parents.
        spec = importlib.util.find_spec(top)
        for depth in range(1, len(rest) + 1):
            locations = spec.submodule_search_locations if spec is not None else None
            if not locations:
                return None
            spec = PathFinder.find_spec(".".join([top, *rest[:depth]]), list(locations))
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        return Path(spec.origin).read_text(encoding="utf-8")
    except (ImportError, ValueError, OSError, UnicodeDecodeError):
        return None
