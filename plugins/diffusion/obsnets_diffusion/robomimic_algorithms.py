"""robomimic's ``DiffusionPolicyUNet`` (``algo_name = "diffusion_policy"``) for obsnets-robomimic.

Imported only by the ``obsnets_robomimic_register_algorithms`` hook, which obsnets-robomimic
calls; this module therefore may import obsnets-robomimic.

What robomimic (v0.5) does, and this rebuilds:

- ``nets.policy`` is ``{"obs_encoder": ObservationGroupEncoder over the obs group,
  "noise_pred_net": ConditionalUnet1D(input_dim=ac_dim, global_cond_dim=To * F)}``, every
  BatchNorm of the encoder swapped for ``GroupNorm(C // 16, C)``. That ``ModuleDict`` is
  :class:`~obsnets_diffusion.DiffusionPolicyNetwork`'s ``nets``, so ``policy.<key>`` loads
  into ``nets.<key>``.
- The noise scheduler comes from ``config.algo.ddpm`` when enabled, else ``config.algo.ddim``.
- With ``config.algo.ema.enabled`` robomimic acts with the EMA copy, which ``serialize``
  stores as ``model["ema"]`` (``ema.averaged_model.state_dict()``: the same keys as
  ``model["nets"]``); it is ``None`` without EMA. Both encoder and U-Net come from that copy.
- ``get_action`` keeps a queue of planned actions: when it is empty, one chunk of ``Tp``
  actions is sampled from the ``To`` stacked observation frames and actions
  ``[To - 1, To - 1 + Ta)`` are queued; each call pops one; ``reset`` empties the queue.

robomimic up to v0.5 passes none of ``config.algo.unet``'s settings to the U-Net (it always
has ``diffusion_step_embed_dim=256``, ``down_dims=[256, 512, 1024]``, ``kernel_size=5``,
``n_groups=8``), while forks (e.g. DROID's policy learning) pass them. The stored weights'
shapes tell which happened: the config's settings are used when they fit (or when the
weights do not say), robomimic's defaults when only those fit (with a
:class:`~obsnets_robomimic.RobomimicMigrationWarning`).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_robomimic.algorithms import (
    AlgorithmInputs,
    AlgorithmSpec,
    NetworkSpec,
    UnsupportedAlgorithmError,
    algo_section,
    section_enabled,
)
from obsnets_robomimic.kwargs_migration import RobomimicMigrationWarning

__all__ = [
    "HORIZON_SETTINGS",
    "ROBOMIMIC_UNET_DEFAULTS",
    "SCHEDULER_SECTIONS",
    "UNET_SETTINGS",
    "ChunkedActions",
    "diffusion_algorithms",
]

HORIZON_SETTINGS = ("observation_horizon", "action_horizon", "prediction_horizon")
"""``config.algo.horizon`` keys; each is the ``DiffusionPolicyNetwork`` argument of that name."""
UNET_SETTINGS = ("diffusion_step_embed_dim", "down_dims", "kernel_size", "n_groups")
ROBOMIMIC_UNET_DEFAULTS: dict[str, Any] = {
    "diffusion_step_embed_dim": 256,
    "down_dims": [256, 512, 1024],
    "kernel_size": 5,
    "n_groups": 8,
}
"""The U-Net robomimic's ``DiffusionPolicyUNet`` builds, whatever ``config.algo.unet`` says."""

SCHEDULER_SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # config.algo section (in robomimic's order of precedence): (noise_scheduler, the
    # settings robomimic passes to the diffusers scheduler)
    "ddpm": ("DDPM", ("num_train_timesteps", "beta_schedule", "clip_sample", "prediction_type")),
    "ddim": (
        "DDIM",
        (
            "num_train_timesteps",
            "beta_schedule",
            "clip_sample",
            "set_alpha_to_one",
            "steps_offset",
            "prediction_type",
        ),
    ),
}
_UNET_PREFIX = "policy.noise_pred_net."
_VARIANTS = "config.algo.unet.enabled (DiffusionPolicyUNet)"


