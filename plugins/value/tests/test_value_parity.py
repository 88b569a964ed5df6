"""Numerical parity of the value networks with robomimic's (parity fixtures 14, 15, 16).

Each case is built from its ``case.json`` through the registry (``obs_modalities`` from the
case), loaded with robomimic's weights (``strict=True``) and its recorded calls replayed; each
``how`` expression is evaluated by a tiny interpreter over Python's syntax tree (names,
attributes, constant subscripts and calls only; nothing is ``eval``-ed).
"""

from __future__ import annotations

import ast
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from obsnets.building import build_component

CASES = [
    "14_value_network",
    "15_action_value_network",
    "16_distributional_action_value_network",
]

# the only class references a case may name (looked up, never evaluated)
CLASS_ALLOWLIST: dict[str, type[nn.Module]] = {
    "torch.nn.ReLU": nn.ReLU,
    "torch.nn.Tanh": nn.Tanh,
    "torch.nn.ELU": nn.ELU,
    "torch.nn.Linear": nn.Linear,
}


def _parity_dir() -> Path | None:
    env = os.environ.get("OBSNETS_PARITY_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "parity"
        if (candidate / "index.json").is_file():
            return candidate
    return None


PARITY = _parity_dir()


def load_case(name: str) -> tuple[Path, dict[str, Any]]:
    if PARITY is None:
        pytest.skip("parity fixtures not found (set OBSNETS_PARITY_DIR)")
    case_dir = PARITY / name
    case = json.loads((case_dir / "case.json").read_text(), object_pairs_hook=OrderedDict)
    return case_dir, case


def decode_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    """Constructor kwargs, with the class references of ``class_refs`` looked up."""
    kwargs = case["kwargs"]
    for ref in case.get("class_refs", []):
        parts = ref if isinstance(ref, list) else str(ref).split(".")
        container = kwargs
        for part in parts[:-1]:
            container = container[int(part) if isinstance(container, list) else part]
        key = int(parts[-1]) if isinstance(container, list) else parts[-1]
        if container[key] not in CLASS_ALLOWLIST:
            raise ValueError(f"class reference {container[key]!r} is not allowlisted")
        container[key] = CLASS_ALLOWLIST[container[key]]
    return dict(kwargs)


def state_dict_of(case_dir: Path, case: dict[str, Any]) -> dict[str, torch.Tensor]:
    state = dict(load_file(str(case_dir / "weights.safetensors")))
    for alias, canonical in case.get("tied_keys", {}).items():
        state[alias] = state[canonical]
    return state


def decode_arg(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, str) and value.startswith(("in/", "out/")):
        return tensors[value]
    if isinstance(value, dict):
        return {k: decode_arg(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode_arg(v, tensors) for v in value)
    return value


def evaluate_how(expression: str, ret: Any, inputs: dict[str, torch.Tensor]) -> Any:
    """Evaluate ``ret``, ``ret['x']``, ``ret.probs``, ``ret.mean()`` ... without ``eval``."""
    names = {"ret": ret, "inputs": inputs}

    def visit(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Attribute) and not node.attr.startswith("_"):
            return getattr(visit(node.value), node.attr)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            return visit(node.value)[node.slice.value]
        if isinstance(node, ast.Call) and not node.keywords:
            return visit(node.func)(*[visit(a) for a in node.args])
        raise ValueError(f"unsupported construct {ast.dump(node)} in {expression!r}")

    return visit(ast.parse(expression, mode="eval"))


def build_case(case_dir: Path, case: dict[str, Any]) -> nn.Module:
    kwargs = decode_kwargs(case)
    kwargs["obs_modalities"] = case["obs_modalities"]
    module = build_component(case["robomimic_class"], kwargs, kind="network")
    module.load_state_dict(state_dict_of(case_dir, case), strict=True)
    return module


def replay(name: str) -> list[tuple[str, torch.Tensor, torch.Tensor, float, float]]:
    """Replay a case's deterministic calls: (output name, got, want, rtol, atol) each."""
    case_dir, case = load_case(name)
    module = build_case(case_dir, case)
    tensors = {k: v.clone() for k, v in load_file(str(case_dir / "io.safetensors")).items()}
    inputs = {k: v for k, v in tensors.items() if k.startswith("in/")}
    results = []
    for call in case["calls"]:
        if not call.get("deterministic", True):
            continue
        module.train(call["mode"] == "train")
        method: Any = module
        for part in call["method"].split("."):
            method = getattr(method, part)
        with torch.no_grad():
            ret = method(**decode_arg(call["args"], tensors))
            for out, how in call["how"].items():
                got = torch.as_tensor(evaluate_how(how, ret, inputs))
                results.append(
                    (
                        out,
                        got,
                        tensors[out],
                        call.get("rtol", case["rtol"]),
                        call.get("atol", case["atol"]),
                    )
                )
    return results


@pytest.mark.parametrize("name", CASES)
def test_state_dict_keys_are_robomimic_keys(name: str) -> None:
    _, case = load_case(name)
    kwargs = decode_kwargs(case)
    kwargs["obs_modalities"] = case["obs_modalities"]
    module = build_component(case["robomimic_class"], kwargs, kind="network")
    assert list(module.state_dict()) == case["state_dict_keys"]


@pytest.mark.parametrize("name", CASES)
def test_outputs_match_robomimic(name: str) -> None:
    results = replay(name)
    _, case = load_case(name)
    assert {r[0] for r in results} == {o for c in case["calls"] for o in c["outputs"]}
    for out, got, want, rtol, atol in results:
        assert got.shape == want.shape, f"{out}: {tuple(got.shape)} != {tuple(want.shape)}"
        torch.testing.assert_close(got, want, rtol=rtol, atol=atol, msg=out)


def test_value_bounds_are_respected_by_the_recorded_outputs() -> None:
    # case 14 squashes into (-2, 3): the recorded and reproduced values must lie inside
    ((_, got, want, _, _),) = replay("14_value_network")
    assert bool(((got > -2.0) & (got < 3.0)).all())
    assert not torch.equal(want, torch.zeros_like(want))
