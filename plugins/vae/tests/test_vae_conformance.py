"""The VAE and its priors keep the obsnets component contract (obsnets.testing)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.testing import ConformanceCase, conformance_params, run_check

COND = {"eef": [3], "obj": [5]}
MODALITIES = {"low_dim": ["action", "eef", "obj"]}
PROVIDER = "obsnets-vae"


def conditions(batch: int) -> dict[str, torch.Tensor]:
    return {k: torch.randn(batch, *s) for k, s in COND.items()}


def vae_inputs(batch: int) -> dict[str, Any]:
    action = torch.rand(batch, 2) * 2 - 1
    return {"inputs": {"action": action}, "outputs": {"action": action},
            "conditions": conditions(batch)}  # fmt: skip


VAE_SKIPS = {
    "output_shape": "forward returns the posterior, the latents, the reconstructions and two "
    "scalar losses; output_shape describes the reconstructions (test_vae_behaviour checks it)",
}

CONFORMANCE_CASES = [
    ConformanceCase(
        "VAE",
        kwargs={
            "input_shapes": {"action": [2]},
            "output_shapes": {"action": [2]},
            "encoder_layer_dims": [8],
            "decoder_layer_dims": [8],
            "latent_dim": 3,
            "device": "cpu",
            "condition_shapes": COND,
            "prior_learn": True,
            "prior_is_conditioned": True,
            "prior_layer_dims": [8],
            "prior_use_gmm": True,
            "prior_gmm_num_modes": 2,
            "prior_gmm_learn_weights": True,
            "output_squash": ["action"],
            "output_scales": {"action": 1.0},
            "obs_modalities": MODALITIES,
        },
        inputs_factory=vae_inputs,
        deterministic_eval=False,  # the posterior is sampled in eval mode too (robomimic)
        skip=VAE_SKIPS,
        kind="network",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "VAE",
        kwargs={
            "input_shapes": {"action": [2]},
            "output_shapes": {"action": [2]},
            "encoder_layer_dims": [8],
            "decoder_layer_dims": [8],
            "latent_dim": 2,
            "prior_learn": True,
            "prior_use_categorical": True,
            "prior_categorical_dim": 3,
            "obs_modalities": MODALITIES,
        },
        inputs_factory=lambda b: {
            "inputs": {"action": torch.rand(b, 2)},
            "outputs": {"action": torch.rand(b, 2)},
        },
        deterministic_eval=False,
        skip=VAE_SKIPS,
        kind="network",
        provider=PROVIDER,
        id="VAE-categorical",
    ),
    ConformanceCase(
        "GaussianPrior",
        kwargs={
            "latent_dim": 3,
            "learnable": True,
            "use_gmm": True,
            "gmm_num_modes": 2,
            "gmm_learn_weights": True,
        },
        inputs_factory=lambda b: {"batch_size": b},
        kind="prior",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "GaussianPrior",
        kwargs={
            "latent_dim": 3,
            "learnable": True,
            "obs_shapes": COND,
            "mlp_layer_dims": [8],
            "obs_modalities": MODALITIES,
        },
        inputs_factory=lambda b: {"batch_size": b, "obs_dict": conditions(b)},
        kind="prior",
        provider=PROVIDER,
        id="GaussianPrior-conditioned",
    ),
    ConformanceCase(
        "CategoricalPrior",
        kwargs={"latent_dim": 2, "categorical_dim": 3, "learnable": True},
        inputs_factory=lambda b: {"batch_size": b},
        kind="prior",
        provider=PROVIDER,
    ),
]


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_vae_conformance(case_and_check: tuple[ConformanceCase, str]) -> None:
    run_check(*case_and_check)
