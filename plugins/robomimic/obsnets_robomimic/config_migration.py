"""Reading the ``observation`` section of a robomimic experiment config (its JSON).

robomimic keeps observation settings in ``config.observation``::

    observation.modalities.<group>.<modality> = [keys]       # group: obs, goal, subgoal, ...
    observation.encoder.<modality>.{core_class, core_kwargs,
                                    obs_randomizer_class, obs_randomizer_kwargs}

and installs them as process-wide state before building any network. obsnets passes them
explicitly: :func:`obs_modalities_from_config` gives the ``obs_modalities`` mapping and
:func:`encoder_kwargs_from_config` the ``encoder_kwargs`` every network takes. Configs written
before robomimic 0.2 (an ``image`` modality and one flat ``encoder`` section with
``visual_core``, ``use_spatial_softmax``, ...) are translated the way robomimic's
``update_config`` translates them.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from obsnets.errors import ConfigError
from obsnets_robomimic.kwargs_migration import ENCODER_SPEC_KEYS
from obsnets_robomimic.network_building import build_network

__all__ = [
    "LEGACY_ENCODER_KEYS",
    "build_obs_encoder_from_config",
    "build_obs_group_encoder_from_config",
    "encoder_kwargs_from_config",
    "obs_modalities_from_config",
    "observation_section",
    "translate_legacy_observation",
]

LEGACY_ENCODER_KEYS = (
    "visual_core",
    "visual_core_kwargs",
    "visual_feature_dimension",
    "use_spatial_softmax",
    "spatial_softmax_kwargs",
)
"""Keys of the flat, pre-0.2 ``observation.encoder`` section."""


def observation_section(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the observation section of a robomimic config (the whole config or the section).

    Raises:
        ConfigError: the mapping holds neither ``modalities`` nor ``observation``; for
            algorithms with several observation sections (hbc, iris) the message names them.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"Expected a robomimic config (a mapping); got {type(config).__name__}.")
    if "modalities" not in config and isinstance(config.get("observation"), Mapping):
        config = config["observation"]
    if "modalities" in config:
        return config
    nested = [k for k, v in config.items() if isinstance(v, Mapping) and "modalities" in v]
    hint = (
        f" It holds one observation section per sub-network ({', '.join(map(repr, nested))}): "
        f"pass one of them, e.g. config['observation'][{nested[0]!r}]."
        if nested
        else ""
    )
    raise ConfigError(
        "Not a robomimic observation config: expected 'modalities' (and 'encoder'), as in "
        f"config['observation'].{hint}"
    )


def _is_legacy(encoder: Mapping[str, Any]) -> bool:
    return any(k in encoder for k in LEGACY_ENCODER_KEYS) or (
        "obs_randomizer_class" in encoder
        and not isinstance(encoder["obs_randomizer_class"], Mapping)
    )


def translate_legacy_observation(observation: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a pre-0.2 observation section into the current layout (a new dict).

    Modality ``image`` becomes ``rgb``; a flat encoder section becomes an ``rgb`` entry with
    core ``VisualCore`` (``visual_feature_dimension`` -> ``feature_dimension``,
    ``visual_core`` -> ``backbone_class``, ``visual_core_kwargs.{pretrained,
    input_coord_conv}`` -> ``backbone_kwargs``, ``spatial_softmax_kwargs.{num_kp,
    learnable_temperature, temperature, noise_std}`` -> ``pool_kwargs``, the randomizer settings
    copied) plus a plain ``low_dim`` entry. Current-layout sections are returned unchanged
    (copied).

    Differs from robomimic: ``use_spatial_softmax: false`` gives ``pool_class: None`` (the
    network such a config trained); robomimic's translation leaves ``pool_class`` out, so
    VisualCore's default SpatialSoftmax comes back.
    """
    section = copy.deepcopy(dict(observation))
    for group in (section.get("modalities") or {}).values():
        if isinstance(group, dict) and "image" in group:
            group["rgb"] = group.pop("image")
    old = section.get("encoder")
    if not isinstance(old, Mapping) or not _is_legacy(old):
        return section
    core_kwargs: dict[str, Any] = {"backbone_kwargs": {}, "pool_kwargs": {}}
    if "visual_feature_dimension" in old:
        core_kwargs["feature_dimension"] = old["visual_feature_dimension"]
    if "visual_core" in old:
        core_kwargs["backbone_class"] = old["visual_core"]
    for key in ("pretrained", "input_coord_conv"):
        if key in (old.get("visual_core_kwargs") or {}):
            core_kwargs["backbone_kwargs"][key] = old["visual_core_kwargs"][key]
    core_kwargs["pool_class"] = "SpatialSoftmax" if old.get("use_spatial_softmax", True) else None
    for key in ("num_kp", "learnable_temperature", "temperature", "noise_std"):
        if key in (old.get("spatial_softmax_kwargs") or {}):
            core_kwargs["pool_kwargs"][key] = old["spatial_softmax_kwargs"][key]
    section["encoder"] = {
        "rgb": {
            "core_class": "VisualCore",
            "core_kwargs": core_kwargs,
            "obs_randomizer_class": old.get("obs_randomizer_class"),
            "obs_randomizer_kwargs": copy.deepcopy(old.get("obs_randomizer_kwargs") or {}),
        },
        "low_dim": {
            "core_class": None,
            "core_kwargs": {},
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": {},
        },
    }
    return section


