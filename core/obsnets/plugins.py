"""Plugin discovery: entry points of the group ``obsnets``, managed by pluggy.

Each installed distribution that declares ``[project.entry-points.obsnets]`` contributes one
plugin module. Discovery runs once, at the first component lookup. A plugin that fails to
import, or whose hook raises, is recorded with its error and skipped: the others load, the CLI
(``obsnets plugins``) shows the error, and it is raised, chained to its cause, only when one
of that plugin's components is asked for.

Environment variables (read at discovery):

``OBSNETS_DISABLE_PLUGINS``
    ``1`` / ``all`` / ``*`` disables every installed plugin; otherwise a comma-separated list
    of plugin (entry-point) or distribution names to skip. The core's own declarations
    (distribution ``obsnets``) always load.
``OBSNETS_LOAD_PLUGINS``
    A comma-separated list: load only these plugins. Set but empty: load none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from obsnets import hookspecs
from obsnets.catalog import distribution_for
from obsnets.errors import ObsnetsError, PluginLoadError
from obsnets.registry import KINDS, ComponentEntry, Registry, registry

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "PluginInfo",
    "explain_missing",
    "get_plugin_manager",
    "list_plugins",
    "register_plugin",
]

ENTRY_POINT_GROUP = "obsnets"
CORE_DISTRIBUTION = "obsnets"
DISABLE_ENV = "OBSNETS_DISABLE_PLUGINS"
LOAD_ENV = "OBSNETS_LOAD_PLUGINS"


@dataclass
class PluginInfo:
    """What discovery found about one plugin.

    Attributes:
        name: The entry-point name (e.g. ``"visual"``).
        module: The plugin module's import path (e.g. ``"obsnets_visual.plugin"``).
        distribution: The distribution that declares it, e.g. ``"obsnets-visual"``.
        version: That distribution's version.
        status: ``"loaded"``, ``"disabled"`` or ``"failed"``.
        reason: Why it is disabled, or the failure in one line.
        error: The exception that made it fail, if any.
        components: ``(kind, name)`` of every component it declared.
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    status: str = "loaded"
    reason: str = ""
    error: BaseException | None = None
    components: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for ``obsnets plugins --json``)."""
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "components": [{"kind": k, "name": n} for k, n in self.components],
        }


class _Discovery:
    """The process's pluggy manager and what it knows of each plugin."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._entry_points_loaded = False

    def load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            self.plugins[ep.name] = info
            blocked = _blocked_reason(info)
            if blocked:
                info.status, info.reason = "disabled", blocked
                continue
            try:
                self.register(ep.load(), info)
            except Exception as exc:  # a broken plugin must not break the others
                self.fail(info, exc, f"import of {ep.value!r} failed")

    def register(self, plugin: ModuleType | object, info: PluginInfo) -> None:
        self.plugins[info.name] = info
        self.manager.register(plugin, name=info.name)

    def fail(self, info: PluginInfo, exc: BaseException, what: str) -> None:
        info.status, info.error = "failed", exc
        info.reason = f"{what}: {type(exc).__name__}: {exc}"
        if self.manager.has_plugin(info.name):
            self.manager.unregister(name=info.name)

    def declare(self, reg: Registry) -> None:
        for info in list(self.plugins.values()):
            if info.status == "loaded":
                self.declare_one(reg, info)

    def declare_one(self, reg: Registry, info: PluginInfo) -> None:
        try:
            entries = self.collect(info)
            for entry in entries:
                reg.add(entry)
        except Exception as exc:
            self.fail(info, exc, "declaring its components failed")
            return
        info.components = [(e.kind, e.name) for e in entries]

    def collect(self, info: PluginInfo) -> list[ComponentEntry]:
        """Call one plugin's ``obsnets_register_components`` and return what it declared."""
        declared: list[ComponentEntry] = []

        def register_component(kind: str, name: str, target: str | type) -> None:
            declared.append(_entry(info, kind, name, target))

        others = [p for n, p in self.manager.list_name_plugin() if n != info.name]
        caller = self.manager.subset_hook_caller("obsnets_register_components", others)
        caller(register=register_component)
        return declared


def _entry(info: PluginInfo, kind: str, name: str, target: str | type) -> ComponentEntry:
    if kind not in KINDS:
        raise PluginLoadError(
            f"plugin {info.name!r} registered {name!r} under unknown kind {kind!r}; "
            f"kinds are {', '.join(KINDS)}."
        )
    if isinstance(target, type):
        qualified = f"{target.__module__}:{target.__qualname__}"
    elif isinstance(target, str) and ":" in target:
        qualified = target
    else:
        raise PluginLoadError(
            f"plugin {info.name!r} registered {name!r} with target {target!r}; expected an "
            f"import string 'package.module:ClassName' or a class."
        )
    return ComponentEntry(kind, name, qualified, info.distribution or info.name, target, info.name)


