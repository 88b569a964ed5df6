"""``RolloutPolicy``: acts like robomimic's rollout policy on raw environment observations.

Order of operations per call, as robomimic's ``RolloutPolicy``: add the batch axis, cast to
float32, normalize observations with the checkpoint's statistics (if any), turn images from
``(H, W, C)`` (rgb: uint8, divided by 255) into ``(C, H, W)``, run the algorithm's action
step, drop the batch axis, un-normalize the action in float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.errors import ConfigError, ShapeError
from obsnets_robomimic.checkpoint_loading import RobomimicCheckpoint, load_checkpoint
from obsnets_robomimic.config_migration import obs_modalities_from_config
from obsnets_robomimic.rollout_actions import ActionSource

__all__ = ["RolloutPolicy", "policy_from_checkpoint"]

_IMAGE_SCALE = {"rgb": 255.0, "depth": 1.0}  # robomimic's process_frame scale per modality


class RolloutPolicy:
    """Acts from one raw observation at a time, like robomimic's ``RolloutPolicy``.

    Args:
        checkpoint: The loaded checkpoint (:func:`~obsnets_robomimic.load_checkpoint`).

    Example::

        policy = policy_from_checkpoint("model_epoch_100.pth")
        policy.start_episode()
        action = policy(obs)  # obs as the environment returns it

    Differences from robomimic: observation keys the policy does not use are ignored and a
    missing or misshapen key raises :class:`~obsnets.errors.ShapeError` naming it (robomimic
    fails inside the network); an rgb key with normalization statistics is refused when the
    statistics do not fit the raw ``(H, W, C)`` image (robomimic asserts).
    """

    def __init__(self, checkpoint: RobomimicCheckpoint) -> None:
        self.checkpoint = checkpoint
        self.action_source: ActionSource = checkpoint.spec.action_source(
            checkpoint.networks, checkpoint.config["algo"]
        )
        self._modality = {
            key: modality
            for modality, keys in obs_modalities_from_config(checkpoint.config).items()
            for key in keys
        }
        self._check_action_config()

    @property
    def device(self) -> torch.device:
        """Where the networks are (observations are moved there)."""
        network = next(iter(self.checkpoint.networks.values()))
        return next(network.parameters()).device

    def _check_action_config(self) -> None:
        action_config = self.checkpoint.config.get("train", {}).get("action_config") or {}
        for key, settings in action_config.items():
            fmt = (settings or {}).get("format")
            if fmt is not None:
                raise ConfigError(
                    f"train.action_config[{key!r}] has format {fmt!r}; converting actions from "
                    f"that format after un-normalization is not supported yet."
                )

    def start_episode(self) -> None:
        """Reset state carried between steps (RNN state); call before each episode."""
        self.action_source.reset()

    def _frames(self) -> int:
        if not self.checkpoint.spec.frame_stacked:
            return 0
        return int(self.checkpoint.config.get("train", {}).get("frame_stack", 1))

    def _raw_shape(self, key: str) -> tuple[int, ...]:
        shape = tuple(self.checkpoint.shape_metadata["all_shapes"][key])
        if self._modality.get(key) in _IMAGE_SCALE and len(shape) == 3:
            shape = (shape[1], shape[2], shape[0])  # raw images are (H, W, C)
        frames = self._frames()
        return ((frames,) if frames else ()) + shape

    def _prepare_key(self, key: str, value: Any, stats: Mapping[str, Any] | None) -> torch.Tensor:
        tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
        expected = self._raw_shape(key)
        if tuple(tensor.shape) != expected:
            raise ShapeError(
                f"Observation {key!r} has shape {tuple(tensor.shape)}; this checkpoint expects "
                f"{expected} per step (no batch axis; images (H, W, C))."
            )
        tensor = tensor.to(self.device).unsqueeze(0).float()
        if stats is not None and key in stats:
            offset = stats[key]["offset"][0].float().to(self.device)
            scale = stats[key]["scale"][0].float().to(self.device)
            if tensor.shape[-offset.dim() :] != offset.shape:
                raise ShapeError(
                    f"obs_normalization_stats[{key!r}] has shape {tuple(offset.shape)}, which "
                    f"does not fit the raw observation {expected}; robomimic computes image "
                    f"statistics in (C, H, W) and cannot apply them either. Retrain without "
                    f"train.hdf5_normalize_obs for image keys."
                )
            tensor = (tensor - offset) / scale
        modality = self._modality.get(key)
        if modality in _IMAGE_SCALE and tensor.dim() >= 4:
            tensor = (tensor / _IMAGE_SCALE[modality]).movedim(-1, -3)
        return tensor

    def prepare_observation(
        self, ob: Mapping[str, Any], keys: list[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Turn one raw observation into the network's input batch of one.

        Args:
            ob: key -> array or tensor without batch axis: low-dim ``(D,)``, images
                ``(H, W, C)`` (rgb uint8); with frame stacking each has a leading ``T``.
            keys: Keys to prepare; the policy's observation keys by default.

        Returns:
            key -> float32 tensor ``(1, ...)``: normalized, images ``(1, C, H, W)`` in [0, 1].

        Raises:
            ShapeError: a key is missing or has the wrong shape.
        """
        wanted = keys if keys is not None else list(self._obs_keys("obs"))
        missing = [k for k in wanted if k not in ob]
        if missing:
            raise ShapeError(
                f"The observation lacks {missing}; this checkpoint's policy reads "
                f"{wanted}. Given keys: {sorted(ob)}."
            )
        stats = self.checkpoint.obs_normalization_stats
        return {key: self._prepare_key(key, ob[key], stats) for key in wanted}

    def _obs_keys(self, group: str) -> list[str]:
        modalities = self.checkpoint.config["observation"]["modalities"].get(group) or {}
        listed = {k for keys in modalities.values() for k in keys or []}
        return [k for k in self.checkpoint.shape_metadata["all_shapes"] if k in listed]

    def _unnormalize(self, action: np.ndarray) -> np.ndarray:
        stats = self.checkpoint.action_normalization_stats
        if stats is None:
            return action
        keys = list(self.checkpoint.config.get("train", {}).get("action_keys") or stats)
        parts, start = [], 0
        for key in keys:
            offset = stats[key]["offset"][0].numpy()
            scale = stats[key]["scale"][0].numpy()
            width = int(np.prod(offset.shape))
            chunk = action[start : start + width].reshape(offset.shape)
            parts.append((offset + scale * chunk).reshape(-1))
            start += width
        if start != action.shape[-1]:
            raise ShapeError(
                f"action_normalization_stats cover {start} action dimensions for keys {keys}; "
                f"the policy outputs {action.shape[-1]}."
            )
        return np.concatenate(parts)

    @torch.no_grad()
    def __call__(self, ob: Mapping[str, Any], goal: Mapping[str, Any] | None = None) -> np.ndarray:
        """The action for one raw observation.

        Args:
            ob: key -> array or tensor without batch axis (see :meth:`prepare_observation`).
            goal: The goal observation, same form, for goal-conditioned policies.

        Returns:
            The action ``(A,)``: float64 when un-normalized with the checkpoint's statistics
            (as robomimic returns it), else float32.
        """
        obs = self.prepare_observation(ob)
        goal_batch = None
        if goal is not None:
            goal_batch = self.prepare_observation(goal, keys=self._obs_keys("goal"))
        action = self.action_source(obs, goal_batch)[0].cpu().numpy()
        return self._unnormalize(action)


def policy_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> RolloutPolicy:
    """Load a robomimic checkpoint as a rollout policy (robomimic's ``policy_from_checkpoint``).

    Args:
        path: A ``.pth`` file written by robomimic's training script.
        device: Where to run the networks.

    Returns:
        A :class:`RolloutPolicy`; call ``start_episode()`` then ``policy(obs)`` each step.
    """
    return RolloutPolicy(load_checkpoint(path, device=device))
