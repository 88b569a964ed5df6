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
- a second distribution declaring a plugin name already taken fails alone, not imported;
- an interrupted discovery (Ctrl-C) keeps nothing; the next lookup discovers again.

Before a plugin is imported, its distribution's ``obsnets`` requirement is checked against the
installed obsnets (:mod:`obsnets.plugin_compatibility`): a plugin that does not support it is
``incompatible``, not loaded, and asking for one of its components says so and how to fix it.
A plugin's hook implementations are validated as it registers (:mod:`obsnets.plugin_validation`):
a misspelled hook name fails that plugin alone. A disabled or incompatible plugin's components
are refused also by qualified name, so naming a module cannot bring back what was switched off.

This module depends on :mod:`obsnets.registry`, never the reverse: importing it gives the
registry its :class:`~obsnets.registry.Discovery`.

``OBSNETS_DISABLE_PLUGINS`` and ``OBSNETS_LOAD_PLUGINS`` (read at discovery) switch plugins
off; see :mod:`obsnets.plugin_selection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from obsnets import hookspecs, plugin_availability
from obsnets.errors import ComponentCollisionError, ObsnetsError, PluginLoadError
from obsnets.plugin_compatibility import (
    CORE_DISTRIBUTION,
    incompatibility,
    installed_obsnets_version,
)
from obsnets.plugin_hooks import ISOLATED_HOOKS, PluginHookWarning, call_each_plugin
from obsnets.plugin_info import ENTRY_POINT_GROUP, UNUSABLE, PluginInfo
from obsnets.plugin_selection import DISABLE_ENV, LOAD_ENV, blocked_reason, warn_unknown_names
from obsnets.plugin_validation import check_hook_names, register_checked
from obsnets.registry import KINDS, ComponentEntry, Registry, qualified_name_of, registry
from obsnets.trust import top_level_package

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
    "unavailable",
]


class _Discovery:
    """The process's pluggy manager and what it knows of each plugin."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.blocked_packages: dict[str, PluginInfo] = {}
        """Top-level package -> the disabled or incompatible plugin it belongs to."""

    def load_entry_points(self) -> None:
        installed = installed_obsnets_version()
        dists: dict[str, Any] = {}
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            first = self.plugins.get(ep.name)
            if first is not None and (first.module, first.distribution) == (
                ep.value,
                info.distribution,
            ):
                continue  # the same distribution seen twice on sys.path
            info.reason, info.fix = blocked_reason(info.name, info.distribution)
            key = ep.name if first is None else self.key_of(info)
            dists[key] = dist
            if key != ep.name and not info.reason:
                self.fail_duplicate(info)
                continue
            self.plugins[key] = info
            if info.reason:
                info.status = "disabled"
                continue
            try:
                self.check_compatible(info, getattr(dist, "requires", None), installed)
                if info.status == "loaded":
                    register_checked(self.manager, ep.load(), info.name)
            except (Exception, SystemExit) as exc:  # a broken plugin must not break the others
                self.fail(info, exc, f"loading {ep.value!r} failed")
        # Names are checked once all specs are in: a plugin may implement another's hook.
        loaded = [info for info in self.plugins.values() if info.status == "loaded"]
        for info in loaded:
            self.add_hookspecs(info)
        for info in loaded:
            self.check_names(info)
        self.block_packages(dists)

    def fail_duplicate(self, info: PluginInfo) -> None:
        """Fail ``info``, a second plugin under a name already taken, leaving the first alone.

        It is kept under its own key (``"name (distribution)"``) so that ``obsnets plugins``
        shows it with its error.
        """
        first = self.plugins[info.name]
        error = PluginLoadError(
            f"Plugin name {info.name!r} is declared by two distributions: {first.distribution} "
            f"(kept under that name) and {info.distribution} (not loaded). Uninstall one of "
            f"them, or rename the entry point in one distribution's "
            f"[project.entry-points.{ENTRY_POINT_GROUP}]."
        )
        self.plugins[self.key_of(info)] = info
        self.record_failure(info, error, "its name is taken")  # the manager holds the first

    @staticmethod
    def key_of(info: PluginInfo) -> str:
        """The key of a second plugin under a name already taken (``"name (distribution)"``)."""
        return f"{info.name} ({info.distribution})"

    @staticmethod
    def check_compatible(
        info: PluginInfo, requires: list[str] | None, installed: str | None
    ) -> None:
        """Mark ``info`` incompatible when its distribution's obsnets requirement excludes
        the installed version."""
        clash = incompatibility(requires, installed)
        if clash is not None:
            info.status, info.reason = "incompatible", clash.reason
            info.fix = clash.fix(info.distribution)

    def block_packages(self, dists: dict[str, Any]) -> None:
        """Refuse the packages of disabled and incompatible plugins that no usable plugin
        shares (a plugin module inside another plugin's package blocks nothing of it).

        Args:
            dists: Plugin name -> its distribution (``importlib.metadata.Distribution``).
        """
        if all(p.status not in UNUSABLE for p in self.plugins.values()):
            return  # the usual case: nothing to read
        packages = {n: _top_level_packages(p.module, dists.get(n)) for n, p in self.plugins.items()}
        usable = set().union(
            *(packages[n] for n, p in self.plugins.items() if p.status not in UNUSABLE)
        )
        self.blocked_packages = {
            package: info
            for name, info in self.plugins.items()
            if info.status in UNUSABLE
            for package in packages[name] - usable
        }

    def register(self, plugin: ModuleType | object, info: PluginInfo) -> None:
        """Register a plugin at runtime: arguments, its own specs, then its hook names."""
        if info.name in self.plugins:
            raise PluginLoadError(
                f"Plugin name {info.name!r} is already taken by the installed plugin "
                f"{info.name!r} ({self.plugins[info.name].distribution}); register this one "
                f"under another name."
            )
        register_checked(self.manager, plugin, info.name)
        self.add_hookspecs(info)
        if info.status == "failed":
            raise PluginLoadError(f"Plugin {info.name!r}: {info.reason}") from info.error
        check_hook_names(self.manager, plugin, info.name)  # unregisters it when it raises
        self.plugins[info.name] = info

    def add_hookspecs(self, info: PluginInfo) -> None:
        """Call ``info``'s own ``obsnets_add_hookspecs``, if it has one."""
        plugin = self.manager.get_plugin(info.name)
        if plugin is None or not hasattr(plugin, "obsnets_add_hookspecs"):
            return
        others = [p for p in self.manager.get_plugins() if p is not plugin]
        try:
            self.manager.subset_hook_caller("obsnets_add_hookspecs", others)(
                plugin_manager=self.manager
            )
        except (Exception, SystemExit) as exc:
            self.fail(info, exc, "adding its hook specs failed")

    def check_names(self, info: PluginInfo) -> None:
        """Fail ``info`` alone if it implements a hook that no plugin defines."""
        plugin = self.manager.get_plugin(info.name)
        if plugin is None:
            return
        try:
            check_hook_names(self.manager, plugin, info.name)
        except PluginLoadError as exc:
            self.fail(info, exc, f"loading {info.module!r} failed")

    def fail(self, info: PluginInfo, exc: BaseException, what: str) -> None:
        """Record ``info``'s failure and unregister it, if it was registered."""
        self.record_failure(info, exc, what)
        if self.manager.has_plugin(info.name):
            self.manager.unregister(name=info.name)

    @staticmethod
    def record_failure(info: PluginInfo, exc: BaseException, what: str) -> None:
        """Mark ``info`` failed with ``exc`` while ``what`` (the reason ``obsnets plugins``
        shows)."""
        info.status, info.error = "failed", exc
        info.reason = f"{what}: {type(exc).__name__}: {exc}"

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
    return top_level_package(info.module) == top_level_package(entry.qualified_name)


def _entry(info: PluginInfo, kind: str, name: str, target: str | type) -> ComponentEntry:
    if kind not in KINDS:
        raise PluginLoadError(
            f"plugin {info.name!r} registered {name!r} under unknown kind {kind!r}; "
            f"kinds are {', '.join(KINDS)}."
        )
    if isinstance(target, type):
        qualified = qualified_name_of(target)
    elif isinstance(target, str) and ":" in target:
        qualified = target
    else:
        raise PluginLoadError(
            f"plugin {info.name!r} registered {name!r} with target {target!r}; expected an "
            f"import string 'package.module:ClassName' or a class."
        )
    return ComponentEntry(kind, name, qualified, info.distribution or info.name, target, info.name)


def _top_level_packages(module: str, dist: Any) -> set[str]:
    """The plugin module's top-level package, and those its distribution records."""
    read_text = getattr(dist, "read_text", None)
    recorded = (read_text("top_level.txt") or "") if read_text is not None else ""
    return {top_level_package(module), *recorded.split()}


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
        discovery = _pending = _Discovery()
        try:
            discovery.load_entry_points()
            _discovery = discovery  # kept only once complete: Ctrl-C leaves nothing behind
        finally:
            _pending = None
    # Outside the transaction: a warning turned into an error must not undo discovery.
    warn_unknown_names((p.name, p.distribution) for p in discovery.plugins.values())
    return discovery


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

    def unavailable(self, name: str, kind: str | None) -> ObsnetsError | None:
        """See :func:`unavailable`."""
        return unavailable(name, kind)


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
    """Every installed plugin, loaded, disabled, incompatible or failed, sorted by name."""
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

    Raises:
        PluginLoadError: ``name`` is taken, a hook implementation is misnamed or has the
            wrong arguments, or declaring its components fails (its hook raises, a
            declaration is malformed, or a qualified name is another provider's); the plugin
            is not registered then.
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
    if info.status == "failed":
        unregister_plugin(name)
        raise PluginLoadError(f"Plugin {name!r}: {info.reason}") from info.error


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin` and its components."""
    discovery = _get_discovery()
    info = discovery.plugins.pop(name, None)
    if discovery.manager.has_plugin(name):
        discovery.manager.unregister(name=name)
    if info is not None:
        registry.remove_plugin(name)


def reset() -> None:
    """Forget discovery (tests use this after changing the environment variables)."""
    global _discovery
    _discovery = None
    registry.reset_discovery()


def explain_missing(name: str, kind: str | None) -> tuple[str, BaseException | None]:
    """Say why ``name`` is not available: a plugin failed, or is not installed.

    See :func:`obsnets.plugin_availability.explain_missing`; ``kind`` is not used.
    """
    return plugin_availability.explain_missing(_get_discovery().plugins.values(), name)


def unavailable(name: str, kind: str | None) -> ObsnetsError | None:
    """The error for a component of an installed plugin that is disabled or incompatible.

    See :func:`obsnets.plugin_availability.unavailable`.
    """
    discovery = _get_discovery()
    return plugin_availability.unavailable(
        discovery.plugins.values(), discovery.blocked_packages, name, kind
    )