def _split_env(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _blocked_reason(info: PluginInfo) -> str:
    if info.distribution == CORE_DISTRIBUTION:
        return ""  # the core's own components are not a plugin one can switch off
    names = {info.name, info.distribution or ""}
    disable = os.environ.get(DISABLE_ENV)
    if disable is not None:
        if disable.strip().lower() in {"1", "all", "*", "true"}:
            return f"{DISABLE_ENV}={disable} disables all plugins"
        if names & _split_env(disable):
            return f"listed in {DISABLE_ENV}"
    allow = os.environ.get(LOAD_ENV)
    if allow is not None and not names & _split_env(allow):
        return f"not listed in {LOAD_ENV}={allow!r}"
    return ""


_discovery: _Discovery | None = None


def _get_discovery() -> _Discovery:
    global _discovery
    if _discovery is None:
        _discovery = _Discovery()
        _discovery.load_entry_points()
    return _discovery


def declare_plugin_components(reg: Registry) -> None:
    """Load installed plugins and declare their components in ``reg`` (registry discovery)."""
    _get_discovery().declare(reg)


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager holding every loaded plugin (call its ``hook`` to run hooks)."""
    return _get_discovery().manager


def list_plugins() -> list[PluginInfo]:
    """Every installed plugin, loaded, disabled or failed, sorted by name."""
    registry.entries()  # components are declared on first lookup
    return sorted(_get_discovery().plugins.values(), key=lambda p: p.name)


def register_plugin(
    plugin: ModuleType | object, name: str, distribution: str | None = None
) -> None:
    """Register a plugin object or module at runtime, as if an entry point declared it.

    Args:
        plugin: Any object with ``@obsnets.hookimpl`` functions.
        name: Its plugin name (must be unique).
        distribution: The distribution to report as provider; defaults to ``name``.
    """
    discovery = _get_discovery()
    info = PluginInfo(
        name=name,
        module=getattr(plugin, "__name__", repr(plugin)),
        distribution=distribution,
        version=None,
    )
    discovery.register(plugin, info)
    registry.entries()
    discovery.declare_one(registry, info)


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin` and its components."""
    discovery = _get_discovery()
    info = discovery.plugins.pop(name, None)
    if discovery.manager.has_plugin(name):
        discovery.manager.unregister(name=name)
    for entry in registry.entries():
        if info is not None and entry.plugin == name:
            registry.remove(entry.kind, entry.qualified_name)


def reset() -> None:
    """Forget discovery (tests use this after changing the environment variables)."""
    global _discovery
    _discovery = None
    registry.reset_discovery()


def explain_missing(name: str, kind: str | None) -> tuple[str, ObsnetsError | BaseException | None]:
    """Say why ``name`` is not available: a plugin failed, is disabled, or is not installed.

    Returns:
        A hint to append to the error message, and the exception to chain as its cause.
    """
    discovery = _get_discovery()
    failed = [p for p in discovery.plugins.values() if p.status == "failed"]
    wanted = distribution_for(name)
    for info in failed:
        if wanted is None or info.distribution == wanted:
            return (
                f" Plugin {info.name!r} ({info.distribution}) failed to load, and may provide "
                f"it: {info.reason}. Run 'obsnets plugins' for details.",
                info.error,
            )
    for info in discovery.plugins.values():
        if info.status == "disabled" and _declares(discovery, info, name):
            return (
                f" Plugin {info.name!r} ({info.distribution}) provides it but is disabled "
                f"({info.reason}).",
                None,
            )
    if wanted is not None and not any(p.distribution == wanted for p in discovery.plugins.values()):
        return f" It is provided by {wanted}: pip install {wanted}", None
    return " Run 'obsnets list' to see every available name.", None


def _declares(discovery: _Discovery, info: PluginInfo, name: str) -> bool:
    # A disabled plugin is never registered; importing its light module to ask is cheap.
    if distribution_for(name) == info.distribution:
        return True
    try:
        module = metadata.EntryPoint(info.name, info.module, ENTRY_POINT_GROUP).load()
        probe = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        probe.add_hookspecs(hookspecs)
        probe.register(module)
        names: list[str] = []
        probe.hook.obsnets_register_components(register=lambda kind, n, target: names.append(n))
    except Exception:
        return False
    return name.rsplit(":", 1)[-1] in names
