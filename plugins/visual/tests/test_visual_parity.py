"""VisualCore reproduces robomimic's numbers (parity fixture 01, recorded by robomimic 0.5.0)."""

from __future__ import annotations

import pytest
import torch

from obsnets_visual import VisualCore


@pytest.fixture(scope="module")
def case(parity_case) -> tuple[dict, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    recorded = parity_case("01_visualcore_resnet18_spatialsoftmax")
    spec, state = recorded.spec, recorded.weights
    for external in spec["external_weights"]:
        for key, tensor in load_file(str(recorded.folder / external["file"])).items():
            # Conv kernels are stored as float8_e4m3fn; the recorded outputs used them as float32.
            value = tensor.float() if tensor.dtype.is_floating_point else tensor
            state[external["prefix"] + key] = value
    for alias, canonical in spec["tied_keys"].items():
        state[alias] = state[canonical]
    return spec, state, recorded.io


def test_state_dict_keys_equal_robomimic(case):
    spec, state, _ = case
    core = VisualCore(**spec["kwargs"])
    assert list(core.state_dict()) == spec["state_dict_keys"]
    assert set(state) == set(spec["state_dict_keys"])
    # Buffers computed at construction already equal robomimic's (before loading anything).
    assert torch.equal(core.pool.pos_x, state["pool.pos_x"])
    assert torch.equal(core.pool.pos_y, state["pool.pos_y"])
    assert torch.equal(core.pool.temperature, state["pool.temperature"])


def test_visual_core_matches_robomimic_outputs(case):
    spec, state, io = case
    core = VisualCore(**spec["kwargs"])
    core.load_state_dict(state, strict=True)
    core.eval()
    rtol, atol = spec["rtol"], spec["atol"]
    with torch.no_grad():
        got = {
            "out/forward/features": core(io["in/x"]),
            "out/backbone/feature_map": core.backbone(io["in/x"]),
            "out/pool/keypoints": core.pool(io["out/backbone/feature_map"]),
        }
    for name, value in got.items():
        want = io[name]
        assert value.shape == want.shape, name
        torch.testing.assert_close(value, want, rtol=rtol, atol=atol, msg=name)
    # The aliases are one module: a robomimic checkpoint loads once, both names see it.
    assert core.nets[0] is core.backbone and core.nets[1] is core.pool


def test_channels_last_variant_matches_robomimic(case):
    spec, state, io = case
    core = VisualCore(**spec["kwargs"], channels_last=True)
    core.load_state_dict(state, strict=True)
    core.eval()
    with torch.no_grad():
        out = core(io["in/x"])
    torch.testing.assert_close(
        out, io["out/forward/features"], rtol=spec["rtol"], atol=spec["atol"]
    )
