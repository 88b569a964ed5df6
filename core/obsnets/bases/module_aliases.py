"""State-dict aliases: robomimic's second names for a submodule, without a second registration.

robomimic registers some submodules twice (``VisualCore.backbone`` is also ``nets[0]``;
``RNN_MIMO_MLP``'s MLP and decoder are also ``nets.rnn.per_step_net``), so its state_dicts
hold every such tensor under two names. A module registered twice goes stale when code edits
one of the two places (``core.nets[0] = other`` leaves ``core.backbone`` pointing at the old
module, and ``forward`` runs only one of them). obsnets registers each module once and adds
robomimic's second names only to the state_dict: :class:`AliasedModule` writes them (at
robomimic's position, so key order matches its checkpoints) and, when loading, reads either
name (or both, which must then agree).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from obsnets.errors import ConfigError

__all__ = ["AliasedModule", "StateDictAlias", "replacement_module"]


class StateDictAlias(NamedTuple):
    """A second state_dict name for the live submodule at ``target``.

    Attributes:
        alias: The second name's path, e.g. ``"backbone"`` or ``"nets.rnn.per_step_net.0"``.
        target: Path of the registered submodule, e.g. ``"nets.0"`` or ``"nets.mlp"``.
        before: The alias entries are written just before the first entry under this path
            (robomimic's order), e.g. ``"nets"`` or ``"nets.rnn"``; at the end if none.
    """

    alias: str
    target: str
    before: str


class AliasedModule(nn.Module):
    """Mixin: submodules also known under robomimic's alias names.

    Subclasses implement :meth:`state_dict_aliases` and expose alias attributes as properties
    that read (and, when set, replace) the live submodule. Assigning a module to such a
    property replaces the registered module instead of registering a second one (plain
    ``nn.Module`` would register it under the property's name, where ``forward`` never looks).

    Put it first among the bases (``class VisualCore(AliasedModule, EncoderCore)``).

    Args:
        *args: Passed on to the next base's constructor.
        **kwargs: Passed on to the next base's constructor.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_state_dict_post_hook(_write_aliases)
        self.register_load_state_dict_pre_hook(_read_aliases)

    def state_dict_aliases(self) -> list[StateDictAlias]:
        """The aliases of this module's state_dict, in the order they are written.

        Read from the live tree at every ``state_dict()`` / ``load_state_dict()`` call.
        """
        return []

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)  # the property's setter replaces the module
            return
        super().__setattr__(name, value)


def replacement_module(owner: str, what: str, module: Any) -> nn.Module:
    """``module``, checked to be a torch module, for an alias property's setter.

    Args:
        owner: The component, e.g. ``"VisualCore"``.
        what: The alias, e.g. ``"backbone"``.
        module: The value assigned.

    Raises:
        ConfigError: ``module`` is not a torch module (e.g. ``None``).
    """
    if not isinstance(module, nn.Module):
        raise ConfigError(
            f"{owner}.{what} must be replaced by a torch module; got "
            f"{type(module).__name__}. To drop it, build a new {owner} without it instead."
        )
    return module


def _under(key: str, path: str) -> bool:
    return key.startswith(path + ".")


def _write_aliases(
    module: nn.Module, state_dict: dict[str, Any], prefix: str, local_metadata: Any
) -> None:
    """state_dict post-hook: insert each alias's entries (same tensors) before ``before``."""
    aliases = module.state_dict_aliases() if isinstance(module, AliasedModule) else []
    if not aliases:
        return
    owned: list[str] = []
    for key in reversed(state_dict):  # this module's entries are the tail, added contiguously
        if not key.startswith(prefix):
            break
        owned.append(key)
    owned.reverse()
    blocks: dict[str, list[tuple[str, Any]]] = {}
    for alias in aliases:
        target = prefix + alias.target
        blocks.setdefault(prefix + alias.before, []).extend(
            (prefix + alias.alias + key[len(target) :], state_dict[key])
            for key in owned
            if _under(key, target)
        )
    entries = [(key, state_dict.pop(key)) for key in owned]
    for key, value in entries:
        for before in [b for b in blocks if _under(key, b) or key == b]:
            state_dict.update(blocks.pop(before))
        state_dict[key] = value
    for block in blocks.values():
        state_dict.update(block)


def _read_aliases(
    module: nn.Module,
    state_dict: dict[str, Any],
    prefix: str,
    local_metadata: Any,
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """load_state_dict pre-hook: alias entries fill their target (both given: must agree)."""
    aliases = module.state_dict_aliases() if isinstance(module, AliasedModule) else []
    for alias in aliases:
        source, target = prefix + alias.alias, prefix + alias.target
        for key in [k for k in state_dict if _under(k, source)]:
            value = state_dict.pop(key)
            twin = target + key[len(source) :]
            given = state_dict.setdefault(twin, value)
            if given is not value and not _same(given, value):
                error_msgs.append(
                    f"{key!r} and {twin!r} name one tensor of {type(module).__name__} but "
                    f"hold different values; give one of them, or equal values."
                )


def _same(first: Any, second: Any) -> bool:
    if not (isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor)):
        return bool(first == second)
    if first.shape != second.shape or first.dtype != second.dtype:
        return True  # the target's own load reports shape or dtype problems
    return bool(torch.equal(first, second.to(first.device)))
