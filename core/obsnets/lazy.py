"""Lazy package exports, so a plugin's package root stays cheap to import.

A plugin's ``plugin.py`` is imported at discovery; Python imports the package ``__init__``
first. Exporting components through :func:`lazy_exports` keeps ``from obsnets_visual import
VisualCore`` working while importing the defining module only on first access.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, targets: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's module-level ``__getattr__`` and ``__dir__`` (PEP 562).

    Args:
        package: The package's ``__name__``.
        targets: Exported name -> ``"module:attribute"`` import string.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``; ``__dir__`` lists
        the package's public API: the lazy names and its ``__all__`` (names imported eagerly,
        ``from obsnets.errors import ...`` say), not helpers such as ``importlib``.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook's name
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook's name
        return sorted({*targets, *getattr(sys.modules[package], "__all__", ())})

    return __getattr__, __dir__
