"""Every diffusion network keeps the obsnets component contract (obsnets.testing).

Nothing here imports obsnets_diffusion at module level: the repository's
tests/test_conformance.py may load ``CONFORMANCE_CASES`` from this file.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.testing import ConformanceCase, conformance_params, run_check

PROVIDER = "obsnets-diffusion"
OBS = {"eef": [3], "obj": [4]}
TO, TP, A = 2, 4, 2
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
IMAGE = [3, 16, 16]
VISUAL = {
    "rgb": {
        "core_class": "VisualCore",
        "core_kwargs": {
            "backbone_class": "ShallowConv",
            "backbone_kwargs": {},
            "pool_class": "SpatialSoftmax",
            "pool_kwargs": {"num_kp": 4},
            "feature_dimension": 8,
        },
        "obs_randomizer_class": "CropRandomizer",
        "obs_randomizer_kwargs": {"crop_height": 12, "crop_width": 12},
    },
    **LOW_DIM,
}
POLICY: dict[str, Any] = {
    "ac_dim": A,
    "observation_horizon": TO,
    "action_horizon": 2,
    "prediction_horizon": TP,
    "diffusion_step_embed_dim": 8,
    "down_dims": [8, 16],
    "kernel_size": 3,
    "num_inference_timesteps": 3,
}


def frames(batch: int, shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.rand(batch, TO, *s) for k, s in shapes.items()}


def denoising_loss(module: Any, inputs: dict[str, Any]) -> torch.Tensor:
    """Sampling runs without gradients: train through the denoising loss instead."""
    obs = inputs["obs_dict"]
    batch = next(iter(obs.values())).shape[0]
    actions = torch.rand(batch, TP, A, dtype=next(iter(obs.values())).dtype) * 2 - 1
    return module.training_loss(obs, actions.to(next(iter(obs.values())).device))


CONFORMANCE_CASES = [
    ConformanceCase(
        "ConditionalUnet1D",
        kwargs={
            "input_dim": A,
            "global_cond_dim": 5,
            "diffusion_step_embed_dim": 8,
            "down_dims": [8, 16, 24],
            "kernel_size": 3,
            "n_groups": 4,
        },
        inputs_factory=lambda b: {
            "sample": torch.randn(b, 8, A),
            "timestep": torch.randint(100, (b,)),
            "global_cond": torch.randn(b, 5),
        },
        kind="network",
        provider=PROVIDER,
        output_shape_input=[8, A],
    ),
    ConformanceCase(
        "DiffusionPolicyNetwork",
        kwargs={
            **POLICY,
            "obs_shapes": OBS,
            "noise_scheduler": "DDPM",
            "encoder_kwargs": LOW_DIM,
            "obs_modalities": {"low_dim": list(OBS)},
        },
        inputs_factory=lambda b: {"obs_dict": frames(b, OBS)},
        kind="network",
        provider=PROVIDER,
        deterministic_eval=False,  # forward samples
        loss=denoising_loss,
    ),
    ConformanceCase(
        "DiffusionPolicyNetwork",
        kwargs={
            **POLICY,
            "obs_shapes": {"image": IMAGE, "eef": [3]},
            "noise_scheduler": "DDIM",
            "noise_scheduler_kwargs": {"num_train_timesteps": 20, "prediction_type": "sample"},
            "encoder_kwargs": VISUAL,
            "obs_modalities": {"rgb": ["image"], "low_dim": ["eef"]},
        },
        inputs_factory=lambda b: {"obs_dict": frames(b, {"image": IMAGE, "eef": [3]})},
        kind="network",
        provider=PROVIDER,
        deterministic_eval=False,
        loss=denoising_loss,
        id="DiffusionPolicyNetwork-image-DDIM",
    ),
]


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_diffusion_conformance(case_and_check: tuple[ConformanceCase, str]) -> None:
    run_check(*case_and_check)
