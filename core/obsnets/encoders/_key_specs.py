"""``obs_keys``: an ObservationEncoder's registered keys as constructor data.

A saved model is its constructor arguments plus its weights, so an encoder filled with
``register_obs_key`` + ``make()`` is described by one more constructor argument, ``obs_keys``:
observation key -> how it is encoded, in registration order, as JSON-able data::

    {
        "camera1": {
            "shape": [3, 224, 224],
            "net_class": "VisualCore",
            "net_kwargs": {"input_shape": [3, 200, 200], ...},
            "randomizers": [{"class": "CropRandomizer", "kwargs": {...}}],
        },
        "proprio": {"shape": [12], "net": {"class": "MLP", "kwargs": {"input_dim": 12, ...}}},
        "proprio_copy": {"shape": [12], "share_net_from": "proprio"},
    }

:func:`describe_keys` derives it from the encoder's registration attributes and its live
modules (a module given as ``net=`` or a randomizer instance is recorded as its registered
class plus its ``init_arguments``); :func:`register_keys` registers it back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from obsnets.building import build_component
from obsnets.errors import ConfigError, suggestion
from obsnets.registry import qualified_name_of, registry

if TYPE_CHECKING:
    from obsnets.encoders.observation_encoder import ObservationEncoder

__all__ = ["COMPONENT_FIELDS", "KEY_FIELDS", "describe_keys", "register_keys"]

KEY_FIELDS = ("shape", "net_class", "net_kwargs", "net", "share_net_from", "randomizers")
"""The fields of one key's entry in ``obs_keys``; ``shape`` is required."""

COMPONENT_FIELDS = ("class", "kwargs")
"""The fields of a built component (``net``, each of ``randomizers``): a name and its kwargs."""

_OWNER = "ObservationEncoder(obs_keys=...)"


def describe_keys(encoder: ObservationEncoder) -> dict[str, dict[str, Any]]:
    """The ``obs_keys`` argument that registers ``encoder``'s keys as they are now.

    A module that cannot be described (not a registered component, or not recording its
    constructor arguments) is left in place, so saving names it and refuses.

    Args:
        encoder: An encoder with keys registered.

    Returns:
        Observation key -> its entry (fields among :data:`KEY_FIELDS`; empty ones left out).
    """
    keys: dict[str, dict[str, Any]] = {}
    for key, shape in encoder.obs_shapes.items():
        entry: dict[str, Any] = {"shape": list(shape)}
        net_class, source = encoder.obs_nets_classes[key], encoder.obs_share_mods[key]
        if net_class is not None:
            entry["net_class"] = net_class
            entry["net_kwargs"] = copy.deepcopy(encoder.obs_nets_kwargs[key])
        elif source is not None:
            entry["share_net_from"] = source
        else:
            net = encoder.obs_nets.get(key)  # None before make(): then still waiting there
            if net is None:
                net = encoder._prebuilt_nets.get(key)
            if net is not None:
                entry["net"] = _describe_module(net)
        randomizers = encoder._randomizers(key)
        if randomizers:
            entry["randomizers"] = [_describe_module(r) for r in randomizers]
        keys[key] = entry
    return keys


def _describe_module(module: nn.Module) -> Any:
    """``{"class": cls, "kwargs": init_arguments}`` of a registered component, else the module."""
    arguments = getattr(module, "init_arguments", None)
    if arguments is None or not registry.find(qualified_name_of(type(module))):
        return module
    return {"class": type(module), "kwargs": copy.deepcopy(dict(arguments))}


def register_keys(encoder: ObservationEncoder, obs_keys: Any) -> None:
    """Register every key of ``obs_keys`` on ``encoder``, in order (see the module docstring).

    Raises:
        ConfigError: ``obs_keys`` or an entry is malformed (the key and field are named), or
            ``register_obs_key`` refuses an entry.
        UnknownComponentError: a class name that no component has.
        InvalidKwargsError: kwargs that do not fit their class.
    """
    if not isinstance(obs_keys, Mapping):
        raise ConfigError(
            f"{_OWNER}: obs_keys must map each observation key to its entry, e.g. "
            f"{{'proprio': {{'shape': [12]}}}}; got {type(obs_keys).__name__}."
        )
    for key, entry in obs_keys.items():
        where = f"{_OWNER}: obs_keys[{key!r}]"
        _check_fields(where, entry, KEY_FIELDS)
        if "shape" not in entry:
            raise ConfigError(f"{where} has no 'shape'; give the key's shape, e.g. [12].")
        randomizers = entry.get("randomizers")
        if randomizers is not None and not isinstance(randomizers, list | tuple):
            raise ConfigError(
                f"{where}['randomizers'] must be a list of {{'class': ..., 'kwargs': {{...}}}}; "
                f"got {type(randomizers).__name__}."
            )
        built = [
            _build(f"{where}['randomizers'][{i}]", spec, kind="randomizer")
            for i, spec in enumerate(randomizers or ())
        ]
        net = entry.get("net")
        encoder.register_obs_key(
            name=key,
            shape=entry["shape"],
            net_class=entry.get("net_class"),
            net_kwargs=entry.get("net_kwargs"),
            net=None if net is None else _build(f"{where}['net']", net, kind=None),
            randomizers=built or None,
            share_net_from=entry.get("share_net_from"),
        )


def _build(where: str, spec: Any, kind: str | None) -> nn.Module:
    _check_fields(where, spec, COMPONENT_FIELDS)
    if "class" not in spec:
        raise ConfigError(f"{where} has no 'class'; name the component to build.")
    kwargs = spec.get("kwargs")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ConfigError(f"{where}['kwargs'] must be a mapping; got {type(kwargs).__name__}.")
    names = [k for k in kwargs or {} if not isinstance(k, str)]
    if names:
        raise ConfigError(f"{where}['kwargs'] must be keyed by argument names; got keys {names}.")
    return build_component(spec["class"], copy.deepcopy(dict(kwargs or {})), kind=kind)


def _check_fields(where: str, value: Any, fields: tuple[str, ...]) -> None:
    if isinstance(value, nn.Module) or not isinstance(value, Mapping):
        raise ConfigError(
            f"{where} must be a mapping with fields among {', '.join(fields)}; got "
            f"{type(value).__name__}. Built modules go through register_obs_key(net=..., "
            f"randomizers=...)."
        )
    unknown = [f for f in value if f not in fields]
    if unknown:
        hints = "".join(suggestion(f, fields) for f in unknown)
        raise ConfigError(
            f"{where} has unknown field(s) {unknown}.{hints} Valid fields: {', '.join(fields)}."
        )
