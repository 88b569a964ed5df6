"""Hooks obsnets-robomimic adds to obsnets' plugin manager.

A plugin (any distribution with an ``obsnets`` entry point) implements them with
``@obsnets.hookspecs.hookimpl``; obsnets-robomimic adds these specs to the manager at
discovery (``obsnets_add_hookspecs``), or the first time a checkpoint's algorithm is looked up
if the plugin itself was not loaded. A plugin that must also work without obsnets-robomimic
installed marks its implementation ``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from obsnets.hookspecs import hookspec

__all__ = ["REGISTER_ALGORITHMS_HOOK", "add_hookspecs", "obsnets_robomimic_register_algorithms"]

REGISTER_ALGORITHMS_HOOK = "obsnets_robomimic_register_algorithms"


def add_hookspecs(manager: Any) -> None:
    """Add these specs to ``manager`` (a ``pluggy.PluginManager``) unless it has them."""
    # An implementation registered before its spec leaves a spec-less caller of that name.
    caller = getattr(manager.hook, REGISTER_ALGORITHMS_HOOK, None)
    if caller is None or not caller.has_spec():
        manager.add_hookspecs(sys.modules[__name__])


@hookspec
def obsnets_robomimic_register_algorithms(register: Callable[..., Any]) -> None:
    """Declare robomimic algorithm classes this plugin can rebuild from a checkpoint.

    Called once per process, the first time :func:`obsnets_robomimic.load_checkpoint` (or
    :func:`obsnets_robomimic.list_algorithms`) looks up an algorithm. Call
    ``register(spec)`` with an :class:`obsnets_robomimic.AlgorithmSpec` for each algorithm
    (``spec.name`` is robomimic's class name, e.g. ``"BC_Transformer_GMM"``); registering a
    name twice with different specs is an error.

    Args:
        register: :func:`obsnets_robomimic.register_algorithm`.
    """
