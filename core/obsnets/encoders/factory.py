"""``obs_encoder_factory``: an ObservationEncoder from per-modality encoder settings.

The caller says which modality each observation key has (``obs_modalities``, modality ->
keys, the format of robomimic's ``config.observation.modalities.obs``) and how each modality
is encoded (``encoder_kwargs``, robomimic's ``config.observation.encoder`` section). Nothing
is read from process-wide state.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from torch import nn

from obsnets.building import build_component
from obsnets.encoders._checks import as_shape_mapping, is_null_name
from obsnets.encoders.observation_encoder import ObservationEncoder
from obsnets.errors import ConfigError, suggestion

__all__ = [
    "ENCODER_SETTINGS",
    "ObsModalities",
    "default_encoder_kwargs",
    "key_modalities",
    "obs_encoder_factory",
    "with_low_dim_keys",
]

ObsModalities = Mapping[str, Sequence[str]]
"""Modality -> observation keys, e.g. ``{"rgb": ["agentview_image"], "low_dim": [...]}``."""

ENCODER_SETTINGS = ("core_class", "core_kwargs", "obs_randomizer_class", "obs_randomizer_kwargs")
"""The keys of one modality's encoder settings."""

_LOW_DIM_DEFAULTS: dict[str, Any] = {
    "core_class": None,
    "core_kwargs": {},
    "obs_randomizer_class": None,
    "obs_randomizer_kwargs": {},
}


def default_encoder_kwargs(modality: str) -> dict[str, Any]:
    """Default encoder settings for ``modality`` when the caller gives none.

    Asks installed plugins first (the ``obsnets_encoder_defaults`` hook, first answer wins;
    e.g. obsnets-visual answers ``rgb`` and ``depth`` with a default ``VisualCore``); for
    ``low_dim`` without a plugin answer: no core and no randomizer (pass-through).

    Returns:
        A fresh dict with keys among :data:`ENCODER_SETTINGS`.

    Raises:
        ConfigError: no plugin offers defaults for ``modality``.
    """
    from obsnets.plugins import call_hook

    answers = call_hook("obsnets_encoder_defaults", modality=modality)  # errors isolated
    answer = answers[0] if answers else None
    if answer is None and modality == "low_dim":
        answer = _LOW_DIM_DEFAULTS
    if answer is None:
        raise ConfigError(
            f"No encoder settings for modality {modality!r}: encoder_kwargs has no "
            f"{modality!r} entry and no installed plugin offers defaults for it. Add "
            f"encoder_kwargs[{modality!r}] = {{'core_class': ..., 'core_kwargs': {{...}}}} or "
            f"install the plugin that provides that modality's encoder (e.g. obsnets-visual "
            f"for rgb/depth, obsnets-scan for scan)."
        )
    return copy.deepcopy(dict(answer))


def key_modalities(
    obs_shapes: Mapping[str, Sequence[int]],
    obs_modalities: ObsModalities | None,
    default_modality: str | None = "low_dim",
    owner: str = "obs_encoder_factory",
) -> OrderedDict[str, str]:
    """Decide each observation key's modality.

    A key listed in ``obs_modalities`` has that modality. A key not listed has
    ``default_modality`` if its shape is 1-D (a flat vector: the keys networks add
    themselves, such as ``action`` or ``latent``); any other unlisted key is an error, since
    an image could be rgb or depth.

    Args:
        obs_shapes: Observation key -> shape.
        obs_modalities: Modality -> keys; ``None`` lists nothing.
        default_modality: Modality of unlisted 1-D keys; ``None`` requires every key to be
            listed.
        owner: Component name for messages.

    Returns:
        Key -> modality, in ``obs_shapes`` order.

    Raises:
        ConfigError: a malformed mapping, a key listed under two modalities, or unlisted keys
            that the rule above does not cover (all of them are named).
    """
    listed: dict[str, str] = {}
    if obs_modalities is not None:
        if not isinstance(obs_modalities, Mapping):
            raise ConfigError(
                f"{owner}: obs_modalities must map each modality to its observation keys, e.g. "
                f"{{'rgb': ['agentview_image'], 'low_dim': ['robot0_eef_pos']}}; got "
                f"{obs_modalities!r}."
            )
        for modality, keys in obs_modalities.items():
            if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
                raise ConfigError(
                    f"{owner}: obs_modalities[{modality!r}] must be a list of observation "
                    f"keys; got {keys!r}."
                )
            for key in keys:
                if listed.setdefault(key, modality) != modality:
                    raise ConfigError(
                        f"{owner}: observation key {key!r} is listed under two modalities, "
                        f"{listed[key]!r} and {modality!r}; give each key one modality."
                    )
    result: OrderedDict[str, str] = OrderedDict()
    unlisted: list[str] = []
    for key, shape in obs_shapes.items():
        if key in listed:
            result[key] = listed[key]
        elif default_modality is not None and len(shape) == 1:
            result[key] = default_modality
        else:
            unlisted.append(key)
    if unlisted:
        shapes = ", ".join(f"{k!r} {list(obs_shapes[k])}" for k in unlisted)
        rule = (
            f"unlisted keys are {default_modality!r} only when their shape is 1-D"
            if default_modality is not None
            else "default_modality=None requires every key to be listed"
        )
        raise ConfigError(
            f"{owner}: no modality for observation key(s) {shapes} ({rule}). List them in "
            f"obs_modalities under their modality, e.g. {{'rgb': [{unlisted[0]!r}]}} for an "
            f"image or {{'low_dim': [{unlisted[0]!r}]}} for a vector."
        )
    return result


