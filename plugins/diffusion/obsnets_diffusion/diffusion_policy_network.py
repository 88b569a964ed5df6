"""``DiffusionPolicyNetwork``: observation encoder + ConditionalUnet1D + a noise scheduler."""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from obsnets.bases.network import NetworkBase
from obsnets.blocks import time_distributed
from obsnets.encoders import ObservationGroupEncoder
from obsnets.encoders.factory import ObsModalities
from obsnets.encoders.summary import random_observations
from obsnets.errors import ConfigError, PluginLoadError, ShapeError
from obsnets_diffusion.conditional_unet1d import ConditionalUnet1D
from obsnets_diffusion.noise_schedulers import build_noise_scheduler, scheduler_settings

__all__ = ["ENCODER_NORMS", "DiffusionPolicyNetwork"]

ENCODER_NORMS = ("batch", "group")
"""``encoder_norm`` choices: keep the encoder's BatchNorm layers, or swap them for GroupNorm."""


class DiffusionPolicyNetwork(NetworkBase):
    """A diffusion policy: denoise an action chunk conditioned on a short observation history.

    ``nets.obs_encoder`` (an :class:`~obsnets.encoders.ObservationGroupEncoder` over the
    ``obs`` group, any ``encoder_kwargs``) encodes each of the ``To`` observation frames; the
    frames' features, flattened to ``(B, To * F)``, are the ``global_cond`` of
    ``nets.noise_pred_net`` (a :class:`ConditionalUnet1D` over ``Tp`` action steps). Training
    (:meth:`training_loss`) adds a scheduler's noise to expert chunks at random diffusion
    steps and regresses the network's prediction onto the noise (MSE). Acting
    (:meth:`forward`) starts from Gaussian noise, runs the DDPM or DDIM scheduler of
    ``diffusers`` for ``num_inference_timesteps`` steps and returns the ``Ta`` actions to
    execute, those from the last observed step on (robomimic's slice ``[To - 1, To - 1 +
    Ta)``). Pass a ``torch.Generator`` for reproducible draws; without one, torch's global
    generator is used.

    This is the network of robomimic's ``DiffusionPolicyUNet`` algorithm (whose ``nets.policy``
    holds ``obs_encoder`` and ``noise_pred_net``); robomimic's EMA copy is a training concern
    (``copy.deepcopy`` of this module works, and forward reads the live submodules).

    Args:
        obs_shapes: Observation key -> shape without batch or time dimension.
        ac_dim: Action dimension ``A``.
        observation_horizon: Observation frames ``To`` per decision.
        action_horizon: Actions ``Ta`` executed per decision (``To - 1 + Ta <= Tp``).
        prediction_horizon: Actions ``Tp`` per denoised chunk (a multiple of
            ``2 ** (len(down_dims) - 1)``).
        diffusion_step_embed_dim: The U-Net's step embedding size (even, >= 4).
        down_dims: The U-Net's channels per level.
        kernel_size: The U-Net's odd convolution kernel size.
        n_groups: The U-Net's GroupNorm groups.
        noise_scheduler: ``"DDPM"`` or ``"DDIM"`` (diffusers' ``DDPMScheduler`` /
            ``DDIMScheduler``).
        noise_scheduler_kwargs: Settings of that scheduler (diffusers' argument names),
            over robomimic's defaults: 100 training steps, ``squaredcos_cap_v2`` betas,
            ``clip_sample=True``, ``prediction_type="epsilon"`` (DDIM also
            ``set_alpha_to_one=True``, ``steps_offset=0``).
        num_inference_timesteps: Denoising steps when acting; ``None`` uses every training
            step (robomimic's DDPM setting; DDIM works with few, e.g. 10).
        encoder_kwargs: Per-modality encoder settings (see ``obs_encoder_factory``), e.g.
            ``VisualCore`` with ``backbone_norm="group"`` and a ``CropRandomizer``.
        obs_modalities: Modality -> observation keys.
        encoder_norm: ``"batch"`` keeps the observation encoder as built; ``"group"``
            replaces every BatchNorm layer in it by ``GroupNorm(C // 16, C)``, as robomimic's
            ``DiffusionPolicyUNet`` does to its encoder (BatchNorm statistics do not suit the
            EMA copy). Needs obsnets-visual when the encoder has BatchNorm layers.

    Shapes: ``forward({k: (B, To, *obs_shapes[k])}) -> (B, Ta, A)``;
    ``training_loss(obs, actions (B, Tp, A)) -> ()``.
    """

    def __init__(
        self,
        obs_shapes: Mapping[str, Sequence[int]],
        ac_dim: int,
        observation_horizon: int = 2,
        action_horizon: int = 8,
        prediction_horizon: int = 16,
        diffusion_step_embed_dim: int = 256,
        down_dims: Sequence[int] = (256, 512, 1024),
        kernel_size: int = 5,
        n_groups: int = 8,
        noise_scheduler: str = "DDPM",
        noise_scheduler_kwargs: Mapping[str, Any] | None = None,
        num_inference_timesteps: int | None = None,
        encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        obs_modalities: ObsModalities | None = None,
        encoder_norm: str = "batch",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.obs_shapes = OrderedDict((k, tuple(s)) for k, s in obs_shapes.items())
        self.ac_dim = ac_dim
        self.observation_horizon = _at_least_one(owner, "observation_horizon", observation_horizon)
        self.action_horizon = _at_least_one(owner, "action_horizon", action_horizon)
        self.prediction_horizon = _at_least_one(owner, "prediction_horizon", prediction_horizon)
        if observation_horizon - 1 + action_horizon > prediction_horizon:
            raise ConfigError(
                f"{owner}: the executed actions are steps [observation_horizon - 1, "
                f"observation_horizon - 1 + action_horizon) of the predicted chunk, so "
                f"observation_horizon - 1 + action_horizon must be <= prediction_horizon; got "
                f"{observation_horizon} - 1 + {action_horizon} > {prediction_horizon}."
            )
        self.noise_scheduler = noise_scheduler
        self.noise_scheduler_kwargs = scheduler_settings(
            owner, noise_scheduler, noise_scheduler_kwargs
        )
        train_steps = build_noise_scheduler(
            owner, noise_scheduler, self.noise_scheduler_kwargs
        ).config.num_train_timesteps
        if num_inference_timesteps is not None and not 1 <= num_inference_timesteps <= train_steps:
            raise ConfigError(
                f"{owner}: num_inference_timesteps must be from 1 to the scheduler's "
                f"num_train_timesteps ({train_steps}), or None for all of them; got "
                f"{num_inference_timesteps!r}."
            )
        self.num_inference_timesteps = num_inference_timesteps or train_steps

        if encoder_norm not in ENCODER_NORMS:
            raise ConfigError(
                f"{owner}: encoder_norm must be one of {list(ENCODER_NORMS)}; got {encoder_norm!r}."
            )
        self.encoder_norm = encoder_norm
        encoder = ObservationGroupEncoder(
            observation_group_shapes={"obs": self.obs_shapes},
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        if encoder_norm == "group":
            _batchnorm_to_groupnorm(owner, encoder)
        unet = ConditionalUnet1D(
            input_dim=ac_dim,
            global_cond_dim=self.observation_horizon * encoder.output_shape()[0],
            diffusion_step_embed_dim=diffusion_step_embed_dim,
            down_dims=down_dims,
            kernel_size=kernel_size,
            n_groups=n_groups,
        )
        if prediction_horizon % unet.length_multiple:
            raise ConfigError(
                f"{owner}: the U-Net halves the action chunk {len(down_dims) - 1} times, so "
                f"prediction_horizon must be a multiple of {unet.length_multiple}; got "
                f"{prediction_horizon}. Use e.g. "
                f"{-(-prediction_horizon // unet.length_multiple) * unet.length_multiple}."
            )
        self.nets = nn.ModuleDict({"obs_encoder": encoder, "noise_pred_net": unet})

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[Ta, A]``: the actions :meth:`forward` returns (``input_shape`` is ignored)."""
        return [self.action_horizon, self.ac_dim]

    def example_inputs(self, batch_size: int = 2) -> dict[str, Any]:
        """Random ``forward`` inputs (``obsnets build``): ``{"obs_dict": {k: (B, To, ...)}}``.

        Drawn by :func:`~obsnets.encoders.summary.random_observations` with seed 0 on the
        network's device: images (3-D shapes) uniform in ``[0, 1]``, other observations
        standard normal.

        Args:
            batch_size: ``B``.
        """
        obs = random_observations(
            self.obs_shapes, batch_size, self.observation_horizon, device=self, seed=0
        )
        return {"obs_dict": obs}

    def build_noise_scheduler(self) -> Any:
        """A fresh diffusers scheduler with this network's settings (imports diffusers)."""
        return build_noise_scheduler(
            type(self).__name__, self.noise_scheduler, self.noise_scheduler_kwargs
        )

    def encode_observations(self, obs_dict: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The U-Net's condition: every frame encoded, flattened, ``(B, To * F)``.

        Args:
            obs_dict: ``{key: (B, To, *obs_shapes[key])}``.
        """
        obs = self._checked_obs(obs_dict)
        features = time_distributed({"obs": obs}, self.nets["obs_encoder"], inputs_as_kwargs=True)
        return features.flatten(start_dim=1)  # (B, To, F) -> (B, To * F)

    def training_loss(
        self,
        obs_dict: Mapping[str, torch.Tensor],
        actions: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The denoising loss on expert action chunks: MSE of the prediction to its target.

        Noise ``(B, Tp, A)`` and one diffusion step per chunk are drawn, the scheduler's
        ``add_noise`` corrupts the chunks, and the U-Net's output is compared with the noise
        (``prediction_type="epsilon"``), the clean chunk (``"sample"``) or the velocity
        (``"v_prediction"``).

        Args:
            obs_dict: ``{key: (B, To, *obs_shapes[key])}``.
            actions: Expert chunks ``(B, Tp, A)`` in ``[-1, 1]``.
            generator: Source of the noise and steps (default: torch's global generator).

        Returns:
            The scalar loss.
        """
        self._check_actions(actions)
        condition = self.encode_observations(obs_dict)
        scheduler = self.build_noise_scheduler()
        noise = _randn(actions.shape, generator, actions)
        steps = torch.randint(
            scheduler.config.num_train_timesteps,
            (actions.shape[0],),
            generator=generator,
            device=generator.device if generator is not None else actions.device,
        ).to(actions.device)
        noisy = scheduler.add_noise(actions, noise, steps)
        prediction = self.nets["noise_pred_net"](noisy, steps, global_cond=condition)
        kind = scheduler.config.prediction_type
        if kind == "epsilon":
            target = noise
        elif kind == "sample":
            target = actions
        else:
            target = scheduler.get_velocity(actions, noise, steps)
        return nn.functional.mse_loss(prediction, target)

    @torch.no_grad()
    def sample_action_sequence(
        self, obs_dict: Mapping[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Denoise a whole chunk of ``Tp`` actions: ``(B, Tp, A)``.

        Args:
            obs_dict: ``{key: (B, To, *obs_shapes[key])}``.
            generator: Source of the initial noise and of DDPM's per-step noise (default:
                torch's global generator).
        """
        condition = self.encode_observations(obs_dict)
        scheduler = self.build_noise_scheduler()
        scheduler.set_timesteps(self.num_inference_timesteps)
        shape = (condition.shape[0], self.prediction_horizon, self.ac_dim)
        chunk = _randn(shape, generator, condition)
        for step in scheduler.timesteps:
            noise = self.nets["noise_pred_net"](chunk, step, global_cond=condition)
            chunk = scheduler.step(noise, step, chunk, generator=generator).prev_sample
        return chunk

    def forward(
        self, obs_dict: Mapping[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The actions to execute next: ``(B, Ta, A)``, in ``[-1, 1]`` with ``clip_sample``.

        Args:
            obs_dict: ``{key: (B, To, *obs_shapes[key])}``, oldest frame first.
            generator: Source of the sampling noise (default: torch's global generator).
        """
        start = self.observation_horizon - 1
        chunk = self.sample_action_sequence(obs_dict, generator)
        return chunk[:, start : start + self.action_horizon]

    def _checked_obs(self, obs_dict: Any) -> dict[str, torch.Tensor]:
        owner = type(self).__name__
        if not isinstance(obs_dict, Mapping):
            raise ShapeError(
                f"{owner}: obs_dict must be a dict {{key: (B, To, ...)}}; got "
                f"{type(obs_dict).__name__}."
            )
        lead: tuple[int, ...] | None = None
        for key, shape in self.obs_shapes.items():
            x = obs_dict.get(key)
            want = (self.observation_horizon, *shape)
            if not isinstance(x, torch.Tensor) or tuple(x.shape[1:]) != want:
                got = "missing" if x is None else f"shape {tuple(getattr(x, 'shape', ()))}"
                raise ShapeError(
                    f"{owner}: obs_dict[{key!r}] must be (B, {', '.join(map(str, want))}): "
                    f"B sequences of observation_horizon = {self.observation_horizon} frames; "
                    f"got {got}."
                )
            if lead is not None and x.shape[0] != lead[0]:
                raise ShapeError(f"{owner}: every observation must share B; {key!r} differs.")
            lead = tuple(x.shape[:1])
        return {k: obs_dict[k] for k in self.obs_shapes}

    def _check_actions(self, actions: Any) -> None:
        want = (self.prediction_horizon, self.ac_dim)
        if not isinstance(actions, torch.Tensor) or actions.dim() != 3 or actions.shape[1:] != want:
            got = (
                f"shape {tuple(actions.shape)}"
                if isinstance(actions, torch.Tensor)
                else type(actions).__name__
            )
            raise ShapeError(
                f"{type(self).__name__}: actions must be expert chunks (B, {want[0]}, "
                f"{want[1]}) (B, prediction_horizon, ac_dim); got {got}."
            )


def _batchnorm_to_groupnorm(owner: str, encoder: nn.Module) -> None:
    """Swap the encoder's BatchNorm layers for GroupNorm (C // 16 groups), in place."""
    if not any(isinstance(m, _BatchNorm) for m in encoder.modules()):
        return  # nothing to swap (low-dim encoders, GroupNorm backbones)
    try:
        norm = importlib.import_module("obsnets_visual.norm")
    except ImportError as exc:
        raise PluginLoadError(
            f"{owner}: encoder_norm='group' swaps the encoder's BatchNorm layers with "
            f"obsnets-visual's replace_batchnorm_with_groupnorm, which is not importable "
            f"({exc}). Install it: pip install obsnets-visual."
        ) from exc
    norm.replace_batchnorm_with_groupnorm(encoder, group_size=16)


def _at_least_one(owner: str, name: str, value: int) -> int:
    if value < 1:
        raise ConfigError(f"{owner}: {name} must be >= 1; got {value}.")
    return value


def _randn(
    shape: Sequence[int], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """Standard normal noise shaped ``shape`` in ``like``'s dtype and device, drawn on the
    generator's own device (a CPU generator also seeds CUDA runs)."""
    device = generator.device if generator is not None else like.device
    noise = torch.randn(tuple(shape), generator=generator, device=device, dtype=like.dtype)
    return noise.to(like.device)
