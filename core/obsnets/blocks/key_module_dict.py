"""``KeyModuleDict``: a ``ModuleDict`` that takes any non-empty string as a key.

torch's ``nn.ModuleDict`` refuses keys with dots (``"observation.images.top"``, LeRobot's
convention) and keys that are attribute names of a module (``"train"``, ``"type"``).
Observation keys, group names and output names come from users, so obsnets keys its modules by
them through this container: it registers each module under an escaped name (``.`` as
``%2E``, ``%`` as ``%25``, and the first character of an attribute name escaped likewise) and
maps ``state_dict`` keys back to the user's key verbatim, so a saved state_dict reads
``obs_nets.observation.images.top.backbone...``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping
from typing import Any

from torch import nn

from obsnets.errors import ConfigError

__all__ = ["KeyModuleDict", "key_of_name", "name_of_key"]

# Names that are attributes of the container: registered under them, a module would be
# unreachable by get_submodule (the attribute wins).
_RESERVED = frozenset(dir(nn.ModuleDict)) | frozenset(vars(nn.ModuleDict())) | {"_owner"}


def _escape_char(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode())


def name_of_key(key: str) -> str:
    """The submodule name under which ``key`` is registered (reversible, see :func:`key_of_name`).

    Args:
        key: A non-empty string.
    """
    name = key.replace("%", "%25").replace(".", "%2E")
    if name in _RESERVED:
        name = _escape_char(name[0]) + name[1:]
    return name


def key_of_name(name: str) -> str:
    """The user's key for a registered submodule name (inverse of :func:`name_of_key`)."""
    if "%" not in name:
        return name
    decoded = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "%":  # name_of_key writes every "%" as the start of a %XX escape
            decoded.append(int(name[i + 1 : i + 3], 16))
            i += 3
        else:
            decoded.extend(name[i].encode())
            i += 1
    return decoded.decode()


def _check_key(key: Any, owner: str) -> str:
    if not isinstance(key, str) or not key:
        raise ConfigError(
            f"{owner}: keys must be non-empty strings; got {key!r} "
            f"({type(key).__name__}). Use the observation / output name as a string."
        )
    return key