def obs_encoder_factory(
    obs_shapes: Mapping[str, Sequence[int]],
    feature_activation: type[nn.Module] | str | None = nn.ReLU,
    encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    obs_modalities: ObsModalities | None = None,
    default_modality: str | None = "low_dim",
) -> ObservationEncoder:
    """Build an :class:`ObservationEncoder` for ``obs_shapes`` from per-modality settings.

    For each key, in order: its modality (see :func:`key_modalities`) selects
    ``encoder_kwargs[modality]`` (or :func:`default_encoder_kwargs` when absent); the
    randomizer chain is built, each stage's ``input_shape`` the previous stage's
    ``output_shape_in``; the core is registered with ``input_shape`` set to the
    post-randomizer shape. Every class is resolved through the registry and every kwargs
    dict checked strictly.

    Args:
        obs_shapes: Observation key -> shape without batch dimension; features are
            concatenated in this order.
        feature_activation: Activation after each key's core (see ObservationEncoder).
        encoder_kwargs: Modality -> settings with keys ``core_class`` (encoder core name or
            class; ``None`` or the string ``"None"``: no core, the key is only flattened),
            ``core_kwargs``, ``obs_randomizer_class`` (a name, a class, ``None`` or a list of
            them, applied in order) and ``obs_randomizer_kwargs`` (a dict, or a list of the
            same length as the class list). ``None``: defaults for every modality.
        obs_modalities: Modality -> observation keys (the primary, and only, form).
        default_modality: Modality given to 1-D keys missing from ``obs_modalities`` (keys a
            network adds itself, e.g. ``action``); ``None`` requires every key listed.

    Returns:
        The built encoder (``make()`` already called).

    Raises:
        ConfigError: a key without modality, unknown settings keys, a class/kwargs list
            length mismatch, or kwargs given for a ``None`` class.

    Differs from robomimic: modalities are passed in, not read from a global; a modality
    missing from ``encoder_kwargs`` falls back to plugin defaults instead of ``KeyError``;
    randomizer class and kwargs lists of different lengths are an error (robomimic's ``zip``
    dropped the extra classes); the string ``"None"`` means no class (robomimic crashed).
    """
    owner = "obs_encoder_factory"
    shapes = as_shape_mapping(owner, "obs_shapes", obs_shapes)
    modalities = key_modalities(shapes, obs_modalities, default_modality, owner)
    if encoder_kwargs is not None and not isinstance(encoder_kwargs, Mapping):
        raise ConfigError(
            f"{owner}: encoder_kwargs must map modalities to encoder settings; got "
            f"{encoder_kwargs!r}."
        )
    settings: dict[str, dict[str, Any]] = {}
    encoder = ObservationEncoder(feature_activation=feature_activation)
    for key, shape in shapes.items():
        modality = modalities[key]
        if modality not in settings:
            settings[modality] = _modality_settings(modality, encoder_kwargs)
        setting = settings[modality]
        randomizers = _build_randomizers(key, modality, shape, setting)
        core_class = setting.get("core_class")
        core_kwargs = setting.get("core_kwargs")
        if is_null_name(core_class):
            if core_kwargs:
                raise ConfigError(
                    f"{owner}: encoder_kwargs[{modality!r}] gives core_kwargs but core_class "
                    f"is None; name the core or remove core_kwargs."
                )
            core_class, core_kwargs = None, None
        encoder.register_obs_key(
            name=key,
            shape=shape,
            net_class=core_class,
            net_kwargs=core_kwargs,
            randomizers=randomizers,
        )
        encoder._key_modalities[key] = modality
    encoder.make()
    return encoder


