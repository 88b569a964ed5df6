"""ConditionalUnet1D reproduces robomimic's numbers (parity case 23, robomimic 0.5.0).

The repository's tests/test_parity.py replays the case through obsnets-robomimic; here the
network is built directly, so the plugin's own suite checks its numbers too.
"""

from __future__ import annotations

import pytest
import torch

from obsnets_diffusion import ConditionalUnet1D


@pytest.fixture
def case(parity_case) -> tuple[dict, ConditionalUnet1D, dict[str, torch.Tensor]]:
    recorded = parity_case("23_conditional_unet1d")
    network = ConditionalUnet1D(**recorded.spec["kwargs"])
    assert list(network.state_dict()) == recorded.spec["state_dict_keys"]
    network.load_state_dict(recorded.weights, strict=True)
    return recorded.spec, network.eval(), recorded.io


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
