"""The component registry: one place that maps names to classes, per kind.

A component becomes nameable in three ways, all ending here:

1. a subclass of a registered base (``EncoderCore``, ``ConvBase``, ``Pool``, ``Randomizer``,
   ``Network``, ``Prior``) registers itself when the class is created;
2. an installed plugin declares it lazily, as an import string, through the
   ``obsnets_register_components`` hook, so resolving the name imports only its module;
3. anybody calls :func:`register` explicitly.

Identity is ``"module:QualName"``: re-importing or reloading a module replaces its entries
quietly, while two different providers of one qualified name is a collision. Plain names
resolve when exactly one provider has them; otherwise the error lists every provider and the
qualified names that settle it, or the plugin to disable (:mod:`obsnets.name_conflicts`). A
name of another kind than the caller's slot says what it is ("a pool, not a backbone"). A
component of a disabled or incompatible plugin is refused whether named plainly or qualified
(the :class:`Discovery` says which plugin and why), so naming its module brings nothing back.

Inside :func:`pinned_names` (see :mod:`obsnets.pinning`), a plain name resolves to the
qualified name a saved model recorded for it. What a name may import is decided in
:mod:`obsnets.trust`: a name no installed plugin declared and no running code registered
imports nothing unless the caller passed ``trust_code=True``.

The registry knows nothing of plugins: :mod:`obsnets.plugins` hands it a :class:`Discovery`
(declare installed plugins' components, explain a missing name), so the dependency runs one
way. Discovery is a transaction: interrupted (Ctrl-C), it leaves no plugin's declarations
behind, and the next lookup runs it again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Protocol

from obsnets.errors import (
    AmbiguousNameError,
    ComponentCollisionError,
    ComponentKindError,
    ObsnetsError,
    UnknownComponentError,
    suggestion,
)
from obsnets.name_conflicts import ambiguity_message, wrong_kind_message
from obsnets.pinning import pinned_name, pinned_names
from obsnets.trust import import_class, split_qualified_name, top_level_package, trusting_code

__all__ = [
    "KINDS",
    "ComponentEntry",
    "Discovery",
    "Registry",
    "is_component",
    "list_components",
    "pinned_names",
    "qualified_name_of",
    "register",
    "registry",
    "resolve_component",
]

KINDS: tuple[str, ...] = ("encoder_core", "backbone", "pool", "randomizer", "network", "prior")
"""The component kinds. A class belongs to the kind of the nearest registered base it derives
from; a config names a component within the kind its slot expects."""


def qualified_name_of(cls: type) -> str:
    """Return a class's identity, ``"module:QualName"``."""
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass(frozen=True)
class ComponentEntry:
    """One registered component.

    Attributes:
        kind: One of :data:`KINDS`.
        name: The plain name a config uses (the class name unless declared otherwise).
        qualified_name: ``"module:QualName"`` of the class; the entry's identity.
        provider: The distribution that declared it (e.g. ``"obsnets-visual"``), or ``None``
            for a class defined outside any plugin (a user's script or test).
        target: The class once imported, or the import string while still lazy.
        plugin: The plugin (entry-point name) that declared it, if any.
    """

    kind: str
    name: str
    qualified_name: str
    provider: str | None
    target: type | str = field(compare=False)
    plugin: str | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether the class has been imported."""
        return isinstance(self.target, type)

    @property
    def provider_label(self) -> str:
        """Who provides it, for messages: the distribution, or the defining module."""
        return self.provider or f"module {self.qualified_name.split(':', 1)[0]}"


class Discovery(Protocol):
    """What the registry needs from plugin discovery (:mod:`obsnets.plugins` provides it)."""

    def declare(self, registry: Registry) -> None:
        """Declare every installed plugin's components in ``registry``."""

    def explain_missing(self, name: str, kind: str | None) -> tuple[str, BaseException | None]:
        """A hint for an unknown name (a failed, disabled or missing plugin) and its cause."""

    def disable_example(self, entries: Sequence[ComponentEntry]) -> str:
        """How to switch off the plugin of one of ``entries``, e.g. ``"VAR=name"``."""

    def unavailable(self, name: str, kind: str | None) -> ObsnetsError | None:
        """The error for a name of an installed plugin kept out (disabled or incompatible).

        Asked for every qualified name no plugin declared before it is imported, and for
        every class no plugin declared before it is returned, so it must be cheap for those.
        """