def _check_variant(algo_config: Mapping[str, Any]) -> None:
    """robomimic's ``diffusion_policy.algo_config_to_class``: only the U-Net variant exists."""
    if section_enabled(algo_config, "unet"):
        return
    if section_enabled(algo_config, "transformer"):
        raise UnsupportedAlgorithmError(
            f"config.algo.transformer.enabled selects a transformer diffusion policy, which "
            f"robomimic does not implement either (NotImplementedError); only {_VARIANTS} "
            f"is supported."
        )
    raise ConfigError(
        f"config.algo.unet.enabled is false and no other variant is enabled; robomimic's "
        f"diffusion_policy needs {_VARIANTS}."
    )


def _scheduler_kwargs(algo_config: Mapping[str, Any]) -> dict[str, Any]:
    """``noise_scheduler``, ``noise_scheduler_kwargs``, ``num_inference_timesteps``."""
    for section_name, (scheduler, keys) in SCHEDULER_SECTIONS.items():
        if section_enabled(algo_config, section_name):
            section = algo_section(algo_config, section_name, (*keys, "num_inference_timesteps"))
            return {
                "noise_scheduler": scheduler,
                "noise_scheduler_kwargs": {k: section[k] for k in keys},
                "num_inference_timesteps": section["num_inference_timesteps"],
            }
    raise ConfigError(
        f"Neither config.algo.ddpm.enabled nor config.algo.ddim.enabled is true; robomimic's "
        f"diffusion_policy needs one noise scheduler ({', '.join(SCHEDULER_SECTIONS)})."
    )


