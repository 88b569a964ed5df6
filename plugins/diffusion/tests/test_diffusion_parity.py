"""ConditionalUnet1D reproduces robomimic's numbers (parity case 23, robomimic 0.5.0).

The repository's tests/test_parity.py replays the case through obsnets-robomimic; here the
network is built directly, so the plugin's own suite checks its numbers too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from obsnets_diffusion import ConditionalUnet1D

CASE = Path(__file__).resolve().parents[3].parent / "shared" / "parity" / "23_conditional_unet1d"
pytestmark = pytest.mark.skipif(not CASE.is_dir(), reason="parity fixtures not available")


@pytest.fixture
def case() -> tuple[dict, ConditionalUnet1D, dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    spec = json.loads((CASE / "case.json").read_text())
    network = ConditionalUnet1D(**spec["kwargs"])
    assert list(network.state_dict()) == spec["state_dict_keys"]
    network.load_state_dict(load_file(str(CASE / "weights.safetensors")), strict=True)
    io = {k: v.clone() for k, v in load_file(str(CASE / "io.safetensors")).items()}
    return spec, network.eval(), io


@pytest.mark.parametrize(
    "output, timestep",
    [
        ("forward/noise_pred", lambda io: io["in/timestep"]),
        ("forward/noise_pred_long_timestep", lambda io: io["in/timestep"].long()),
        ("forward_scalar_timestep/noise_pred", lambda io: io["in/timestep_scalar"]),
        ("forward_int_timestep/noise_pred", lambda io: 42),
    ],
)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_noise_prediction_matches_robomimic(case, output, timestep, mode) -> None:
    spec, network, io = case
    network.train(mode == "train")  # GroupNorm only: train mode computes the same
    with torch.no_grad():
        got = network(io["in/sample"], timestep(io), global_cond=io["in/global_cond"])
    torch.testing.assert_close(got, io[f"out/{output}"], rtol=spec["rtol"], atol=spec["atol"])


def test_step_embedding_matches_robomimic(case) -> None:
    spec, network, io = case
    with torch.no_grad():
        got = network.diffusion_step_encoder(io["in/timestep"])
    want = io["out/step_embedding/embedding"]
    torch.testing.assert_close(got, want, rtol=spec["rtol"], atol=spec["atol"])
