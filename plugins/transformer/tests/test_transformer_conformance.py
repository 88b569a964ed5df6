"""Every transformer network keeps the obsnets component contract (obsnets.testing)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.testing import ConformanceCase, conformance_params, run_check

OBS = {"eef": [3], "obj": [5]}
GOAL = {"obj": [5]}
A = 3
T = 3
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
COMMON: dict[str, Any] = {"encoder_kwargs": LOW_DIM, "obs_modalities": {"low_dim": ["eef", "obj"]}}
GPT: dict[str, Any] = {
    "transformer_embed_dim": 8,
    "transformer_num_layers": 2,
    "transformer_num_heads": 2,
    "transformer_context_length": 4,  # > T: shorter sequences than the context
}
ACTOR: dict[str, Any] = {"obs_shapes": OBS, "ac_dim": A, **GPT, **COMMON}
PROVIDER = "obsnets-transformer"


def obs(batch: int, shapes: dict[str, list[int]] = OBS) -> dict[str, torch.Tensor]:
    return {k: torch.randn(batch, T, *s) for k, s in shapes.items()}


def nll(module: Any, inputs: dict[str, Any]) -> torch.Tensor:
    """Negative log-likelihood of fixed actions ``(B, T, A)`` under the policy's mixture."""
    dist = module.forward_train(inputs["obs_dict"])
    batch = next(iter(inputs["obs_dict"].values())).shape[0]
    return -dist.log_prob(torch.rand(batch, T, A) * 1.8 - 0.9).mean()


CONFORMANCE_CASES = [
    ConformanceCase(
        "MIMO_Transformer",
        kwargs={
            "input_obs_group_shapes": {"obs": OBS, "goal": GOAL},
            "output_shapes": {"action": [A], "grid": [2, 2]},
            **GPT,
            "transformer_activation": "geglu",
            **COMMON,
        },
        inputs_factory=lambda b: {"obs": obs(b), "goal": obs(b, GOAL)},
        kind="network",
        provider=PROVIDER,
        sequence_length=T,
    ),
    ConformanceCase(
        "TransformerActorNetwork",
        kwargs={**ACTOR, "transformer_nn_parameter_for_timesteps": True, "goal_shapes": GOAL},
        inputs_factory=lambda b: {"obs_dict": obs(b), "goal_dict": obs(b, GOAL)},
        kind="network",
        provider=PROVIDER,
        output_shape_input={k: [T, *s] for k, s in OBS.items()},
    ),
    ConformanceCase(
        "TransformerActorNetwork",
        kwargs={
            **ACTOR,
            "transformer_sinusoidal_embedding": True,
            "transformer_activation": "relu",
        },
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        output_shape_input={k: [T, *s] for k, s in OBS.items()},
        id="TransformerActorNetwork-sinusoidal",
    ),
    ConformanceCase(
        "TransformerGMMActorNetwork",
        kwargs={**ACTOR, "num_modes": 3, "use_tanh": True},
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        output_shape_input={k: [T, *s] for k, s in OBS.items()},
        deterministic_eval=False,
        loss=nll,
    ),
]


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_transformer_conformance(case_and_check: tuple[ConformanceCase, str]) -> None:
    run_check(*case_and_check)
