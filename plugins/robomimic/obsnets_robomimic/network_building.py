"""``build_network``: the obsnets equivalent of what a robomimic callable builds from its kwargs."""

from __future__ import annotations

import importlib
import inspect
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from obsnets.building import build_component, constructor_parameters
from obsnets.errors import ConfigError, InvalidKwargsError, UnknownComponentError
from obsnets_robomimic.class_names import decode_kwargs, obsnets_name, resolve_robomimic_class
from obsnets_robomimic.kwargs_migration import DroppedKwargs, migrate_constructor_kwargs

__all__ = ["FACTORY_NAME", "apply_post_init_calls", "build_network", "check_obs_modalities"]

FACTORY_NAME = "obs_encoder_factory"
_FACTORY_MODULES = ("obsnets.encoders", "obsnets")  # where the core defines the factory
_CORE_NETWORK_MODULES = ("obsnets.encoders", "obsnets.mimo")


def _register_core_networks() -> None:
    # The core's own networks (ObservationEncoder, MIMO_MLP, ...) register when their module
    # is imported; import them so their robomimic names resolve like any plugin's.
    for module_name in _CORE_NETWORK_MODULES:
        try:
            importlib.import_module(module_name)
        except ImportError:
            continue


def check_obs_modalities(
    obs_modalities: Mapping[str, Sequence[str]],
) -> OrderedDict[str, list[str]]:
    """Validate a modality -> observation keys mapping and return it as ordered lists.

    Raises:
        ConfigError: a modality whose keys are not a list of strings, or a key listed under
            two modalities (robomimic refuses that too).
    """
    if not isinstance(obs_modalities, Mapping):
        raise ConfigError(
            f"obs_modalities must map each modality to its observation keys, e.g. "
            f"{{'rgb': ['agentview_image'], 'low_dim': ['robot0_eef_pos']}}; "
            f"got {obs_modalities!r}."
        )
    checked: OrderedDict[str, list[str]] = OrderedDict()
    owner: dict[str, str] = {}
    for modality, keys in obs_modalities.items():
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise ConfigError(
                f"obs_modalities[{modality!r}] must be a list of key names; got {keys!r}."
            )
        for key in keys:
            if owner.setdefault(key, modality) != modality:
                raise ConfigError(
                    f"Observation key {key!r} is listed under two modalities, "
                    f"{owner[key]!r} and {modality!r}; give each key one modality."
                )
        checked[modality] = list(dict.fromkeys(keys))
    return checked


def _obs_encoder_factory() -> Callable[..., nn.Module]:
    for module_name in _FACTORY_MODULES:
        try:
            factory = getattr(importlib.import_module(module_name), FACTORY_NAME, None)
        except ImportError:
            continue
        if callable(factory):
            return factory  # type: ignore[no-any-return]
    raise UnknownComponentError(
        f"{FACTORY_NAME} is not available: this obsnets core provides no "
        f"{' or '.join(m + '.' + FACTORY_NAME for m in _FACTORY_MODULES)}. "
        f"Upgrade obsnets (pip install -U obsnets)."
    )


def _call_factory(kwargs: OrderedDict[str, Any], modalities: Any) -> nn.Module:
    factory = _obs_encoder_factory()
    params = inspect.signature(factory).parameters
    if modalities is not None and "obs_modalities" in params:
        kwargs["obs_modalities"] = modalities
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise InvalidKwargsError(
            f"{FACTORY_NAME}: {exc}. Valid parameters: {', '.join(params)}."
        ) from exc
    return factory(**kwargs)


