"""Hooks obsnets-robomimic adds to obsnets' plugin manager.

A plugin (any distribution with an ``obsnets`` entry point) implements them with
``@obsnets.hookspecs.hookimpl``; obsnets-robomimic adds these specs to the manager the first
time a checkpoint's algorithm is looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obsnets.hookspecs import hookspec

__all__ = ["REGISTER_ALGORITHMS_HOOK", "obsnets_robomimic_register_algorithms"]

REGISTER_ALGORITHMS_HOOK = "obsnets_robomimic_register_algorithms"


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
