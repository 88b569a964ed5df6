"""ScanCore reproduces robomimic's numbers (parity fixture 02, recorded by robomimic 0.5.0)."""

from __future__ import annotations

import pytest
import torch

from obsnets_scan import ScanCore


@pytest.fixture(scope="module")
def case(parity_case):
    recorded = parity_case("02_scancore_conv1d_spatialsoftmax")
    state = recorded.weights
    for alias, canonical in recorded.spec["tied_keys"].items():
        state[alias] = state[canonical]
    return recorded.spec, state, recorded.io


def test_state_dict_keys_equal_robomimic(case):
    spec, state, _ = case
    core = ScanCore(**spec["kwargs"])
    assert list(core.state_dict()) == spec["state_dict_keys"]
    assert set(state) == set(spec["state_dict_keys"])
    # SpatialSoftmax's buffers for the (64, 12, 1) map already equal robomimic's.
    assert torch.equal(core.pool.pos_x, state["pool.pos_x"])
    assert torch.equal(core.pool.pos_y, state["pool.pos_y"])


def test_scan_core_matches_robomimic_outputs(case):
    spec, state, io = case
    core = ScanCore(**spec["kwargs"])
    core.load_state_dict(state, strict=True)
    core.eval()
    with torch.no_grad():
        got = {
            "out/forward/features": core(io["in/x"]),
            "out/backbone/feature_map": core.backbone(io["in/x"]),
        }
    for name, value in got.items():
        want = io[name]
        assert value.shape == want.shape, name
        torch.testing.assert_close(value, want, rtol=spec["rtol"], atol=spec["atol"], msg=name)
    assert core.output_shape() == list(io["out/forward/features"].shape[1:])
    assert core.backbone.output_shape([1, 120]) == list(io["out/backbone/feature_map"].shape[1:])
    # The aliases are one module each: loading once sets both names.
    assert core.nets[0] is core.backbone and core.nets[2] is core.pool
