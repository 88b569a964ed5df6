"""Noise schedulers by name: diffusers' DDPM and DDIM, imported only when one is built."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from obsnets.building import check_kwargs
from obsnets.errors import ConfigError, PluginLoadError, suggestion
from obsnets.validation import check_int

__all__ = ["NOISE_SCHEDULERS", "PREDICTION_TYPES", "build_noise_scheduler", "scheduler_settings"]

NOISE_SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    # name: (diffusers class as "module:attribute", robomimic's default settings)
    "DDPM": (
        "diffusers.schedulers.scheduling_ddpm:DDPMScheduler",
        {
            "num_train_timesteps": 100,
            "beta_schedule": "squaredcos_cap_v2",
            "clip_sample": True,
            "prediction_type": "epsilon",
        },
    ),
    "DDIM": (
        "diffusers.schedulers.scheduling_ddim:DDIMScheduler",
        {
            "num_train_timesteps": 100,
            "beta_schedule": "squaredcos_cap_v2",
            "clip_sample": True,
            "set_alpha_to_one": True,
            "steps_offset": 0,
            "prediction_type": "epsilon",
        },
    ),
}
"""The schedulers a config can name, with robomimic's ``algo.ddpm`` / ``algo.ddim`` defaults."""

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
"""What the noise-prediction network predicts: the noise, the clean sample, or the velocity."""


def scheduler_settings(owner: str, name: str, kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """robomimic's defaults for scheduler ``name``, updated with ``kwargs`` (checked by name).

    Args:
        owner: The network asking, for messages.
        name: ``"DDPM"`` or ``"DDIM"``.
        kwargs: Settings for the diffusers scheduler's constructor; ``None`` keeps the
            defaults.

    Raises:
        ConfigError: an unknown scheduler name or ``prediction_type``, or a
            ``num_train_timesteps`` below 1.
        InvalidKwargsError: a ``num_train_timesteps`` that is not an int.
    """
    if name not in NOISE_SCHEDULERS:
        raise ConfigError(
            f"{owner}: unknown noise_scheduler {name!r}; choose one of "
            f"{sorted(NOISE_SCHEDULERS)}.{suggestion(str(name), list(NOISE_SCHEDULERS))}"
        )
    settings = {**NOISE_SCHEDULERS[name][1], **dict(kwargs or {})}
    # diffusers takes 0 or a negative count and fails later (ZeroDivisionError while
    # building the betas, RuntimeError from linspace) or samples with no steps at all
    check_int(
        owner,
        "noise_scheduler_kwargs['num_train_timesteps']",
        settings["num_train_timesteps"],
        low=1,
    )
    if settings.get("prediction_type") not in PREDICTION_TYPES:
        raise ConfigError(
            f"{owner}: noise_scheduler_kwargs prediction_type must be one of "
            f"{list(PREDICTION_TYPES)}; got {settings.get('prediction_type')!r}."
        )
    return settings


def build_noise_scheduler(owner: str, name: str, kwargs: Mapping[str, Any] | None) -> Any:
    """A fresh diffusers scheduler ``name`` with robomimic's defaults updated by ``kwargs``.

    A new object per call: ``set_timesteps`` changes a scheduler, so none is shared between
    calls (building one takes well under a millisecond once diffusers is imported).

    Args:
        owner: The network asking, for messages.
        name: ``"DDPM"`` or ``"DDIM"``.
        kwargs: Settings for the diffusers scheduler's constructor.

    Raises:
        ConfigError: an unknown scheduler or prediction type, or settings diffusers refuses.
        InvalidKwargsError: a setting the scheduler does not take (the valid ones are named).
        PluginLoadError: diffusers is not installed.
    """
    settings = scheduler_settings(owner, name, kwargs)
    module_name, _, attribute = NOISE_SCHEDULERS[name][0].partition(":")
    try:
        scheduler_class = getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise PluginLoadError(
            f"{owner}: the {name} noise scheduler comes from diffusers, which is not "
            f"importable ({exc}). Install it: pip install 'diffusers>=0.30'."
        ) from exc
    check_kwargs(
        scheduler_class,
        settings,
        what=f"{owner}: noise_scheduler_kwargs (valid: the settings of diffusers' {attribute})",
    )
    try:
        return scheduler_class(**settings)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise ConfigError(
            f"{owner}: diffusers' {attribute} refused noise_scheduler_kwargs {settings}: {exc}"
        ) from exc
