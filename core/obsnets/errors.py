"""Every exception obsnets raises on purpose.

Each error inherits both ``ObsnetsError`` (so callers can catch everything obsnets reports) and
the builtin a Python user would naturally catch (``LookupError`` for a name that does not
resolve, ``TypeError`` for wrong arguments, ``ValueError`` for wrong values or shapes,
``ImportError`` for a plugin that cannot be loaded). Messages name the component, say what was
expected and what was given, and suggest the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "AmbiguousNameError",
    "ComponentCollisionError",
    "ComponentKindError",
    "ConfigError",
    "DisabledPluginError",
    "HubError",
    "IncompatiblePluginError",
    "InvalidKwargsError",
    "ObsnetsError",
    "PluginLoadError",
    "PluginSelectionWarning",
    "ShapeError",
    "UnknownComponentError",
    "close_matches",
    "format_shape",
    "suggestion",
]


class ObsnetsError(Exception):
    """Base class of every error obsnets raises on purpose."""


class UnknownComponentError(ObsnetsError, LookupError):
    """A component name that no installed provider registers."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class AmbiguousNameError(ObsnetsError, LookupError):
    """A plain component name that several providers register."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ComponentCollisionError(ObsnetsError, LookupError):
    """Two providers claim the same qualified component name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ComponentKindError(UnknownComponentError):
    """A component name used in a slot of another kind (a pool given as a backbone)."""


class InvalidKwargsError(ObsnetsError, TypeError):
    """Keyword arguments a component does not accept, or required ones that are missing."""


class ConfigError(ObsnetsError, ValueError):
    """A configuration value that is malformed or contradicts another one."""


class ShapeError(ObsnetsError, ValueError):
    """A tensor or declared shape that does not match what a component expects."""


class PluginLoadError(ObsnetsError, ImportError):
    """A plugin, or the module defining one of its components, failed to load."""


class IncompatiblePluginError(PluginLoadError):
    """A component of a plugin that does not support the installed obsnets version."""


class DisabledPluginError(UnknownComponentError):
    """A component of a plugin switched off by ``OBSNETS_DISABLE_PLUGINS`` (or left out of
    ``OBSNETS_LOAD_PLUGINS``), asked for by plain or qualified name."""


class HubError(ObsnetsError, OSError):
    """A model could not be fetched from, or sent to, the Hugging Face Hub.

    The message names the repository, the revision and the cache folder looked in, and says
    how to fix it (go online, download it first, log in).
    """


class PluginSelectionWarning(UserWarning):
    """``OBSNETS_DISABLE_PLUGINS`` or ``OBSNETS_LOAD_PLUGINS`` names no installed plugin."""


def close_matches(name: object, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name``, best first.

    Args:
        name: The misspelled name; compared as ``str(name)``, since a key read from YAML or
            JSON may be an int or another non-string.
        candidates: The names that exist.
        n: How many suggestions at most.
    """
    pool = sorted({str(c) for c in candidates})
    by_case = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(str(name).lower(), list(by_case), n=n, cutoff=0.6)
    return [by_case[f] for f in found]


def suggestion(name: object, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x' or 'y'?"`` for close matches of ``name``, or ``""``.

    ``name`` need not be a string (see :func:`close_matches`).
    """
    matches = close_matches(name, candidates)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def format_shape(shape: Sequence[int] | None) -> str:
    """Format a shape without batch dimension as ``(C, H, W)`` for messages."""
    if shape is None:
        return "None"
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"