def build_network(
    name: str,
    kwargs: Mapping[str, Any] | None,
    obs_modalities: Mapping[str, Sequence[str]] | None = None,
) -> nn.Module:
    """Build the obsnets equivalent of what robomimic's callable ``name`` builds from ``kwargs``.

    Args:
        name: A robomimic class name (``"VisualCore"``, ``"CropRandomizer"``, ``"MIMO_MLP"``,
            ``"GMMActorNetwork"``, ``"VAE"``, ...; a dotted ``"robomimic.models...."`` path
            works too), ``"obs_encoder_factory"``, or any obsnets component name. Resolved
            through the obsnets registry: a missing plugin is an error naming its
            ``pip install``.
        kwargs: robomimic's constructor kwargs, in JSON form or already decoded: mappings in
            order, ``torch.nn`` classes as ``"torch.nn.ReLU"`` strings (decoded through an
            allowlist, never evaluated), shapes as lists.
        obs_modalities: modality -> observation keys (robomimic's global modality mapping,
            passed explicitly). Given to networks that take it; keys not listed are low_dim.

    Returns:
        The obsnets network, with robomimic's attribute structure and state_dict keys.

    Warns:
        RobomimicMigrationWarning: once, listing every nested setting robomimic would have
            silently ignored (misspelled ``core_kwargs``, ``backbone_kwargs`` a backbone does
            not take, ...); they are dropped, so the network is the one robomimic built.

    Raises:
        UnknownComponentError: ``name`` (or a class named inside ``kwargs``) is provided by
            no installed plugin.
        InvalidKwargsError: a top-level argument the constructor does not take (robomimic
            raises there too).
    """
    if not isinstance(name, str):
        raise ConfigError(f"build_network: name must be a string; got {name!r}.")
    modalities = None if obs_modalities is None else check_obs_modalities(obs_modalities)
    decoded = decode_kwargs(dict(kwargs or {}), path=f"{name} kwargs")
    log = DroppedKwargs()
    migrated = migrate_constructor_kwargs(name, decoded, log)
    log.warn(f"build_network({name!r})")
    if name == FACTORY_NAME:
        return _call_factory(migrated, modalities)
    _register_core_networks()
    cls = resolve_robomimic_class(name)
    if modalities is not None and "obs_modalities" in constructor_parameters(cls):
        migrated["obs_modalities"] = modalities
    return build_component(cls, migrated, kind=obsnets_name(name)[1])


def _decode_call_value(value: Any, modalities: Any) -> Any:
    if isinstance(value, Mapping):
        if "__object__" in value:
            unknown = set(value) - {"__object__", "kwargs"}
            if unknown:
                raise ConfigError(f"An __object__ entry has unknown keys {sorted(unknown)}.")
            return build_network(value["__object__"], value.get("kwargs") or {}, modalities)
        return OrderedDict((k, _decode_call_value(v, modalities)) for k, v in value.items())
    if isinstance(value, list):
        return [_decode_call_value(v, modalities) for v in value]
    return decode_kwargs(value)


def apply_post_init_calls(
    network: nn.Module,
    calls: Sequence[Mapping[str, Any]],
    obs_modalities: Mapping[str, Sequence[str]] | None = None,
) -> nn.Module:
    """Replay robomimic post-construction calls, e.g. ``register_obs_key(...)`` then ``make()``.

    Args:
        network: The network built by :func:`build_network`.
        calls: ``[{"method": "register_obs_key", "kwargs": {...}}, ...]``, applied in order.
            ``{"__object__": "<robomimic class>", "kwargs": {...}}`` values become instances
            built with :func:`build_network` (randomizers passed to ``register_obs_key``);
            ``net_kwargs`` get the filtering robomimic's ``net_class`` applies internally.
        obs_modalities: As for :func:`build_network`.

    Returns:
        ``network``.
    """
    modalities = None if obs_modalities is None else check_obs_modalities(obs_modalities)
    for call in calls:
        method = call.get("method")
        target: Any = network
        for part in str(method).split("."):
            target = getattr(target, part, None)
        if not callable(target):
            raise ConfigError(
                f"{type(network).__name__} has no method {method!r} (a post_init call)."
            )
        kwargs = _decode_call_value(dict(call.get("kwargs") or {}), modalities)
        net_class, net_kwargs = kwargs.get("net_class"), kwargs.get("net_kwargs")
        if isinstance(net_class, str):
            kwargs["net_class"] = obsnets_name(net_class)[0]
        if isinstance(net_class, str) and isinstance(net_kwargs, Mapping):
            log = DroppedKwargs()
            kwargs["net_kwargs"] = migrate_constructor_kwargs(net_class, net_kwargs, log)
            log.warn(f"{method}(net_class={net_class!r})")
        target(**kwargs)
    return network
