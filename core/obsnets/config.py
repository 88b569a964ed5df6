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
from obsnets.registry import resolve_component
from obsnets.trust import trusting_code

__all__ = ["CONFIG_KEYS", "build_from_config", "load_config"]

CONFIG_KEYS = ("network", "kwargs", "obs_modalities")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a JSON config file (mappings keep their order).

    Raises:
        ConfigError: the file is missing, not UTF-8 or not valid JSON.
    """
    path = Path(path)
    if path.exists() and not (path.is_file() or path.is_dir()):
        # a FIFO or a device would block or never end (/dev/zero)
        raise ConfigError(f"Config {str(path)!r} is not a regular file; give a JSON file.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read config {str(path)!r}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Config {str(path)!r} is not UTF-8 text (byte {exc.start}); JSON configs are "
            f"UTF-8: save it as UTF-8."
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Config {str(path)!r} is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise ConfigError(f"Config {str(path)!r} is nested too deeply to be a config.") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config {str(path)!r} must hold a JSON object; got {type(data).__name__}."
        )
    return data


def build_from_config(config: Mapping[str, Any], *, trust_code: bool = False) -> nn.Module:
    """Build the network a config describes.

    Names in the config resolve only to components installed plugins declare or the running
    program registered; nothing else is imported unless ``trust_code`` is set.

    Args:
        config: A mapping with ``network`` (name), optional ``kwargs`` and optional
            ``obs_modalities`` (modality -> list of observation keys).
        trust_code: Let the config's qualified names (top-level and nested) import modules
            no installed plugin declares (see :mod:`obsnets.trust`). Only for configs from a
            source you trust.

    Raises:
        ConfigError: unknown top-level keys, a missing ``network``, or ``obs_modalities`` for
            a network that does not take it.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"A config must be a mapping (a JSON object) with 'network' and 'kwargs'; got "
            f"{type(config).__name__}."
        )
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        hints = "".join(suggestion(k, CONFIG_KEYS) for k in unknown)
        raise ConfigError(
            f"Config has unknown key(s) {', '.join(map(repr, unknown))}.{hints} "
            f"Valid keys: {', '.join(CONFIG_KEYS)}."
        )
    if "network" not in config:
        raise ConfigError("Config needs a 'network' key naming the network to build.")
    if not isinstance(config["network"], str) or not config["network"]:
        raise ConfigError(
            f"Config 'network' must name a network (a string such as 'MIMO_MLP'); got "
            f"{config['network']!r}."
        )
    if config.get("kwargs") is not None and not isinstance(config["kwargs"], Mapping):
        raise ConfigError(
            f"Config 'kwargs' must be a mapping (a JSON object) of the network's arguments; "
            f"got {type(config['kwargs']).__name__}."
        )
    with trusting_code(trust_code):
        cls = resolve_component(config["network"], "network")
        kwargs = dict(config.get("kwargs") or {})  # None (YAML's empty value) is no kwargs
        modalities = config.get("obs_modalities")
        if modalities is not None:
            if "obs_modalities" not in constructor_parameters(cls):
                raise ConfigError(
                    f"Config gives obs_modalities, but network {cls.__name__} takes no "
                    f"obs_modalities argument."
                )
            kwargs["obs_modalities"] = modalities
        return build_component(cls, kwargs, kind="network")
