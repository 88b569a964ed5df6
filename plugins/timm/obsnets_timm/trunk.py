"""Building timm's ``features_only`` trunk for ``TimmConv``, with timm's quirks handled."""

from __future__ import annotations

from typing import Any

import timm
import torch

from obsnets.errors import ConfigError, InvalidKwargsError
from obsnets_timm.hub_weights import missing_weights_error
from obsnets_timm.model_names import create_on_meta

__all__ = ["create_trunk"]


def create_trunk(
    model_name: str,
    input_channel: int,
    out_index: int,
    extra: dict[str, Any],
    state: dict[str, torch.Tensor] | None,
    label: str,
    from_hub: bool = False,
) -> torch.nn.Module:
    """Build ``timm.create_model(model_name, features_only=True)`` returning one level.

    Args:
        model_name: A checked timm model name.
        input_channel: Input channels (timm's ``in_chans``).
        out_index: The feature level (timm's ``out_indices=(out_index,)``).
        extra: Further timm model arguments.
        state: A checked checkpoint to load (timm adapts the first conv, drops the head),
            or ``None``.
        label: How to name the caller in messages.
        from_hub: Without ``state``, load timm's own pretrained weights for ``model_name``
            (its ``pretrained_cfg`` source: the Hugging Face cache, downloading if online);
            neither means random initialisation.

    Raises:
        ConfigError: ``out_index`` out of range (the levels are listed), checkpoint
            tensors of the wrong shape, or ``from_hub`` weights that are neither cached nor
            downloadable (the message says where timm looked).
        InvalidKwargsError: the timm model rejects one of ``extra``.
    """
    # An in-memory state dict is timm's first-choice weight source ('source' cleared so no
    # hub config can take precedence); timm still adapts it to in_chans and drops the head.
    overlay = None if state is None else {"state_dict": state, "source": None}
    try:
        trunk = timm.create_model(
            model_name,
            pretrained=state is not None or from_hub,
            pretrained_cfg_overlay=overlay,
            features_only=True,
            out_indices=(out_index,),
            in_chans=input_channel,
            **extra,
        )
    except IndexError as exc:
        raise ConfigError(
            f"{label}: out_index={out_index} is out of range; {_describe_levels(model_name, extra)}"
        ) from exc
    except TypeError as exc:
        if not extra:
            raise
        raise InvalidKwargsError(
            f"{label}: the timm model rejected model_kwargs {sorted(extra)}: {exc}."
        ) from exc
    except OSError as exc:  # hub and URL lookups: not cached, offline, no network, no repo
        if not from_hub:
            raise
        raise missing_weights_error(model_name, label, exc) from exc
    except RuntimeError as exc:
        if state is None or "state_dict" not in str(exc):
            raise
        raise ConfigError(f"{label}: the pretrained weights do not fit the model: {exc}") from exc
    if state is not None:
        _forget_checkpoint(trunk)
    _drop_blocks_after_last_level(trunk)
    return trunk


def _drop_blocks_after_last_level(trunk: torch.nn.Module) -> None:
    # timm's own feature classes of the EfficientNet and MobileNetV3 families keep and run
    # every block whatever out_indices asks for: computation and parameters without effect
    # on the output. Their forward appends stage s after block s - 1 (stage 0 is the stem),
    # so the blocks past the deepest requested stage can go.
    stages = getattr(trunk, "_stage_out_idx", None)
    blocks = getattr(trunk, "blocks", None)
    if not isinstance(stages, dict) or not stages or not isinstance(blocks, torch.nn.Sequential):
        return
    if getattr(trunk, "feature_hooks", None) is not None:  # features taken by hooks instead
        return
    keep = max(int(stage) for stage in stages)
    if keep < len(blocks):
        trunk.blocks = blocks[:keep]


def _forget_checkpoint(trunk: torch.nn.Module) -> None:
    # timm keeps the overlay, checkpoint tensors included, in each model's pretrained_cfg
    # (aliased as default_cfg): a second copy of the weights for the model's lifetime, carried
    # into every deepcopy and pickle. The weights are in the parameters now.
    for module in trunk.modules():
        for attribute in ("pretrained_cfg", "default_cfg"):
            cfg = getattr(module, attribute, None)
            if isinstance(cfg, dict):
                cfg.pop("state_dict", None)


def _describe_levels(model_name: str, extra: dict[str, Any]) -> str:
    info: Any = create_on_meta(model_name, features_only=True, **extra).feature_info
    channels, reductions = info.channels(), info.reduction()
    n = len(channels)
    return (
        f"the model has {n} feature levels (out_index 0..{n - 1} or -{n}..-1) with channels "
        f"{channels} at strides {reductions}."
    )
