"""Reading a local timm checkpoint for ``TimmConv(pretrained=path)``, and checking its keys.

Weights never come from the network: the file is read here (safetensors, or a torch file with
``weights_only=True``) and handed to timm as an in-memory state dict, so timm still adapts it
(first-conv channels, classifier removal, model-specific filters) but has nothing to download.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from obsnets.errors import ConfigError
from obsnets_timm.model_names import create_on_meta

__all__ = ["check_checkpoint_keys", "read_checkpoint"]

_WRAPPER_KEYS = ("state_dict", "model")
"""Keys under which training scripts commonly nest the model's state dict."""

_SHOWN = 5
"""How many offending keys an error message lists."""


def read_checkpoint(path: str | os.PathLike[str], component: str) -> dict[str, torch.Tensor]:
    """Read a state dict from a local file onto the CPU.

    Args:
        path: A ``.safetensors`` file, or a torch file (``.pth``, ``.pt``, ``.bin``) holding a
            state dict, possibly nested under ``"state_dict"`` or ``"model"``.
            A ``"module."`` prefix on every key (DataParallel) is removed.
        component: How to name the caller in messages.

    Returns:
        Parameter and buffer name -> tensor.

    Raises:
        ConfigError: the file is missing, unreadable, or does not hold tensors only.
    """
    file = Path(os.fspath(path)).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"{component}: pretrained checkpoint {str(file)!r} does not exist or is not a "
            f"file. Pass the path of a local .safetensors or torch weights file."
        )
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            loaded: Any = load_file(str(file), device="cpu")
        else:
            loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors, pickle and zip errors share no base class
        raise ConfigError(
            f"{component}: cannot read pretrained checkpoint {str(file)!r} "
            f"({type(exc).__name__}: {exc}). Torch files are read with weights_only=True, so "
            f"they may hold tensors and plain containers only; save the state dict itself, "
            f"or convert the file to safetensors."
        ) from exc
    return _as_state_dict(loaded, file, component)


def _as_state_dict(loaded: Any, file: Path, component: str) -> dict[str, torch.Tensor]:
    for key in _WRAPPER_KEYS:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not loaded:
        raise ConfigError(
            f"{component}: pretrained checkpoint {str(file)!r} holds "
            f"{type(loaded).__name__}, not a state dict (name -> tensor)."
        )
    not_tensors = [k for k, v in loaded.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise ConfigError(
            f"{component}: pretrained checkpoint {str(file)!r} is not a state dict: entries "
            f"{not_tensors[:_SHOWN]} are not tensors. Save model.state_dict() itself."
        )
    state = {str(k): v for k, v in loaded.items()}
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def check_checkpoint_keys(
    state: Mapping[str, torch.Tensor],
    model_name: str,
    model_kwargs: Mapping[str, Any],
    component: str,
) -> None:
    """Raise unless ``state`` has exactly the keys of timm's ``model_name`` (head optional).

    timm loads pretrained weights into a ``features_only`` model non-strictly (the head is
    dropped), so a checkpoint of another architecture, or with renamed keys, would leave
    layers randomly initialised without a word. Comparing key names first turns that into an
    error.

    Args:
        state: The checkpoint's state dict.
        model_name: The timm model name.
        model_kwargs: Extra arguments the model is built with (they may change its layers).
        component: How to name the caller in messages.

    Raises:
        ConfigError: keys are missing from, or foreign to, the model; a few of each are listed.
    """
    reference = create_on_meta(model_name, **model_kwargs)
    pretrained_cfg: dict[str, Any] = getattr(reference, "pretrained_cfg", None) or {}
    heads = pretrained_cfg.get("classifier") or ()
    heads = (heads,) if isinstance(heads, str) else tuple(heads)

    def is_head(key: str) -> bool:
        return any(key == h or key.startswith(h + ".") for h in heads)

    expected = {k for k in reference.state_dict() if not is_head(k)}
    given = {k for k in state if not is_head(k)}
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if not missing and not unexpected:
        return
    raise ConfigError(
        f"{component}: the pretrained checkpoint does not fit timm model {model_name!r}: "
        f"{len(missing)} of its {len(expected)} keys are missing (e.g. "
        f"{missing[:_SHOWN]}) and {len(unexpected)} keys are not the model's (e.g. "
        f"{unexpected[:_SHOWN]}). Pass a checkpoint of this architecture in timm's format: "
        f"the state_dict() of timm.create_model({model_name!r}), as in the model.safetensors "
        f"files of the timm/ repositories on the Hugging Face hub."
    )
