"""Pinning plain names to qualified names while a saved model is rebuilt.

Inside :func:`pinned_names` (``obsnets.load`` uses it with the components a saved model
recorded), the registry resolves a plain name to the qualified name pinned for it, so a
provider of the same plain name installed later cannot change, or make ambiguous, what a
saved model loads. The pins live in a context variable: they apply to the current thread or
task only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["pinned_name", "pinned_names"]

_pins: ContextVar[dict[str, list[tuple[str, str]]] | None] = ContextVar(
    "obsnets_pinned_names", default=None
)


@contextmanager
def pinned_names(components: Iterable[tuple[str, str, str]]) -> Iterator[None]:
    """Within the block, resolve the given plain names to the given qualified names.

    Args:
        components: ``(kind, plain name, qualified name)`` triples, e.g. what a saved model
            recorded for every component in it. A plain name pinned to two different classes
            of one kind is not pinned (such a model named them by qualified name).

    Applies to :func:`resolve_component` (and so to every build) in the current thread or
    task; qualified names, classes and names that are not pinned resolve as usual.
    """
    pins: dict[str, list[tuple[str, str]]] = {}
    for kind, name, qualified in components:
        if (kind, qualified) not in pins.setdefault(name, []):
            pins[name].append((kind, qualified))
    token = _pins.set(pins)
    try:
        yield
    finally:
        _pins.reset(token)


def pinned_name(name: str, kind: str | None) -> str | None:
    """The qualified name ``name`` is pinned to for ``kind`` in this context, if exactly one."""
    candidates = {q for k, q in (_pins.get() or {}).get(name, ()) if kind is None or k == kind}
    return candidates.pop() if len(candidates) == 1 else None
