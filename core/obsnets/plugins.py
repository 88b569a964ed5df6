"""Plugin discovery: entry points of the group ``obsnets``, managed by pluggy.

Each installed distribution that declares ``[project.entry-points.obsnets]`` contributes one
plugin module. Discovery runs once, at the first component lookup. One plugin cannot take
the others down:

- a plugin that fails to import, or whose ``obsnets_register_components`` raises (even
  ``SystemExit``), is recorded with its error and skipped: the others load, the CLI
  (``obsnets plugins``) shows the error, and it is raised, chained to its cause, only when one
  of that plugin's components is asked for;
- a plugin that declares a qualified name another plugin already provides fails alone, with
  none of its declarations kept; the plugin whose package defines the class (and the core,
  for ``obsnets.*``) keeps it whichever was discovered first;
- a plugin whose ``obsnets_network_built`` or ``obsnets_encoder_defaults`` raises is warned
  about by name (:class:`PluginHookWarning`), recorded, and not called for that hook again:
  builds go on (see :func:`call_hook`);
- an interrupted discovery (Ctrl-C) keeps nothing; the next lookup discovers again.

This module depends on :mod:`obsnets.registry`, never the reverse: importing it gives the
registry its :class:`~obsnets.registry.Discovery`.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from obsnets import hookspecs
from obsnets.catalog import distribution_for
from obsnets.errors import ComponentCollisionError, ObsnetsError, PluginLoadError
from obsnets.plugin_hooks import ISOLATED_HOOKS, PluginHookWarning, call_each_plugin
from obsnets.registry import KINDS, ComponentEntry, Registry, registry

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "ISOLATED_HOOKS",
    "LOAD_ENV",
    "PluginHookWarning",
    "PluginInfo",
    "call_hook",
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
        hook_errors: Hook name -> the error that hook raised (the plugin is skipped for it).
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    status: str = "loaded"
    reason: str = ""
    error: BaseException | None = None
    components: list[tuple[str, str]] = field(default_factory=list)
    hook_errors: dict[str, str] = field(default_factory=dict)

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
            "hook_errors": dict(self.hook_errors),
        }


class _Discovery:
    """The process's pluggy manager and what it knows of each plugin."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}

    def load_entry_points(self) -> None:
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
            except (Exception, SystemExit) as exc:  # a broken plugin must not break the others
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
        """Declare one plugin's components, all or none."""
        try:
            entries = self.collect(info)
            self.settle_collisions(reg, info, entries)
            reg.add_all(entries)
        except (Exception, SystemExit) as exc:
            self.fail(info, exc, "declaring its components failed")
            return
        info.components = [(e.kind, e.name) for e in entries]

    def settle_collisions(
        self, reg: Registry, info: PluginInfo, entries: list[ComponentEntry]
    ) -> None:
        """Raise if another plugin provides one of ``entries``' classes that ``info`` does not own.

        The owner is the plugin whose package defines the class: when it comes second, the
        plugin that claimed the class first is the one that fails (all its entries removed).
        """
        evicted: dict[str, tuple[PluginInfo, str]] = {}
        for entry in entries:
            for held in reg.find(entry.qualified_name, entry.kind):
                holder = self.plugins.get(held.plugin or "")
                if holder is None or holder is info or held.provider == entry.provider:
                    continue
                clash = (
                    f"{entry.kind} {entry.qualified_name!r} is declared by two providers: "
                    f"{held.provider} (plugin {holder.name!r}) and {entry.provider} (plugin "
                    f"{info.name!r})"
                )
                if not _owns(info, entry) or _owns(holder, held):
                    raise ComponentCollisionError(
                        f"{clash}; {info.name!r} is not loaded. Uninstall one of them, or "
                        f"disable one with {DISABLE_ENV}."
                    )
                evicted[holder.name] = (holder, f"{clash}; it belongs to {info.name!r}.")
        for holder, message in evicted.values():
            reg.remove_plugin(holder.name)
            holder.components = []
            self.fail(holder, ComponentCollisionError(message), "declaring its components failed")

    def collect(self, info: PluginInfo) -> list[ComponentEntry]:
        """Call one plugin's ``obsnets_register_components`` and return what it declared."""
        declared: list[ComponentEntry] = []

        def register_component(kind: str, name: str, target: str | type) -> None:
            declared.append(_entry(info, kind, name, target))

        others = [p for n, p in self.manager.list_name_plugin() if n != info.name]
        caller = self.manager.subset_hook_caller("obsnets_register_components", others)
        caller(register=register_component)
        return declared


def _owns(info: PluginInfo, entry: ComponentEntry) -> bool:
    """Whether the class ``entry`` names is defined in ``info``'s own package."""
    package = entry.qualified_name.split(":", 1)[0].split(".", 1)[0]
    return info.module.split(".", 1)[0] == package


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
_pending: _Discovery | None = None


def _get_discovery() -> _Discovery:
    global _discovery, _pending
    if _discovery is not None:
        return _discovery
    with registry.lock:  # the registry discovers under it too: one lock, one order
        if _discovery is not None:
            return _discovery
        if _pending is not None:
            return _pending  # a plugin asked while its own import runs
        _pending = _Discovery()
        try:
            _pending.load_entry_points()
            _discovery = _pending  # kept only once complete: Ctrl-C leaves nothing behind
        finally:
            _pending = None
        return _discovery


class PluginDiscovery:
    """The :class:`~obsnets.registry.Discovery` the process registry uses."""

    def declare(self, registry: Registry) -> None:
        """Load installed plugins and declare their components in ``registry``."""
        _get_discovery().declare(registry)

    def explain_missing(self, name: str, kind: str | None) -> tuple[str, BaseException | None]:
        """See :func:`explain_missing`."""
        return explain_missing(name, kind)

    def disable_example(self, entries: Sequence[ComponentEntry]) -> str:
        """``OBSNETS_DISABLE_PLUGINS=<plugin>`` for the last switchable plugin of ``entries``."""
        switchable = [e.plugin for e in entries if e.plugin and e.provider != CORE_DISTRIBUTION]
        return f"{DISABLE_ENV}={switchable[-1] if switchable else '<plugin>'}"


registry.use_discovery(PluginDiscovery())


def call_hook(hook_name: str, **kwargs: Any) -> list[Any]:
    """Call one of :data:`ISOLATED_HOOKS` on every plugin, each plugin's error isolated.

    Plugins are called in pluggy's order. A plugin whose implementation raises (anything but
    an :class:`~obsnets.errors.ObsnetsError`, which reports bad input and propagates) gets a
    :class:`PluginHookWarning` naming it, is recorded (``obsnets plugins`` shows it) and is
    not called for this hook again; the other plugins' answers still count.

    Args:
        hook_name: The hook, e.g. ``"obsnets_network_built"``.
        **kwargs: The hook's arguments.

    Returns:
        The non-``None`` answers; at most the first one for a ``firstresult`` hook.
    """
    discovery = _get_discovery()
    return call_each_plugin(discovery.manager, hook_name, kwargs, discovery.plugins)


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
    except (Exception, SystemExit):
        return False
    return name.rsplit(":", 1)[-1] in names
