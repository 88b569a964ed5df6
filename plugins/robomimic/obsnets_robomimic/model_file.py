"""A robomimic checkpoint as the ``obsnets`` CLI shows it (``obsnets_open_model_file``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsnets_robomimic.checkpoint_loading import load_checkpoint

__all__ = ["FORMAT_NAME", "describe_checkpoint"]

FORMAT_NAME = "robomimic checkpoint"


def describe_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a robomimic checkpoint and describe it for ``obsnets inspect`` / ``build``.

    Args:
        path: The checkpoint file.

    Returns:
        ``{"format", "networks", "details"}`` as the ``obsnets_open_model_file`` hook
        specifies; ``details`` holds the algorithm, environment, shapes and normalization.
    """
    checkpoint = load_checkpoint(path)
    obs_stats = checkpoint.obs_normalization_stats
    action_stats = checkpoint.action_normalization_stats
    variable_state = checkpoint.variable_state or {}
    return {
        "format": FORMAT_NAME,
        "networks": checkpoint.networks,
        "details": {
            "algo_name": checkpoint.algo_name,
            "algorithm": checkpoint.algo_class,
            "weights": f"model[{checkpoint.weights!r}]",
            "env_name": checkpoint.env_metadata.get("env_name"),
            "epoch": variable_state.get("epoch"),
            "ac_dim": checkpoint.shape_metadata["ac_dim"],
            "observation_shapes": checkpoint.shape_metadata["all_shapes"],
            "obs_normalization": sorted(obs_stats) if obs_stats else None,
            "action_normalization": sorted(action_stats) if action_stats else None,
        },
    }
