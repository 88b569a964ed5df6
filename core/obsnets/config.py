"""Networks from configs: plain data naming a network and its keyword arguments.

A config is a JSON object::

    {
      "network": "MIMO_MLP",
      "kwargs": {"input_obs_group_shapes": {...}, "output_shapes": {...}, ...},
      "obs_modalities": {"rgb": ["agentview_image"], "low_dim": ["robot0_eef_pos"]}
    }

``network`` is any registered network name (plain or qualified); ``kwargs`` are checked
strictly against its constructor; ``obs_modalities`` says which observation keys are images,
scans or low-dimensional vectors (passed to networks that take it). Nothing in a config is
evaluated: names are looked up in the registry, ``torch.nn`` classes by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from obsnets.building import build_component, constructor_parameters
from obsnets.errors import ConfigError, suggestion

__all__ = ["CONFIG_KEYS", "build_from_config", "load_config"]

CONFIG_KEYS = ("network", "kwargs", "obs_modalities")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a JSON config file (mappings keep their order).

    Raises:
        ConfigError: the file is missing or not valid JSON.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read config {str(path)!r}: {exc.strerror}.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Config {str(path)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config {str(path)!r} must hold a JSON object; got {type(data).__name__}."
        )
    return data


def build_from_config(config: Mapping[str, Any]) -> nn.Module:
    """Build the network a config describes.

    Args:
        config: A mapping with ``network`` (name), optional ``kwargs`` and optional
            ``obs_modalities`` (modality -> list of observation keys).

    Raises:
        ConfigError: unknown top-level keys, a missing ``network``, or ``obs_modalities`` for
            a network that does not take it.
    """
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        hints = "".join(suggestion(k, CONFIG_KEYS) for k in unknown)
        raise ConfigError(
            f"Config has unknown key(s) {', '.join(map(repr, unknown))}.{hints} "
            f"Valid keys: {', '.join(CONFIG_KEYS)}."
        )
    if "network" not in config:
        raise ConfigError("Config needs a 'network' key naming the network to build.")
    from obsnets.registry import resolve_component

    cls = resolve_component(config["network"], "network")
    kwargs = dict(config.get("kwargs") or {})
    modalities = config.get("obs_modalities")
    if modalities is not None:
        if "obs_modalities" not in constructor_parameters(cls):
            raise ConfigError(
                f"Config gives obs_modalities, but network {cls.__name__} takes no "
                f"obs_modalities argument."
            )
        kwargs["obs_modalities"] = modalities
    return build_component(cls, kwargs, kind="network")
