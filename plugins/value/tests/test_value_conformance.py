"""Every value network keeps the obsnets component contract (obsnets.testing)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.testing import ConformanceCase, conformance_params, run_check

OBS = {"eef": [3], "obj": [5]}
GOAL = {"goal_obj": [5]}
MODALITIES = {"low_dim": ["eef", "obj", "goal_obj"]}
PROVIDER = "obsnets-value"
Q: dict[str, Any] = {"obs_shapes": OBS, "ac_dim": 2, "mlp_layer_dims": [8],
                     "obs_modalities": MODALITIES}  # fmt: skip


def obs(batch: int, shapes: dict[str, list[int]] = OBS) -> dict[str, torch.Tensor]:
    return {k: torch.randn(batch, *s) for k, s in shapes.items()}


def q_inputs(batch: int) -> dict[str, Any]:
    return {"obs_dict": obs(batch), "acts": torch.rand(batch, 2) * 2 - 1}


CONFORMANCE_CASES = [
    ConformanceCase(
        "ValueNetwork",
        kwargs={
            "obs_shapes": OBS,
            "mlp_layer_dims": [8],
            "value_bounds": [-2.0, 3.0],
            "goal_shapes": GOAL,
            "obs_modalities": MODALITIES,
        },
        inputs_factory=lambda b: {"obs_dict": obs(b), "goal_dict": obs(b, GOAL)},
        kind="network",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "ActionValueNetwork",
        kwargs=Q,
        inputs_factory=q_inputs,
        kind="network",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "DistributionalActionValueNetwork",
        kwargs={**Q, "value_bounds": [-1.0, 1.0], "num_atoms": 7},
        inputs_factory=q_inputs,
        kind="network",
        provider=PROVIDER,
    ),
]


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_value_conformance(case_and_check: tuple[ConformanceCase, str]) -> None:
    run_check(*case_and_check)