class Registry:
    """A thread-safe store of :class:`ComponentEntry`, keyed by (kind, qualified name).

    Plugin discovery runs the first time a name is looked up, through the :class:`Discovery`
    given to :meth:`use_discovery`.
    """

    def __init__(self, discovery: Discovery | None = None) -> None:
        """Create an empty registry.

        Args:
            discovery: Declares installed plugins' components before the first lookup.
        """
        self._entries: dict[tuple[str, str], ComponentEntry] = {}
        self._lock = threading.RLock()
        self._discovery = discovery
        self._discovered = discovery is None
        self._discovering = False

    @property
    def lock(self) -> threading.RLock:
        """The re-entrant lock held while entries change and while discovery runs."""
        return self._lock

    def use_discovery(self, discovery: Discovery) -> None:
        """Discover plugins with ``discovery`` at the next lookup."""
        with self._lock:
            self._discovery, self._discovered = discovery, False

    # -- writing -----------------------------------------------------------------------------

    def add(self, entry: ComponentEntry) -> ComponentEntry:
        """Store ``entry``; a re-registration of the same identity replaces quietly.

        Raises:
            ComponentCollisionError: if another provider already holds this qualified name,
                or the same provider declared it under another kind.
        """
        if entry.kind not in KINDS:
            raise UnknownComponentError(
                f"Unknown component kind {entry.kind!r} for {entry.qualified_name}; "
                f"kinds are {', '.join(KINDS)}.{suggestion(entry.kind, KINDS)}"
            )
        key = (entry.kind, entry.qualified_name)
        with self._lock:
            old = self._entries.get(key)
            if old is not None:
                entry = self._merge(old, entry)
            self._entries[key] = entry
        return entry

    def add_all(self, entries: Sequence[ComponentEntry]) -> None:
        """Store every entry, or none: a collision raises before anything is written."""
        with self._lock:
            saved = dict(self._entries)
            try:
                for entry in entries:
                    self.add(entry)
            except BaseException:
                self._entries = saved
                raise

    @staticmethod
    def _merge(old: ComponentEntry, new: ComponentEntry) -> ComponentEntry:
        if None not in (old.provider, new.provider) and old.provider != new.provider:
            raise ComponentCollisionError(
                f"{old.kind} {old.qualified_name!r} is declared by two providers: "
                f"{old.provider} and {new.provider}. Uninstall one of them, or disable one "
                f"with OBSNETS_DISABLE_PLUGINS."
            )
        # A class created when its lazily declared module is imported carries no provider:
        # it keeps the declaration's provider, plugin and plain name. A lazy re-declaration
        # keeps the class already imported.
        base = new if new.provider is not None else old
        keep_class = isinstance(old.target, type) and not isinstance(new.target, type)
        return replace(base, target=old.target if keep_class else new.target)

    def remove(self, kind: str, qualified_name: str) -> None:
        """Forget one entry (tests use this to clean up classes they define)."""
        with self._lock:
            self._entries.pop((kind, qualified_name), None)

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry the plugin ``plugin`` declared."""
        with self._lock:
            self._entries = {k: e for k, e in self._entries.items() if e.plugin != plugin}

    # -- reading -----------------------------------------------------------------------------

    def entries(self, kind: str | None = None) -> list[ComponentEntry]:
        """All entries, optionally of one kind, sorted by kind then name."""
        self._ensure_discovered()
        with self._lock:
            found = [e for e in self._entries.values() if kind is None or e.kind == kind]
        return sorted(found, key=lambda e: (e.kind, e.name.lower(), e.qualified_name))

    def find(self, name: str, kind: str | None = None) -> list[ComponentEntry]:
        """Entries matching a plain or qualified name, optionally within one kind."""
        qualified = ":" in name
        return [
            e
            for e in self.entries(kind)
            if (e.qualified_name == name if qualified else e.name == name)
        ]

    def lookup(self, name: str, kind: str | None = None) -> ComponentEntry:
        """Return the one entry ``name`` designates, importing nothing.

        Raises:
            UnknownComponentError: no provider has it (close matches and the plugin that
                would provide it are suggested); as :class:`~obsnets.errors.ComponentKindError`
                when it names a component of another kind ("a pool, not a backbone"), as
                :class:`~obsnets.errors.DisabledPluginError` when a disabled plugin has it.
            IncompatiblePluginError: a plugin that does not support this obsnets has it.
            AmbiguousNameError: several providers have this plain name.
        """
        found = self.find(name, kind)
        if len(found) == 1:
            return found[0]
        if found:
            example = self._discovery.disable_example(found) if self._discovery else "<plugin>"
            raise AmbiguousNameError(ambiguity_message(name, kind, found, example))
        raise self._unknown(name, kind)

    def resolve(self, name: str | type, kind: str | None = None) -> type:
        """Return the class a name designates, importing only the module that defines it.

        Args:
            name: A plain name (``"VisualCore"``), a qualified name
                (``"obsnets_visual.visual_core:VisualCore"``), or a class (returned as is:
                passing a class is how a caller opts out of name lookup).
            kind: Restrict the lookup to one kind.
        """
        if isinstance(name, type):
            return name
        if not isinstance(name, str):
            raise UnknownComponentError(
                f"A component is named by a string or given as a class; got "
                f"{type(name).__name__} {name!r}."
            )
        if ":" in name:
            split_qualified_name(name)  # malformed names fail here, importing nothing
            if not self.find(name, kind):
                self._refuse_unavailable(name, kind)
                return self._resolve_undeclared(name, kind)
        pinned = None if ":" in name else pinned_name(name, kind)
        if pinned is not None:
            return self._resolve_pinned(name, pinned, kind)
        entry = self.lookup(name, kind)
        return self._load(entry)

    def _resolve_pinned(self, name: str, pinned: str, kind: str | None) -> type:
        # Only a declared or registered class: a name read from a file imports nothing else.
        found = self.find(pinned, kind)
        if len(found) == 1:
            return self._load(found[0])
        now = [e.qualified_name for e in self.find(name, kind)]
        raise UnknownComponentError(
            f"{kind or 'component'} {name!r} was saved as {pinned!r}, which is not registered "
            f"now (providers of {name!r} now: {now or 'none'}). Install the plugin that "
            f"provides it, or import the module that defines it before loading; a different "
            f"class of the same name is never substituted."
        )

    def _load(self, entry: ComponentEntry) -> type:
        if entry.plugin is None:  # a class its module registered: is that module switched off?
            self._refuse_unavailable(entry.qualified_name, entry.kind)
        if isinstance(entry.target, type):
            return entry.target
        owner = f" (declared by plugin {entry.plugin!r} of {entry.provider})"
        cls = import_class(entry.target, declared=True, owner=owner)
        self.add(replace(entry, target=cls))
        return cls

    def plugin_packages(self) -> set[str]:
        """Top-level packages in which loaded plugins declared components."""
        return {top_level_package(e.qualified_name) for e in self.entries() if e.plugin is not None}

    def is_in_plugin_package(self, name: str) -> bool:
        """Whether a plugin vouches for importing ``name``'s module although it declared no
        component there: the trust rule for a qualified name nobody declared.

        Such a module lies in the top-level package of a loaded plugin's declarations (a
        re-export such as ``"obsnets_visual:VisualCore"``), so importing it runs no code that
        installing the plugin did not already trust. ``obsnets inspect`` asks the same question
        as loading does.

        Args:
            name: A qualified name ``"package.module:Class"`` (or a module name).
        """
        return top_level_package(name) in self.plugin_packages()

    def _refuse_unavailable(self, name: str, kind: str | None) -> None:
        error = self._discovery.unavailable(name, kind) if self._discovery else None
        if error is not None:
            raise error

    def _resolve_undeclared(self, name: str, kind: str | None) -> type:
        # A qualified name nobody declared: a re-export inside a plugin's package, a module the
        # program imported, or (only with trust) any module. The class must be registered.
        wrong_kind = self._wrong_kind(name, kind)
        if wrong_kind is not None:
            raise wrong_kind
        cls = import_class(name, declared=self.is_in_plugin_package(name))
        entries = [e for e in self.find(qualified_name_of(cls)) if kind is None or e.kind == kind]
        if not entries:
            wanted = f"a registered {kind}" if kind else "a registered component"
            raise UnknownComponentError(
                f"{name!r} imports a class, but it is not {wanted}: subclass the matching "
                f"obsnets base class (e.g. obsnets.EncoderCore) so it registers itself."
            )
        return cls

    def _wrong_kind(self, name: str, kind: str | None) -> ComponentKindError | None:
        elsewhere = [e for e in self.find(name) if e.kind != kind] if kind else []
        if not elsewhere:
            return None
        known = [e.name for e in self.entries(kind)]
        return ComponentKindError(wrong_kind_message(name, str(kind), elsewhere, known))

    def _unknown(self, name: str, kind: str | None) -> ObsnetsError:
        refusal = self._wrong_kind(name, kind) or (
            self._discovery.unavailable(name, kind) if self._discovery else None
        )
        if refusal is not None:
            return refusal
        known = [e.name for e in self.entries(kind)]
        where = f" {kind}" if kind else " component"
        message = f"Unknown{where} {name!r}.{suggestion(name, known)}"
        hint, cause = (
            self._discovery.explain_missing(name, kind)
            if self._discovery is not None
            else ("", None)
        )
        error = UnknownComponentError(message + hint)
        error.__cause__ = cause
        return error

    def _ensure_discovered(self) -> None:
        if self._discovered:
            return
        with self._lock:
            # A lookup made by a plugin while discovery runs sees what is declared so far.
            if self._discovered or self._discovering or self._discovery is None:
                return
            self._discovering = True
            saved = dict(self._entries)
            try:
                self._discovery.declare(self)
                self._discovered = True
            except BaseException:
                # Interrupted: no half-declared plugins; the next lookup discovers again.
                self._entries = {
                    **saved,
                    **{k: e for k, e in self._entries.items() if not e.plugin},
                }
                raise
            finally:
                self._discovering = False

    def reset_discovery(self) -> None:
        """Forget plugin-declared entries and discover again at the next lookup."""
        with self._lock:
            self._entries = {k: e for k, e in self._entries.items() if e.plugin is None}
            self._discovered = self._discovery is None

    @contextmanager
    def isolated(self) -> Iterator[Registry]:
        """Undo every registration made inside the ``with`` block (for tests)."""
        with self._lock:
            saved, discovered = dict(self._entries), self._discovered
        try:
            yield self
        finally:
            with self._lock:
                self._entries, self._discovered = saved, discovered

    def __iter__(self) -> Iterator[ComponentEntry]:
        return iter(self.entries())


registry = Registry()
"""The process-wide registry every obsnets lookup uses (:mod:`obsnets.plugins` gives it its
discovery when imported, which ``import obsnets`` does)."""


def register(
    cls: type, kind: str, name: str | None = None, provider: str | None = None
) -> ComponentEntry:
    """Register ``cls`` explicitly (classes deriving from a registered base need not).

    Args:
        cls: The component class.
        kind: One of :data:`KINDS`.
        name: The plain name; defaults to ``cls.__name__``.
        provider: The distribution that provides it, if any.
    """
    return registry.add(
        ComponentEntry(kind, name or cls.__name__, qualified_name_of(cls), provider, cls)
    )


def resolve_component(
    name: str | type, kind: str | None = None, *, trust_code: bool = False
) -> type:
    """Return the class for a component name (see :meth:`Registry.resolve`).

    Args:
        name: A plain or qualified name, or a class.
        kind: Restrict the lookup to one kind.
        trust_code: Let a qualified name that no installed plugin declares import its module
            (see :mod:`obsnets.trust`). Off by default, also for names written in code: a
            user's own class is nameable once its module is imported, with no import here.
            ``False`` keeps the setting of an enclosing trusted call.
    """
    with trusting_code(trust_code):
        return registry.resolve(name, kind)


def is_component(name: str, kind: str | None = None) -> bool:
    """Whether ``name`` designates exactly one registered component."""
    return len(registry.find(name, kind)) == 1


def list_components(kind: str | None = None, pattern: str = "*") -> list[ComponentEntry]:
    """Entries of one kind (or all) whose plain or qualified name matches a glob pattern."""
    return [
        e
        for e in registry.entries(kind)
        if fnmatchcase(e.name, pattern) or fnmatchcase(e.qualified_name, pattern)
    ]
