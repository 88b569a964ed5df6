"""A plain name that does not designate one component where it is used, and what to write.

Two cases, each said the same way wherever it shows up (an error from the registry,
``obsnets list``, ``obsnets plugins``):

- a **collision**: several providers register the same plain name within one kind (two plugins
  both ship an ``AcmeNet`` backbone). The plain name resolves to neither; the user writes one
  of the qualified names, or disables the plugin whose class they do not want;
- a **wrong slot**: the name exists, but as another kind than the slot expects ("AcmeGeMPool
  is a pool, not a backbone").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from obsnets.errors import suggestion

if TYPE_CHECKING:
    from obsnets.registry import ComponentEntry

__all__ = ["ambiguity_message", "colliding_names", "collision_advice", "wrong_kind_message"]


def colliding_names(
    entries: Iterable[ComponentEntry],
) -> dict[tuple[str, str], list[ComponentEntry]]:
    """Every ``(kind, plain name)`` that more than one component has, with those components.

    Args:
        entries: Registry entries, e.g. :meth:`obsnets.registry.Registry.entries`.
    """
    by_name: dict[tuple[str, str], list[ComponentEntry]] = defaultdict(list)
    for entry in entries:
        by_name[(entry.kind, entry.name)].append(entry)
    return {key: found for key, found in sorted(by_name.items()) if len(found) > 1}


def _origin(entry: ComponentEntry) -> str:
    plugin = f", plugin {entry.plugin!r}" if entry.plugin else ""
    return f"from {entry.provider_label}{plugin}"


def _where(entry: ComponentEntry) -> str:
    return f"{entry.qualified_name!r} ({_origin(entry)})"


def collision_advice(name: str, found: Sequence[ComponentEntry]) -> str:
    """One line saying what to write instead of a colliding plain name.

    Args:
        name: The plain name, e.g. ``"AcmeNet"``.
        found: The components that have it (all of one kind).
    """
    return (
        f"{found[0].kind} {name!r} is provided {len(found)} times and resolves to none of them: "
        f"write " + " or ".join(_where(e) for e in found) + "."
    )


def ambiguity_message(
    name: str, kind: str | None, found: Sequence[ComponentEntry], example: str
) -> str:
    """The error for a plain name that several providers have.

    Args:
        name: The plain name asked for.
        kind: The kind the slot expects, if any.
        found: Every component that has the name.
        example: How to disable one provider, e.g. ``"OBSNETS_DISABLE_PLUGINS=acme"``.
    """
    lines = "\n".join(
        f"  {e.qualified_name!r}  ({e.kind}, from {e.provider_label}"
        + (f", plugin {e.plugin!r})" if e.plugin else ")")
        for e in found
    )
    return (
        f"{kind or 'component'} name {name!r} is provided by {len(found)} providers:\n{lines}"
        f"\nEither name one of them by its qualified name (e.g. {found[0].qualified_name!r} "
        f"instead of {name!r}), or disable the plugin whose {name!r} you do not want by its "
        f"name: {example}."
    )


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def wrong_kind_message(
    name: str, kind: str, elsewhere: Sequence[ComponentEntry], candidates: Iterable[str]
) -> str:
    """The error for a name used in a slot of another kind.

    Args:
        name: The name as given, e.g. ``"AcmeGeMPool"``.
        kind: The kind the slot expects, e.g. ``"backbone"``.
        elsewhere: The components of other kinds that have the name.
        candidates: The names of ``kind``, for close matches.
    """
    kinds = sorted({e.kind for e in elsewhere})
    what = " and ".join(_a(k) for k in kinds)
    named = ":" in name  # a qualified name needs no repeating
    providers = ", ".join(
        sorted(
            (f"{e.kind} " if len(kinds) > 1 else "") + (_origin(e) if named else _where(e))
            for e in elsewhere
        )
    )
    return (
        f"{name!r} is {what}, not {_a(kind)} ({providers}), so it cannot be used where "
        f"{_a(kind)} is expected. Give it where {' or '.join(_a(k) for k in kinds)} is "
        f"expected, or name {_a(kind)} here.{suggestion(name, candidates)} Run 'obsnets list "
        f"{kind}' to see every {kind}."
    )
