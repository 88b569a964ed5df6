"""Numeric spot-checks of the core wrappers against robomimic's fixtures 04, 05 and 06.

Built directly from each case's robomimic kwargs (``torch.nn`` class strings decoded through a
small allowlist), loaded strictly with robomimic's weights (tied aliases included) and
replayed call by call. The project-wide harness (tests/test_parity.py) covers every case
through obsnets-robomimic; these tests pin the core classes themselves.
"""

from __future__ import annotations

import ast
import json
import os
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from obsnets.encoders import obs_encoder_factory
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP

PARITY = Path(
    os.environ.get("OBSNETS_PARITY_DIR", Path(__file__).resolve().parents[2] / "shared" / "parity")
)
TORCH_CLASSES = {"torch.nn.ReLU": nn.ReLU, "torch.nn.Linear": nn.Linear}
BUILDERS = {
    "04_obs_encoder_rgb_lowdim": obs_encoder_factory,
    "05_mimo_mlp_obs_goal": MIMO_MLP,
    "06_rnn_mimo_mlp_lstm": RNN_MIMO_MLP,
}


def _decode_classes(value):
    if isinstance(value, str) and value.startswith("torch.nn."):
        return TORCH_CLASSES[value]  # KeyError: a class this spot-check does not know
    if isinstance(value, dict):
        return OrderedDict((k, _decode_classes(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_decode_classes(v) for v in value]
    return value


def _load(name):
    folder = PARITY / name
    if not (folder / "case.json").is_file():
        pytest.skip(f"parity fixtures not found at {PARITY} (set OBSNETS_PARITY_DIR)")
    case = json.loads((folder / "case.json").read_text(), object_pairs_hook=OrderedDict)
    weights = dict(load_file(folder / "weights.safetensors"))
    for blob in case["external_weights"]:
        for key, value in load_file(folder / blob["file"]).items():
            weights[blob["prefix"] + key] = value
    for alias, canonical in case["tied_keys"].items():
        weights[alias] = weights[canonical]
    return case, weights, load_file(folder / "io.safetensors")


def _decode_args(value, io, recorded):
    if isinstance(value, str) and value.startswith("in/"):
        return io[value].clone()
    if isinstance(value, str) and value.startswith("out/"):
        return recorded[value]
    if isinstance(value, dict):
        return {k: _decode_args(v, io, recorded) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode_args(v, io, recorded) for v in value)
    return value


def _how(expression, ret):
    """Evaluate ``ret``, ``ret[...]`` chains with constant keys, ints and slices."""

    def index(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Slice):
            return slice(
                *(None if n is None else index(n) for n in (node.lower, node.upper, node.step))
            )
        if isinstance(node, ast.Tuple):
            return tuple(index(e) for e in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -index(node.operand)
        raise ValueError(f"unsupported index in how expression {expression!r}")

    def value(node):
        if isinstance(node, ast.Name) and node.id == "ret":
            return ret
        if isinstance(node, ast.Subscript):
            return value(node.value)[index(node.slice)]
        raise ValueError(f"unsupported how expression {expression!r}")

    return value(ast.parse(expression, mode="eval").body)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_core_wrapper_reproduces_robomimic(name, one_thread):
    if name.startswith("04"):
        pytest.importorskip("obsnets_visual")
        pytest.importorskip("obsnets_randomizers")
    case, weights, io = _load(name)
    kwargs = _decode_classes(case["kwargs"])
    net = BUILDERS[name](**kwargs, obs_modalities=case["obs_modalities"])
    assert list(net.state_dict()) == case["state_dict_keys"]
    net.load_state_dict(weights, strict=True)
    recorded = {}
    worst = 0.0
    for call in case["calls"]:
        if not call.get("deterministic", True):
            continue
        net.train(call["mode"] == "train")
        method = net
        for part in call["method"].split("."):
            method = getattr(method, part)
        with torch.no_grad():
            ret = method(**_decode_args(call["args"], io, recorded))
        rtol, atol = call.get("rtol", case["rtol"]), call.get("atol", case["atol"])
        for out_name, expression in call["how"].items():
            got, want = _how(expression, ret), io[out_name]
            recorded[out_name] = got
            torch.testing.assert_close(got, want, rtol=rtol, atol=atol, msg=out_name)
            worst = max(worst, (got - want).abs().max().item())
    assert worst <= case["atol"] * 10  # sanity: the recorded numbers, not loose agreement


def test_working_forward_step_reproduces_robomimics_single_step_unroll(one_thread):
    case, weights, io = _load("06_rnn_mimo_mlp_lstm")
    net = RNN_MIMO_MLP(**_decode_classes(case["kwargs"]), obs_modalities=case["obs_modalities"])
    net.load_state_dict(weights, strict=True)
    net.eval()
    step = {k: io[f"in/step/obs/{k}"][:, 0].clone() for k in ("robot0_eef_pos", "robot0_joint_pos")}
    with torch.no_grad():
        out, (h, c) = net.forward_step((io["in/rnn_state/h"], io["in/rnn_state/c"]), obs=step)
    torch.testing.assert_close(out["action"], io["out/forward_step/action"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, io["out/forward_step/h"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, io["out/forward_step/c"], rtol=1e-5, atol=1e-6)
