"""Where ``TimmConv(pretrained=True)`` gets timm's pretrained weights, and what it says if absent.

timm resolves the weights itself, from the model's ``pretrained_cfg``: a Hugging Face hub
repository (``hf_hub_id``, e.g. ``timm/resnet18.a1_in1k``) read through the Hugging Face
cache, so ``HF_HOME`` / ``HF_HUB_CACHE`` / ``HF_HUB_OFFLINE`` apply and cached weights load
offline; for the few configs without one, a URL read through the torch hub cache. These
helpers only check that weights exist and explain a failed lookup; timm is imported inside
them.
"""

from __future__ import annotations

from typing import Any

import torch

from obsnets.errors import ConfigError

__all__ = ["check_pretrained_weights_exist", "missing_weights_error"]


def _pretrained_cfg(model_name: str) -> Any:
    from timm.models import get_pretrained_cfg

    return get_pretrained_cfg(model_name)


def _display_name(cfg: Any) -> str:
    return f"{cfg.architecture}.{cfg.tag}" if cfg.tag else str(cfg.architecture)


def check_pretrained_weights_exist(model_name: str, label: str) -> None:
    """Raise unless timm knows a source of pretrained weights for ``model_name``.

    Args:
        model_name: A checked timm model name, tagged or not (the default tag is used).
        label: How to name the caller in messages.

    Raises:
        ConfigError: the model (or the tag) has no published weights; its tags are listed.
    """
    cfg = _pretrained_cfg(model_name)
    if cfg.hf_hub_id or cfg.url or cfg.file:
        return
    import timm

    tags = timm.list_pretrained(f"{cfg.architecture}.*")
    raise ConfigError(
        f"{label}: pretrained=True, but timm has no pretrained weights for "
        f"{_display_name(cfg)!r}; tags with weights: {', '.join(map(repr, tags)) or '(none)'}. "
        f"Pick one of them as model_name, pass a weights file as "
        f"pretrained='/path/to/model.safetensors', or use pretrained=False."
    )


def missing_weights_error(model_name: str, label: str, cause: BaseException) -> ConfigError:
    """The error for weights timm could neither find in its cache nor download.

    Names the model, where timm looked (hub repository and Hugging Face cache folder, or
    URL and torch hub folder), whether offline mode is on, and the ways to fix it.

    Args:
        model_name: The timm model name given to ``TimmConv``.
        label: How to name the caller in messages.
        cause: The lookup's own exception, quoted in the message.
    """
    from huggingface_hub import constants

    cfg = _pretrained_cfg(model_name)
    if cfg.hf_hub_id:
        where = (
            f"Hugging Face hub repository {cfg.hf_hub_id!r}, in the Hugging Face cache "
            f"{constants.HF_HUB_CACHE!r} (HF_HUB_CACHE, default HF_HOME/hub)"
        )
        fetch = (
            f"run once with network access, or download them into that cache beforehand "
            f"(`hf download {cfg.hf_hub_id}`), or point HF_HOME / HF_HUB_CACHE at a cache "
            f"that holds them"
        )
    else:
        folder = f"{torch.hub.get_dir()}/checkpoints"
        where = f"{cfg.url!r}, in the torch hub cache {folder!r} (TORCH_HOME)"
        fetch = f"run once with network access, or download {cfg.url} into {folder!r}"
    offline = (
        " HF_HUB_OFFLINE is set, so nothing was downloaded." if constants.HF_HUB_OFFLINE else ""
    )
    return ConfigError(
        f"{label}: pretrained=True found no weights for timm model {_display_name(cfg)!r}: "
        f"looked for {where} ({type(cause).__name__}: {cause}).{offline} To fix: {fetch}; "
        f"or pass a local weights file as pretrained='/path/to/model.safetensors'; or "
        f"pretrained=False for random initialisation."
    )