def obs_modalities_from_config(
    config: Mapping[str, Any], groups: Sequence[str] | None = None
) -> OrderedDict[str, list[str]]:
    """The modality -> observation keys mapping of a robomimic config.

    Args:
        config: A robomimic config or its ``observation`` section (see
            :func:`observation_section`).
        groups: Observation groups to include (``"obs"``, ``"goal"``, ``"subgoal"``, ...);
            all of them by default, as robomimic merges every group into one mapping.

    Raises:
        ConfigError: a requested group is absent, or a key appears under two modalities.
    """
    section = translate_legacy_observation(observation_section(config))
    modalities = section["modalities"]
    chosen = list(modalities) if groups is None else list(groups)
    merged: OrderedDict[str, list[str]] = OrderedDict()
    owner: dict[str, str] = {}
    for group in chosen:
        if group not in modalities:
            raise ConfigError(
                f"Observation group {group!r} is not in the config; it has "
                f"{', '.join(map(repr, modalities))}."
            )
        for modality, keys in (modalities[group] or {}).items():
            for key in keys or []:
                if owner.setdefault(key, modality) != modality:
                    raise ConfigError(
                        f"Observation key {key!r} has modality {owner[key]!r} in one group and "
                        f"{modality!r} in group {group!r}; robomimic requires one modality per key."
                    )
                merged.setdefault(modality, [])
                if key not in merged[modality]:
                    merged[modality].append(key)
    return merged


def encoder_kwargs_from_config(
    config: Mapping[str, Any],
) -> OrderedDict[str, OrderedDict[str, Any]]:
    """The per-modality ``encoder_kwargs`` of a robomimic config, as networks take them.

    Like robomimic's ``obs_encoder_kwargs_from_config`` but without modifying the config:
    each modality gets its four settings (``core_class``, ``core_kwargs``,
    ``obs_randomizer_class``, ``obs_randomizer_kwargs``), deep-copied, with missing or null
    kwargs as ``{}``. Unknown settings are kept; :func:`~obsnets_robomimic.build_network`
    drops what robomimic ignores, with one warning.

    Args:
        config: A robomimic config or its ``observation`` section.
    """
    section = translate_legacy_observation(observation_section(config))
    encoder = section.get("encoder") or {}
    result: OrderedDict[str, OrderedDict[str, Any]] = OrderedDict()
    for modality, spec in encoder.items():
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"observation.encoder.{modality} must be a mapping with "
                f"{', '.join(ENCODER_SPEC_KEYS)}; got {spec!r}."
            )
        entry = OrderedDict(copy.deepcopy(dict(spec)))
        entry.setdefault("core_class", None)
        entry.setdefault("obs_randomizer_class", None)
        for key in ("core_kwargs", "obs_randomizer_kwargs"):
            if entry.get(key) is None:
                entry[key] = {}
        result[modality] = entry
    return result


def build_obs_encoder_from_config(
    config: Mapping[str, Any],
    obs_shapes: Mapping[str, Sequence[int]],
    feature_activation: type[nn.Module] | str | None = "torch.nn.ReLU",
) -> nn.Module:
    """Build the ``ObservationEncoder`` robomimic's ``obs_encoder_factory`` builds for a config.

    Args:
        config: A robomimic config or its ``observation`` section.
        obs_shapes: Observation key -> shape without batch dimension, in feature order.
        feature_activation: Applied after each key's encoder core (``None``: none).
    """
    return build_network(
        "obs_encoder_factory",
        {
            "obs_shapes": obs_shapes,
            "feature_activation": feature_activation,
            "encoder_kwargs": encoder_kwargs_from_config(config),
        },
        obs_modalities_from_config(config),
    )


def build_obs_group_encoder_from_config(
    config: Mapping[str, Any],
    observation_group_shapes: Mapping[str, Mapping[str, Sequence[int]]],
    feature_activation: type[nn.Module] | str | None = "torch.nn.ReLU",
) -> nn.Module:
    """Build an ``ObservationGroupEncoder`` (one encoder per group) for a robomimic config.

    Args:
        config: A robomimic config or its ``observation`` section.
        observation_group_shapes: group (``"obs"``, ``"goal"``, ...) -> key -> shape.
        feature_activation: As for :func:`build_obs_encoder_from_config`.
    """
    return build_network(
        "ObservationGroupEncoder",
        {
            "observation_group_shapes": observation_group_shapes,
            "feature_activation": feature_activation,
            "encoder_kwargs": encoder_kwargs_from_config(config),
        },
        obs_modalities_from_config(config),
    )
