"""Which installed plugins the user switched off: ``OBSNETS_DISABLE_PLUGINS`` and
``OBSNETS_LOAD_PLUGINS``.

``OBSNETS_DISABLE_PLUGINS``
    ``1`` / ``all`` / ``*`` / ``true`` disables every installed plugin; otherwise a
    comma-separated list of plugin (entry-point) or distribution names to skip. The core's own
    declarations (distribution ``obsnets``) always load.
``OBSNETS_LOAD_PLUGINS``
    A comma-separated list: load only these plugins. Set but empty: load none.

A name in either list that is neither an installed plugin nor its distribution is a typo that
would otherwise change nothing: it is warned about (:class:`~obsnets.errors.PluginSelectionWarning`)
with the installed names that look like it. Distribution names compare as pip compares them
(``obsnets_visual`` is ``obsnets-visual``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

from obsnets.errors import PluginSelectionWarning, suggestion
from obsnets.plugin_compatibility import CORE_DISTRIBUTION, canonical_name

__all__ = ["DISABLE_ENV", "LOAD_ENV", "blocked_reason", "warn_unknown_names"]

DISABLE_ENV = "OBSNETS_DISABLE_PLUGINS"
LOAD_ENV = "OBSNETS_LOAD_PLUGINS"
_EVERY_PLUGIN = {"1", "all", "*", "true"}


def _listed(variable: str) -> set[str]:
    return {part.strip() for part in os.environ.get(variable, "").split(",") if part.strip()}


def _matches(listed: Iterable[str], name: str, distribution: str | None) -> bool:
    dist = canonical_name(distribution) if distribution else None
    return any(item == name or canonical_name(item) == dist for item in listed)


def blocked_reason(name: str, distribution: str | None) -> tuple[str, str]:
    """Why the environment switches off plugin ``name``, and how to switch it on.

    Args:
        name: The plugin's entry-point name, e.g. ``"visual"``.
        distribution: Its distribution, e.g. ``"obsnets-visual"``.

    Returns:
        ``(reason, fix)``, e.g. ``("listed in OBSNETS_DISABLE_PLUGINS", "remove 'visual'
        from OBSNETS_DISABLE_PLUGINS")``; two empty strings when the plugin may load.
    """
    if distribution == CORE_DISTRIBUTION:
        return "", ""  # the core's own components are not a plugin one can switch off
    disable = os.environ.get(DISABLE_ENV)
    if disable is not None:
        if disable.strip().lower() in _EVERY_PLUGIN:
            return f"{DISABLE_ENV}={disable} disables all plugins", f"unset {DISABLE_ENV}"
        if _matches(_listed(DISABLE_ENV), name, distribution):
            return f"listed in {DISABLE_ENV}", f"remove {name!r} from {DISABLE_ENV}"
    allow = os.environ.get(LOAD_ENV)
    if allow is not None and not _matches(_listed(LOAD_ENV), name, distribution):
        return f"not listed in {LOAD_ENV}={allow!r}", f"add {name!r} to {LOAD_ENV}"
    return "", ""


def warn_unknown_names(installed: Iterable[tuple[str, str | None]]) -> None:
    """Warn about each name in the two variables that no installed plugin answers to.

    Args:
        installed: ``(plugin name, distribution)`` of every installed plugin.
    """
    plugins = list(installed)
    known = sorted({n for n, _ in plugins} | {d for _, d in plugins if d})
    for variable in (DISABLE_ENV, LOAD_ENV):
        if (
            variable == DISABLE_ENV
            and os.environ.get(variable, "").strip().lower() in _EVERY_PLUGIN
        ):
            continue
        for item in sorted(_listed(variable)):
            if any(_matches([item], n, d) for n, d in plugins):
                continue
            warnings.warn(
                PluginSelectionWarning(
                    f"{variable} names {item!r}, which is not an installed plugin or "
                    f"distribution, so it changes nothing.{suggestion(item, known)} Installed "
                    f"plugins: {', '.join(sorted(n for n, _ in plugins)) or 'none'} (see "
                    f"'obsnets plugins')."
                ),
                stacklevel=2,
            )
