"""Calling a hook plugin by plugin, so that one plugin's error cannot stop a build.

pluggy stops a hook call at the first implementation that raises. For the hooks obsnets calls
on every build (:data:`ISOLATED_HOOKS`) a buggy plugin must not take the others down, so each
plugin is called on its own (with its own hook wrappers, through pluggy's subset callers): a
plugin that raises is warned about by name, recorded, and skipped for that hook from then on.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Protocol

import pluggy

from obsnets.errors import ObsnetsError

__all__ = ["ISOLATED_HOOKS", "HookRecord", "PluginHookWarning", "call_each_plugin"]

ISOLATED_HOOKS = ("obsnets_network_built", "obsnets_encoder_defaults")
"""Hooks called through :func:`call_each_plugin`, each plugin's error isolated."""


class PluginHookWarning(UserWarning):
    """A plugin's hook raised; the plugin is skipped for that hook from then on."""


class HookRecord(Protocol):
    """Where a plugin's hook failures are kept (:class:`obsnets.plugins.PluginInfo`)."""

    distribution: str | None
    hook_errors: dict[str, str]


def call_each_plugin(
    manager: pluggy.PluginManager,
    hook_name: str,
    kwargs: Mapping[str, Any],
    records: Mapping[str, HookRecord],
) -> list[Any]:
    """Call ``hook_name`` on each plugin in pluggy's order, isolating each plugin's errors.

    Args:
        manager: The plugin manager.
        hook_name: The hook, e.g. ``"obsnets_network_built"``.
        kwargs: The hook's arguments.
        records: Plugin name -> its record; a plugin whose record lists ``hook_name`` in
            ``hook_errors`` is skipped, and a new failure is written there.

    Returns:
        The non-``None`` answers; at most the first one for a ``firstresult`` hook.

    Raises:
        ObsnetsError: a plugin reported bad input on purpose (not isolated).
    """
    hook = getattr(manager.hook, hook_name)
    first_only = bool(hook.spec and hook.spec.opts.get("firstresult"))
    answers: list[Any] = []
    names = dict.fromkeys(impl.plugin_name for impl in reversed(hook.get_hookimpls()))
    for name in names:
        record = records.get(name)
        if record is not None and hook_name in record.hook_errors:
            continue
        plugin = manager.get_plugin(name)
        others = [p for p in manager.get_plugins() if p is not plugin]
        try:
            answer = manager.subset_hook_caller(hook_name, others)(**kwargs)
        except ObsnetsError:
            raise
        except (Exception, SystemExit) as exc:  # a plugin's bug; Ctrl-C still stops
            _report(name, record, hook_name, exc)
            continue
        answers += [a for a in ([answer] if first_only else answer) if a is not None]
        if first_only and answers:
            break
    return answers


def _report(name: str, record: HookRecord | None, hook_name: str, exc: BaseException) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    if record is not None:
        record.hook_errors[hook_name] = reason
    distribution = f" ({record.distribution})" if record is not None else ""
    warnings.warn(
        PluginHookWarning(
            f"Plugin {name!r}{distribution} raised in its {hook_name} hook and is skipped for "
            f"that hook from now on: {reason}. Run 'obsnets plugins' to see it; update the "
            f"plugin or disable it (OBSNETS_DISABLE_PLUGINS={name})."
        ),
        stacklevel=5,
    )