class KeyModuleDict(nn.ModuleDict):
    """A ``ModuleDict`` keyed by any non-empty string, dots and attribute names included.

    Reads and writes use the user's key (``d["observation.images.top"] = core``); iteration,
    ``keys()`` and ``items()`` give the user's keys in insertion order; ``state_dict()`` names
    tensors ``<key>.<param>`` with the key verbatim and ``load_state_dict`` reads those names
    back (strictly, also when one key is a prefix of another, e.g. ``a`` and ``a.b``).
    Internally each module is registered under :func:`name_of_key` (no dots), which is the
    name ``named_modules()`` and ``get_submodule()`` see.

    Args:
        modules: Initial ``{key: module}`` (``None`` values allowed, as in ``ModuleDict``).
        owner: Component name used in error messages, e.g. ``"ObservationEncoder.obs_nets"``.

    Raises:
        ConfigError: a key that is not a non-empty string.
    """

    def __init__(
        self, modules: Mapping[str, nn.Module | None] | None = None, owner: str = "KeyModuleDict"
    ) -> None:
        super().__init__()
        self._owner = owner
        self.register_state_dict_post_hook(_state_dict_with_user_keys)
        self.register_load_state_dict_pre_hook(_state_dict_with_module_names)
        self.register_load_state_dict_post_hook(_report_user_keys)
        if modules is not None:
            for key, module in modules.items():
                self[key] = module

    def __getitem__(self, key: str) -> nn.Module:
        if not isinstance(key, str):
            raise KeyError(key)
        try:
            module: nn.Module = self._modules[name_of_key(key)]
        except KeyError:
            raise KeyError(key) from None
        return module

    def __setitem__(self, key: str, module: nn.Module | None) -> None:
        self.add_module(name_of_key(_check_key(key, self._owner)), module)

    def __delitem__(self, key: str) -> None:
        if not isinstance(key, str) or name_of_key(key) not in self._modules:
            raise KeyError(key)
        del self._modules[name_of_key(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(key) and name_of_key(key) in self._modules

    def __iter__(self) -> Iterator[str]:
        return (key_of_name(name) for name in self._modules)

    def keys(self) -> KeysView[str]:
        """The user's keys, in insertion order."""
        return dict.fromkeys(self).keys()

    def items(self) -> ItemsView[str, nn.Module]:
        """``(key, module)`` pairs with the user's keys, in insertion order."""
        return {key_of_name(name): module for name, module in self._modules.items()}.items()

    def get(self, key: str, default: nn.Module | None = None) -> nn.Module | None:
        """The module under ``key``, or ``default`` if there is none."""
        if not isinstance(key, str):
            return default
        return self._modules.get(name_of_key(key), default)

    def update(self, modules: Mapping[str, nn.Module] | Iterable[tuple[str, nn.Module]]) -> None:
        """Add or replace modules from a mapping or ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def __repr__(self) -> str:
        lines = [
            f"  ({key}): " + repr(module).replace("\n", "\n  ") for key, module in self.items()
        ]
        return f"{self._get_name()}(" + ("\n" + "\n".join(lines) + "\n" if lines else "") + ")"


def _owned_keys(state_dict: dict[str, Any], prefix: str) -> list[str]:
    """Keys under ``prefix``: the tail of a state_dict being built (added last, contiguously)."""
    keys: list[str] = []
    for key in reversed(state_dict):
        if not key.startswith(prefix):
            break
        keys.append(key)
    keys.reverse()
    return keys


def _state_dict_with_user_keys(
    module: nn.Module, state_dict: dict[str, Any], prefix: str, local_metadata: Any
) -> None:
    """state_dict post-hook: ``<escaped name>.<param>`` -> ``<user key>.<param>``, in place."""
    if not any("%" in name for name in module._modules):
        return
    owned = _owned_keys(state_dict, prefix)
    entries = [(key, state_dict.pop(key)) for key in owned]
    origin: dict[str, str] = {}
    for key, value in entries:
        name, dot, rest = key[len(prefix) :].partition(".")
        user_key = key_of_name(name)
        renamed = prefix + user_key + dot + rest
        if renamed in state_dict:
            raise ConfigError(
                f"{getattr(module, '_owner', 'KeyModuleDict')}: keys {user_key!r} and "
                f"{origin.get(renamed, '?')!r} both give the state_dict entry {renamed!r}; "
                f"rename one of the keys."
            )
        origin[renamed] = user_key
        state_dict[renamed] = value


def _state_dict_with_module_names(
    module: nn.Module,
    state_dict: dict[str, Any],
    prefix: str,
    local_metadata: Any,
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """load_state_dict pre-hook: ``<user key>.<param>`` -> ``<escaped name>.<param>``.

    Exact names come from the modules' own state_dict (so ``a.b.w`` goes to key ``a.b`` or to
    key ``a``'s ``b.w``, whichever has it); other keys go to the longest matching user key, so
    torch reports them as unexpected under that module.
    """
    names = {key_of_name(n): n for n in module._modules}
    if all(key == name for key, name in names.items()):
        return
    module.__dict__["_loading_prefix"] = prefix  # for _report_user_keys, right after
    exact: dict[str, str] = {}
    for key, name in names.items():
        child = module._modules[name]
        if child is not None:
            for entry in child.state_dict(keep_vars=True):
                exact[f"{prefix}{key}.{entry}"] = f"{prefix}{name}.{entry}"
    by_length = sorted(names, key=len, reverse=True)
    for full in [k for k in state_dict if k.startswith(prefix)]:
        target = exact.get(full)
        if target is None:
            rest = full[len(prefix) :]
            match = next((k for k in by_length if rest.startswith(k + ".")), None)
            if match is None:
                continue
            target = prefix + names[match] + rest[len(match) :]
        if target != full:
            state_dict[target] = state_dict.pop(full)


def _report_user_keys(module: nn.Module, incompatible_keys: Any) -> None:
    """load_state_dict post-hook: missing / unexpected keys named with the user's keys."""
    prefix = module.__dict__.pop("_loading_prefix", None)
    if prefix is None:
        return
    for keys in (incompatible_keys.missing_keys, incompatible_keys.unexpected_keys):
        for i, key in enumerate(keys):
            if key.startswith(prefix):
                name, dot, rest = key[len(prefix) :].partition(".")
                keys[i] = prefix + key_of_name(name) + dot + rest
