"""timm model names: listing them, and checking one before building it.

timm is imported inside the functions, never when this module is imported, so the package
root can export :func:`list_timm_models` without making ``import obsnets_timm`` pay for timm.
"""

from __future__ import annotations

from typing import Any

import torch

from obsnets.errors import ConfigError, UnknownComponentError, suggestion

__all__ = ["check_timm_model_name", "create_on_meta", "list_timm_models"]


def list_timm_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """List the timm model names ``TimmConv(model_name=...)`` accepts.

    Imports timm (once per process) when called.

    Args:
        pattern: A glob pattern over model names, e.g. ``"resnet*"`` or ``"*efficientnet_b?"``.
        pretrained: List only architectures timm knows pretrained weights for, one entry per
            weight tag (``"resnet18.a1_in1k"``); ``TimmConv(name, pretrained=True)`` loads
            them through the Hugging Face cache.

    Returns:
        The matching names, sorted as timm sorts them.
    """
    import timm

    return list(timm.list_models(pattern, pretrained=pretrained))


def check_timm_model_name(model_name: str, component: str = "TimmConv") -> None:
    """Raise unless ``model_name`` is a timm model that can be built without downloading.

    Args:
        model_name: A timm architecture name (``"resnet18"``), optionally with a pretrained
            tag (``"resnet18.a1_in1k"``), which selects the pretrained config (mean/std,
            number of classes) the weights file was trained with.
        component: How to name the caller in messages.

    Raises:
        ConfigError: not a string, a hub or local-dir reference (``"hf-hub:org/name"``,
            which would download), or an unknown pretrained tag.
        UnknownComponentError: timm has no architecture of that name (close matches are
            suggested).
    """
    import timm
    from timm.models import get_pretrained_cfg

    if not isinstance(model_name, str) or not model_name:
        raise ConfigError(
            f"{component}: model_name must be a timm model name such as 'resnet18'; "
            f"got {model_name!r}."
        )
    if ":" in model_name:
        raise ConfigError(
            f"{component}: model_name {model_name!r} names a model by source "
            f"('hf-hub:' or 'local-dir:'), whose architecture timm reads from a config file. "
            f"Pass timm's model name (e.g. 'resnet18.a1_in1k') with pretrained=True for its "
            f"weights, or the local weights file as pretrained='/path/to/model.safetensors'."
        )
    arch, _, tag = model_name.partition(".")
    if not timm.is_model(arch):
        raise UnknownComponentError(
            f"{component}: unknown timm model {model_name!r}."
            f"{suggestion(arch, timm.list_models())} List the names with "
            f"obsnets_timm.list_timm_models('pattern*')."
        )
    if tag:
        try:
            get_pretrained_cfg(model_name)
        except RuntimeError as exc:
            tags = timm.list_pretrained(f"{arch}.*")
            raise ConfigError(
                f"{component}: timm has no pretrained tag {tag!r} for {arch!r}; its tags are "
                f"{', '.join(repr(t) for t in tags) or '(none)'}. Use the bare name "
                f"{arch!r} to build it without a tag."
            ) from exc


def create_on_meta(model_name: str, **kwargs: Any) -> torch.nn.Module:
    """Build a timm model for its structure only (key names, ``feature_info``).

    On the meta device no memory is allocated and weight init does nothing; a model whose
    constructor needs real tensors (e.g. calls ``.item()``) is built on the CPU instead.

    Args:
        model_name: The timm model name.
        **kwargs: Arguments for ``timm.create_model``.
    """
    import timm

    try:
        with torch.device("meta"):
            return timm.create_model(model_name, **kwargs)
    except (NotImplementedError, RuntimeError):
        return timm.create_model(model_name, **kwargs)