def _stored_unet(weights: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
    """The U-Net settings the stored weights' shapes show (``n_groups`` is not visible)."""
    embed = weights.get(_UNET_PREFIX + "diffusion_step_encoder.1.weight")  # (4d, d)
    convs: list[torch.Tensor] = []
    while (
        conv := weights.get(f"{_UNET_PREFIX}down_modules.{len(convs)}.0.blocks.0.block.0.weight")
    ) is not None:
        convs.append(conv)  # (down_dims[i], C_in, kernel_size)
    if embed is None or embed.dim() != 2 or not convs or any(c.dim() != 3 for c in convs):
        return None
    return {
        "diffusion_step_embed_dim": int(embed.shape[1]),
        "down_dims": [int(c.shape[0]) for c in convs],
        "kernel_size": int(convs[0].shape[2]),
    }


def _visible(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if k == "down_dims" else v for k, v in settings.items() if k != "n_groups"}


def _unet_kwargs(inputs: AlgorithmInputs) -> dict[str, Any]:
    section = algo_section(inputs.algo_config, "unet", UNET_SETTINGS)
    configured = {k: section[k] for k in UNET_SETTINGS}
    stored = _stored_unet(inputs.weights)
    if stored is None or stored == _visible(configured):
        return configured
    if stored == _visible(ROBOMIMIC_UNET_DEFAULTS):
        warnings.warn(
            f"config.algo.unet asks for {configured}, but the stored U-Net has robomimic's "
            f"default shapes: robomimic's DiffusionPolicyUNet ignores config.algo.unet and "
            f"builds {ROBOMIMIC_UNET_DEFAULTS}, so that is the network rebuilt.",
            RobomimicMigrationWarning,
            stacklevel=2,
        )
        return dict(ROBOMIMIC_UNET_DEFAULTS)
    return configured  # neither fits: strict loading names every mismatching tensor


def _diffusion_policy_unet(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    algo_config = inputs.algo_config
    _check_variant(algo_config)
    horizon = algo_section(algo_config, "horizon", HORIZON_SETTINGS)
    kwargs = (
        {
            "obs_shapes": OrderedDict(inputs.obs_shapes),
            "ac_dim": inputs.ac_dim,
            "encoder_kwargs": inputs.encoder_kwargs,
            "encoder_norm": "group",
        }
        | {k: horizon[k] for k in HORIZON_SETTINGS}
        | _unet_kwargs(inputs)
        | _scheduler_kwargs(algo_config)
    )
    return {"policy": NetworkSpec("DiffusionPolicyNetwork", kwargs, module="nets")}


def _acting_weights(algo_config: Mapping[str, Any]) -> str:
    return "ema" if section_enabled(algo_config, "ema") else "nets"


class ChunkedActions:
    """robomimic's ``DiffusionPolicyUNet.get_action``: execute planned chunks, then re-plan.

    When no planned action is left, one chunk is sampled from the observation (``To``
    stacked frames) and its actions ``[To - 1, To - 1 + Ta)`` are queued; every call returns
    the next queued action, so the observations of the following ``Ta - 1`` calls are not
    looked at (as in robomimic).

    Args:
        network: A :class:`~obsnets_diffusion.DiffusionPolicyNetwork` (or any network with
            ``observation_horizon`` and ``network(obs, generator=...) -> (B, Ta, A)``).
        generator: Source of the sampling noise; ``None`` uses torch's global generator
            (robomimic's behaviour: seed with ``torch.manual_seed``).
    """

    def __init__(self, network: nn.Module, generator: torch.Generator | None = None) -> None:
        self.network = network
        self.generator = generator
        self._planned: deque[torch.Tensor] = deque()

    def reset(self) -> None:
        """Drop the planned actions (the next call samples a new chunk)."""
        self._planned.clear()

    def __call__(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """The next action ``(B, A)``; ``obs`` is ``{key: (B, To, *shape)}``.

        Raises:
            InvalidKwargsError: a goal was given (robomimic's diffusion policy has none).
            ShapeError: an observation is not a tensor, or does not carry ``To`` frames.
        """
        if goal is not None:
            raise InvalidKwargsError(
                "robomimic's diffusion policy (DiffusionPolicyUNet) is not goal-conditioned; "
                "call the policy without a goal."
            )
        if not self._planned:
            self._check_frames(obs)
            chunk: torch.Tensor = self.network(obs, generator=self.generator)  # (B, Ta, A)
            self._planned.extend(chunk.unbind(dim=1))
        return self._planned.popleft()

    def _check_frames(self, obs: Mapping[str, torch.Tensor]) -> None:
        frames = self.network.observation_horizon
        for key, value in obs.items():
            if not isinstance(value, torch.Tensor):
                raise ShapeError(
                    f"The diffusion policy takes observations as tensors (B, T, ...) with "
                    f"observation_horizon = {frames} frames, but observation {key!r} is "
                    f"{type(value).__name__} {_short_repr(value)}. Pass torch tensors (e.g. "
                    f"torch.as_tensor(value))."
                )
            if value.dim() < 2 or value.shape[1] != frames:
                raise ShapeError(
                    f"The diffusion policy conditions on observation_horizon = {frames} "
                    f"frames, but observation {key!r} carries shape {tuple(value.shape)} "
                    f"(B, T, ...). The rollout stacks config.train.frame_stack frames; "
                    f"robomimic acts only when it equals config.algo.horizon."
                    f"observation_horizon (it fails the same way otherwise)."
                )


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _chunked_policy(
    networks: Mapping[str, nn.Module], algo_config: Mapping[str, Any]
) -> ChunkedActions:
    return ChunkedActions(networks["policy"])


def diffusion_algorithms() -> list[AlgorithmSpec]:
    """The algorithm specs this plugin adds to obsnets-robomimic's registry."""
    return [
        AlgorithmSpec(
            "DiffusionPolicyUNet",
            _diffusion_policy_unet,
            _chunked_policy,
            frame_stacked=True,
            weights=_acting_weights,
        )
    ]