def _modality_settings(
    modality: str, encoder_kwargs: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    if encoder_kwargs is not None and modality in encoder_kwargs:
        given = encoder_kwargs[modality]
        where = f"encoder_kwargs[{modality!r}]"
    else:
        given = default_encoder_kwargs(modality)
        where = f"the default encoder settings for {modality!r}"
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"obs_encoder_factory: {where} must be a mapping; got {given!r}.")
    unknown = [k for k in given if k not in ENCODER_SETTINGS]
    if unknown:
        hints = "".join(suggestion(k, ENCODER_SETTINGS) for k in unknown)
        raise ConfigError(
            f"obs_encoder_factory: {where} has unknown setting(s) {unknown}.{hints} Valid "
            f"settings: {', '.join(ENCODER_SETTINGS)}."
        )
    return dict(given)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _build_randomizers(
    key: str, modality: str, shape: list[int], setting: Mapping[str, Any]
) -> list[nn.Module]:
    owner = f"obs_encoder_factory (key {key!r}, modality {modality!r})"
    classes = _as_list(setting.get("obs_randomizer_class"))
    raw_kwargs = setting.get("obs_randomizer_kwargs")
    if raw_kwargs is None or (isinstance(raw_kwargs, Mapping) and not raw_kwargs):
        kwargs_list: list[Any] = [{} for _ in classes]
    elif isinstance(raw_kwargs, Mapping):
        kwargs_list = [raw_kwargs]
    elif isinstance(raw_kwargs, list | tuple):
        kwargs_list = list(raw_kwargs)
    else:
        raise ConfigError(
            f"{owner}: obs_randomizer_kwargs must be a dict or a list of dicts; got {raw_kwargs!r}."
        )
    if len(kwargs_list) != len(classes):
        raise ConfigError(
            f"{owner}: obs_randomizer_class names {len(classes)} randomizer(s) but "
            f"obs_randomizer_kwargs gives {len(kwargs_list)} kwargs dict(s); give one dict per "
            f"class (a list of the same length)."
        )
    randomizers: list[nn.Module] = []
    current = list(shape)
    for i, (cls, kwargs) in enumerate(zip(classes, kwargs_list)):
        kwargs = dict(kwargs or {})
        if is_null_name(cls):
            if kwargs:
                raise ConfigError(
                    f"{owner}: obs_randomizer_kwargs[{i}] is given for a None randomizer class."
                )
            continue
        if "input_shape" in kwargs and [int(d) for d in kwargs["input_shape"]] != current:
            raise ConfigError(
                f"{owner}: obs_randomizer_kwargs[{i}] gives input_shape "
                f"{list(kwargs['input_shape'])}, but the randomizer receives {current}; remove "
                f"input_shape (it is derived)."
            )
        kwargs["input_shape"] = list(current)
        rand = build_component(cls, copy.deepcopy(kwargs), kind="randomizer")
        current = [int(d) for d in rand.output_shape_in(current)]  # type: ignore[operator]
        randomizers.append(rand)
    return randomizers


def with_low_dim_keys(
    obs_modalities: Mapping[str, Sequence[str]] | None,
    keys: Iterable[str],
    *,
    component: str,
) -> dict[str, list[str]] | None:
    """Return a copy of ``obs_modalities`` in which ``keys`` are listed as ``low_dim``.

    Networks feed tensors they create through the observation encoder (a VAE's
    ``"latent"``, a Q-network's or BCQ actor's ``"action"``), so those keys must be
    low_dim whatever the caller's mapping says about its own observation keys.

    Args:
        obs_modalities: Modality -> observation keys, or ``None`` (every key low_dim).
        keys: The keys the network adds.
        component: Name used in error messages.

    Raises:
        ConfigError: the caller listed one of ``keys`` under another modality.
    """
    if obs_modalities is None:
        return None
    mapping = {modality: list(names) for modality, names in obs_modalities.items()}
    for key in keys:
        for modality, names in mapping.items():
            if key in names and modality != "low_dim":
                raise ConfigError(
                    f"{component} feeds its own {key!r} input through the observation encoder "
                    f"as low_dim, but obs_modalities lists {key!r} under {modality!r}; "
                    f"remove it from {modality!r}."
                )
        low_dim = mapping.setdefault("low_dim", [])
        if key not in low_dim:
            low_dim.append(key)
    return mapping
