"""Registering a plugin with pluggy's validation of its hook implementations.

pluggy checks an implementation's arguments against its hook spec when the plugin registers,
but an ``@obsnets.hookimpl`` whose name matches no spec (``obsnets_register_componets``) is
only reported by ``PluginManager.check_pending``, which obsnets runs per plugin here, once
every plugin has added its own specs (``obsnets_add_hookspecs``): left
alone, the misspelled hook would never be called and the plugin would silently provide
nothing. Either problem fails that plugin alone, with an error naming the hook, the plugin
and the hook names that look like it.
"""

from __future__ import annotations

from types import ModuleType

import pluggy

from obsnets.errors import PluginLoadError, close_matches
from obsnets.hookspecs import PROJECT_NAME

__all__ = ["check_hook_names", "register_checked"]


def register_checked(manager: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin`` under ``name``, or raise and leave the manager as it was.

    Hook names are checked apart (:func:`check_hook_names`), once every plugin has added its
    own hook specs (``obsnets_add_hookspecs``).

    Args:
        manager: The plugin manager (obsnets' hook specs already added).
        plugin: A module or object with ``@obsnets.hookimpl`` functions.
        name: The plugin's name, e.g. the entry-point name ``"visual"``.

    Raises:
        PluginLoadError: an implementation's arguments are not its spec's, ``name`` is taken
            by another plugin, or ``plugin`` is already registered under another name.
    """
    # pluggy would raise a bare ValueError for either clash.
    taken = manager.get_plugin(name)
    if taken is not None:
        raise PluginLoadError(
            f"Plugin name {name!r} is already taken by {_describe(taken)}; choose another name "
            f"for {_describe(plugin)}."
        )
    if manager.is_registered(plugin):
        raise PluginLoadError(
            f"Cannot register {_describe(plugin)} as plugin {name!r}: it is already registered "
            f"as {manager.get_name(plugin)!r}. Unregister it first, or keep that name."
        )
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(
            f"Plugin {name!r} has a hook implementation that does not match obsnets' hook "
            f"spec: {exc}. Give it exactly the spec's argument names (see obsnets.hookspecs)."
        ) from exc


def check_hook_names(manager: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Unregister ``plugin`` and raise if it implements a hook that no spec defines.

    Args:
        manager: The plugin manager, with every plugin's own hook specs added.
        plugin: A registered plugin.
        name: Its name, for the message.

    Raises:
        PluginLoadError: a hook name that no spec defines (unless marked
            ``@hookimpl(optionalhook=True)``), with the hook names that look like it.
    """
    specs = sorted(
        n for n, c in vars(manager.hook).items() if not n.startswith("_") and c.has_spec()
    )
    for caller in manager.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        if all(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin):
            continue
        manager.unregister(plugin)
        raise PluginLoadError(
            f"Plugin {name!r} implements hook {caller.name!r}, which obsnets does not define, so "
            f"it would never be called.{_hook_suggestion(caller.name, specs)} obsnets' hooks are "
            f"{', '.join(specs)}. Rename the function, or mark it "
            f"@hookimpl(optionalhook=True) if it is meant for a newer obsnets or for a plugin "
            f"that may not be installed."
        )


def _describe(plugin: object) -> str:
    """``module 'pkg.plugin'`` for a module, ``<repr>`` for another object."""
    if isinstance(plugin, ModuleType):
        return f"module {plugin.__name__!r}"
    return repr(plugin)


def _hook_suggestion(name: str, specs: list[str]) -> str:
    # Every hook shares the "obsnets_" prefix, which would make any two names look alike.
    prefix = f"{PROJECT_NAME}_"
    short = {spec.removeprefix(prefix): spec for spec in specs}
    matches = [short[m] for m in close_matches(name.removeprefix(prefix), short)]
    return f" Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
