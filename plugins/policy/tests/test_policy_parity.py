"""Numerical parity of the policy networks with robomimic's, on the shared parity fixtures.

Each case is rebuilt from its ``case.json`` through the registry, loaded with robomimic's
weights (``strict=True``), and every recorded call is replayed; each ``how`` expression is
evaluated by a tiny interpreter over Python's syntax tree (names, attributes, constant
subscripts and calls only; nothing is ``eval``-ed).
"""

from __future__ import annotations

import ast
import json
import os
import random
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from obsnets.building import build_component

CASES = [
    "07_actor_network",
    "08_perturbation_actor_network",
    "09_gaussian_actor_network",
    "10_gmm_actor_network",
    "11_rnn_actor_network",
    "12_rnn_gmm_actor_network",
    "13_vae_actor",
    "19_rnn_gmm_image_policy",
]

# the only class references a case may name (decoded by lookup, never evaluated)
CLASS_ALLOWLIST: dict[str, type[nn.Module]] = {
    "torch.nn.ReLU": nn.ReLU,
    "torch.nn.Tanh": nn.Tanh,
    "torch.nn.ELU": nn.ELU,
    "torch.nn.LeakyReLU": nn.LeakyReLU,
    "torch.nn.GELU": nn.GELU,
    "torch.nn.Linear": nn.Linear,
}


def _parity_dir() -> Path | None:
    env = os.environ.get("OBSNETS_PARITY_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        for candidate in (parent / "shared" / "parity", parent.parent / "shared" / "parity"):
            if (candidate / "index.json").is_file():
                return candidate
    return None


PARITY = _parity_dir()


# -- case decoding -----------------------------------------------------------------------------


def _walk(tree: Any, ref: str | list[Any]) -> tuple[Any, Any]:
    """The container holding a class reference and the key/index inside it."""
    parts = ref if isinstance(ref, list) else str(ref).split(".")
    container = tree
    for part in parts[:-1]:
        container = container[int(part) if isinstance(container, list) else part]
    last = parts[-1]
    return container, int(last) if isinstance(container, list) else last


def decode_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    """The constructor kwargs with class references looked up in the allowlist."""
    kwargs = case["kwargs"]
    for ref in case.get("class_refs", []):
        container, key = _walk(kwargs, ref)
        name = container[key]
        if name not in CLASS_ALLOWLIST:
            raise ValueError(f"class reference {name!r} is not in the test's allowlist")
        container[key] = CLASS_ALLOWLIST[name]
    return kwargs


def assemble_state_dict(case_dir: Path, case: dict[str, Any]) -> dict[str, torch.Tensor]:
    """weights.safetensors + external blobs (float8 kernels -> float32) + tied aliases."""
    state = dict(load_file(str(case_dir / "weights.safetensors")))
    for blob in case.get("external_weights", []):
        for key, tensor in load_file(str(case_dir / blob["file"])).items():
            if tensor.dtype == torch.float8_e4m3fn:
                tensor = tensor.float()
            state[blob["prefix"] + key] = tensor
    for alias, canonical in case.get("tied_keys", {}).items():
        state[alias] = state[canonical]
    return state


def decode_arg(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """``"in/..."``/``"out/..."`` -> tensor, object -> dict, array -> tuple, else literal."""
    if isinstance(value, str) and value.startswith(("in/", "out/")):
        return tensors[value]
    if isinstance(value, dict):
        return {k: decode_arg(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode_arg(v, tensors) for v in value)
    return value


def resolve_method(module: nn.Module, path: str) -> Any:
    target: Any = module
    for part in path.split("."):
        target = getattr(target, part)
    return target


# -- a safe evaluator for the recorded ``how`` expressions -------------------------------------


def evaluate_how(expression: str, ret: Any, inputs: dict[str, torch.Tensor]) -> Any:
    """Evaluate e.g. ``ret[0].log_prob(inputs['in/actions'])`` without ``eval``.

    Allowed: the names ``ret`` and ``inputs``, constants, attribute access (no leading
    underscore), subscripts with a constant index, and calls with positional arguments.
    """
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


# -- running a case ----------------------------------------------------------------------------


def load_case(name: str) -> tuple[Path, dict[str, Any]]:
    if PARITY is None:
        pytest.skip("parity fixtures not found (set OBSNETS_PARITY_DIR)")
    case_dir = PARITY / name
    case = json.loads((case_dir / "case.json").read_text(), object_pairs_hook=OrderedDict)
    return case_dir, case


def build_case(case_dir: Path, case: dict[str, Any]) -> nn.Module:
    kwargs = dict(decode_kwargs(case))
    kwargs["obs_modalities"] = case["obs_modalities"]
    module = build_component(case["robomimic_class"], kwargs, kind="network")
    module.load_state_dict(assemble_state_dict(case_dir, case), strict=True)
    return module


def run_case(name: str) -> list[tuple[str, float, bool]]:
    """Replay every call of a case; return (output, max-abs error, within tolerance)."""
    case_dir, case = load_case(name)
    module = build_case(case_dir, case)
    # fresh, contiguous copies: the recorded numbers were computed on freshly allocated memory
    tensors = {k: v.clone() for k, v in load_file(str(case_dir / "io.safetensors")).items()}
    inputs = {k: v for k, v in tensors.items() if k.startswith("in/")}
    results = []
    for call in case["calls"]:
        module.train(call["mode"] == "train")
        if not call.get("deterministic", True):
            torch.manual_seed(call["seed"])
            np.random.seed(call["seed"])
            random.seed(call["seed"])
        method = resolve_method(module, call["method"])
        with torch.no_grad():
            ret = method(**decode_arg(call["args"], tensors))
            got = {out: evaluate_how(how, ret, inputs) for out, how in call["how"].items()}
        rtol = call.get("rtol", case["rtol"])
        atol = call.get("atol", case["atol"])
        for out, value in got.items():
            want = tensors[out]
            value = torch.as_tensor(value, dtype=want.dtype)
            assert value.shape == want.shape, (
                f"{out}: shape {tuple(value.shape)} != {tuple(want.shape)}"
            )
            err = float((value - want).abs().max()) if want.numel() else 0.0
            ok = bool(torch.allclose(value, want, rtol=rtol, atol=atol))
            results.append((out, err, ok))
    return results


@pytest.mark.parametrize("name", CASES)
def test_state_dict_keys_match_robomimic(name: str) -> None:
    _, case = load_case(name)
    kwargs = dict(decode_kwargs(case))
    kwargs["obs_modalities"] = case["obs_modalities"]
    module = build_component(case["robomimic_class"], kwargs, kind="network")
    assert list(module.state_dict()) == case["state_dict_keys"]


@pytest.mark.parametrize("name", CASES)
def test_recorded_outputs_are_reproduced(name: str) -> None:
    results = run_case(name)
    assert results, "the case recorded no outputs"
    failures = [f"{out}: max-abs error {err:.3g}" for out, err, ok in results if not ok]
    assert not failures, "; ".join(failures)


def test_how_interpreter_rejects_anything_else() -> None:
    for expression in ("__import__('os')", "ret.__class__", "ret + 1", "inputs[ret]"):
        with pytest.raises(ValueError, match="unsupported construct"):
            evaluate_how(expression, torch.zeros(1), {})


if __name__ == "__main__":  # prints the max-abs error of every output
    for case_name in CASES:
        for output, error, within in run_case(case_name):
            print(f"{case_name:32s} {output:45s} {error:.3e} {'ok' if within else 'FAIL'}")
