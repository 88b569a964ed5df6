"""Every hook an obsnets plugin can implement, in one place.

A plugin is a module named by an entry point in the group ``obsnets``::

    [project.entry-points.obsnets]
    visual = "obsnets_visual.plugin"

Its functions are decorated with :data:`hookimpl` and named like the specs below. The plugin
module must import cheaply: it declares components by import string and never imports the
modules that define them (nor heavy libraries such as timm).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT_NAME", "RegisterComponent", "hookimpl", "hookspec"]

PROJECT_NAME = "obsnets"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator for a plugin's hook implementations: ``@obsnets.hookimpl``."""

RegisterComponent = Callable[..., None]
"""``register(kind, name, target)``: the callback passed to ``obsnets_register_components``.

``kind`` is one of :data:`obsnets.registry.KINDS`, ``name`` the plain name configs use, and
``target`` the import string ``"package.module:ClassName"`` (or, for components that are cheap
to import, the class itself)."""


@hookspec
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare the components this plugin provides.

    Called once per process, the first time any component name is looked up. Call
    ``register(kind, name, target)`` for each component; obsnets records the plugin and its
    distribution as the provider, detects collisions with other providers, and imports
    ``target``'s module only when the name is resolved.

    A plugin's declarations are kept all or none: if this hook raises, or declares a class
    that another plugin's package defines and declares, this plugin alone fails (shown by
    ``obsnets plugins``) and none of its components are registered. Declare only classes of
    your own package.

    Args:
        register: The callback; see :data:`RegisterComponent`.
    """


@hookspec(firstresult=True)
def obsnets_encoder_defaults(modality: str) -> dict[str, Any] | None:
    """Offer default encoder settings for an observation modality.

    Called by :func:`obsnets.default_encoder_kwargs` when a caller builds an encoder without
    giving settings for ``modality``. Return a dict with the keys of one modality's encoder
    config (``core_class``, ``core_kwargs``, ``obs_randomizer_class``,
    ``obs_randomizer_kwargs``), or ``None`` when the plugin has no opinion. When several
    plugins answer, the first non-``None`` answer wins (pluggy's ``firstresult``).

    Called plugin by plugin: if your implementation raises (anything but an
    :class:`~obsnets.errors.ObsnetsError`), obsnets warns with a
    :class:`~obsnets.plugins.PluginHookWarning` naming your plugin, records the error for
    ``obsnets plugins``, skips your plugin for this hook from then on, and asks the next one.

    Args:
        modality: The modality name, e.g. ``"rgb"``, ``"depth"``, ``"scan"``.
    """


@hookspec
def obsnets_network_built(network: Any, name: str, kwargs: dict[str, Any]) -> None:
    """Inspect or modify a network right after :func:`obsnets.build_component` built it.

    Use it to attach hooks, convert normalisation layers, or log a summary. Modify the network
    in place; the return value is ignored.

    Called plugin by plugin: if your implementation raises (anything but an
    :class:`~obsnets.errors.ObsnetsError`, which fails the build on purpose), obsnets warns
    with a :class:`~obsnets.plugins.PluginHookWarning` naming your plugin, records the error
    for ``obsnets plugins``, and skips your plugin for this hook from then on; the build and
    the other plugins' hooks go on.

    Args:
        network: The freshly built ``torch.nn.Module``.
        name: The component name it was built from, as given by the caller.
        kwargs: The keyword arguments it was built with (do not modify).
    """


@hookspec(firstresult=True)
def obsnets_open_model_file(path: str) -> dict[str, Any] | None:
    """Recognise a model file written by another library and rebuild its networks.

    Called by the CLI (``obsnets inspect``, ``obsnets build``, ``obsnets convert``) for a path
    that is not an obsnets saved-model folder, e.g. a robomimic checkpoint ``.pth``. Return
    ``None`` quickly when the file is not of your format (check cheaply, e.g. the zip index,
    before reading it); the first non-``None`` answer wins (pluggy's ``firstresult``). A file
    of your format that is broken or unsafe should raise an
    :class:`~obsnets.errors.ObsnetsError` naming the file and the problem. Read the file as
    data only: never unpickle arbitrary types.

    Args:
        path: The file path as given on the command line.

    Returns:
        ``None``, or a dict with ``"format"`` (a short name, e.g. ``"robomimic checkpoint"``),
        ``"networks"`` (network name -> built ``torch.nn.Module`` with the file's weights
        loaded, in eval mode; each a registered obsnets component, so it can be saved) and
        ``"details"`` (JSON-ready facts about the file to show, name -> value).
    """


@hookspec
def obsnets_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add hook specs of your own, for other plugins to implement (pytest's ``pytest_addhooks``).

    Called once for each plugin that implements it, after every installed plugin registered and
    before any plugin's hook names are checked, so a plugin may implement a hook another plugin
    defines whatever their order. A plugin that implements such a hook but must also work
    without the defining plugin installed marks it ``@hookimpl(optionalhook=True)``.

    Args:
        plugin_manager: obsnets' pluggy manager; call
            ``plugin_manager.add_hookspecs(my_package.hookspecs)`` on it.
    """
