"""Reading and replaying the robomimic parity fixtures (tests/fixtures/parity, see its README.md).

The one reader of the fixtures: the root ``conftest.py``'s ``parity_case`` fixture (what every
test uses) and ``tests/test_parity.py`` load cases through it. Also runnable to print every
case's per-output errors::

    .venv/bin/python tests/parity_fixtures.py            # all cases
    .venv/bin/python tests/parity_fixtures.py 05_mimo_mlp_obs_goal

Nothing here evaluates fixture text as code: ``how`` expressions run through a small
interpreter over Python's ``ast`` that knows names ``ret``, ``inputs`` and ``torch``, constant
subscripts, attribute access and method calls, and rejects everything else.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import sys
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

__all__ = [
    "PARITY_ENV",
    "CallResult",
    "HowError",
    "OutputResult",
    "ParityCase",
    "compare",
    "evaluate_how",
    "list_cases",
    "load_meta",
    "load_parity_case",
    "parity_dir",
    "replay",
]

PARITY_ENV = "OBSNETS_PARITY_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
FACTORY = "obs_encoder_factory"


def parity_dir() -> Path:
    """Where the parity fixtures are: ``$OBSNETS_PARITY_DIR``, else ``tests/fixtures/parity``.

    The folder is part of the repository; the root ``conftest.py`` fails a test whose case is
    missing (a broken checkout), it never skips it.
    """
    override = os.environ.get(PARITY_ENV)
    return Path(override) if override else REPO_ROOT / "tests" / "fixtures" / "parity"


def list_cases(folder: Path) -> list[str]:
    """Every case folder (one holding ``case.json``), sorted; new folders are picked up.

    An absent ``folder`` has no cases (the tests that need one then fail, naming it).
    """
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "case.json").is_file())


# -- cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityCase:
    """One parity case as robomimic recorded it.

    Attributes:
        folder: the case folder (``case.json``, ``weights.safetensors``, ``io.safetensors``).
        spec: the parsed ``case.json``, mappings as ``OrderedDict`` in file order (the
            fixtures' README: robomimic concatenates features in mapping order).
        weights: ``weights.safetensors`` (empty when the case has no weights); external blobs
            and tied aliases are added by :meth:`state_dict`.
        io: ``io.safetensors``, cloned so tests may change them in place.
    """

    folder: Path
    spec: dict[str, Any]
    weights: dict[str, torch.Tensor]
    io: dict[str, torch.Tensor]

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def network_name(self) -> str:
        """The name ``build_network`` receives: the class, or the factory for factory cases."""
        constructor = self.spec.get("constructor", "class")
        if constructor == "class":
            return str(self.spec["robomimic_class"])
        if constructor == FACTORY:
            return FACTORY
        raise ValueError(f"case {self.name}: unknown constructor {constructor!r}")

    def tolerance(self, call: Mapping[str, Any]) -> tuple[float, float]:
        """``(rtol, atol)`` for a call: its own if given, else the case's."""
        return (
            float(call.get("rtol", self.spec["rtol"])),
            float(call.get("atol", self.spec["atol"])),
        )

    def tensor(self, name: str) -> torch.Tensor:
        """A recorded tensor, copied into freshly allocated memory (see the README)."""
        if name not in self.io:
            raise KeyError(f"case {self.name}: io.safetensors has no tensor {name!r}")
        return self.io[name].clone()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The complete robomimic state_dict: own weights, external blobs, tied aliases.

        Raises:
            AssertionError: a blob's sha256 differs from case.json, or the assembled keys
                differ from ``state_dict_keys`` (a broken fixture, not an obsnets bug).
        """
        weights = dict(self.weights)
        for blob in self.spec.get("external_weights", []):
            path = (self.folder / blob["file"]).resolve()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == blob["sha256"], (
                f"case {self.name}: {blob['file']} has sha256 {digest}, case.json says "
                f"{blob['sha256']}"
            )
            for key, value in load_file(path).items():
                full = blob["prefix"] + key
                assert full not in weights, f"case {self.name}: {full} stored twice"
                weights[full] = value
        for alias, canonical in self.spec.get("tied_keys", {}).items():
            weights[alias] = weights[canonical]
        expected = self.spec["state_dict_keys"]
        assert sorted(weights) == sorted(expected), (
            f"case {self.name}: assembled keys differ from state_dict_keys: "
            f"extra {sorted(set(weights) - set(expected))[:5]}, "
            f"missing {sorted(set(expected) - set(weights))[:5]}"
        )
        return {k: weights[k] for k in expected}

    def deterministic_outputs(self) -> list[str]:
        return [o for c in self.spec["calls"] if c.get("deterministic", True) for o in c["outputs"]]

    def nondeterministic_outputs(self) -> list[str]:
        return [
            o for c in self.spec["calls"] if not c.get("deterministic", True) for o in c["outputs"]
        ]


def load_meta(folder: Path) -> dict[str, Any]:
    """Read one case's ``case.json`` only (mappings keep their file order)."""
    return json.loads((folder / "case.json").read_text(), object_pairs_hook=OrderedDict)


def load_parity_case(name: str) -> ParityCase:
    """Read the parity case ``name`` (a folder of :func:`parity_dir`).

    Tests get it through the ``parity_case`` fixture of the root ``conftest.py``, which fails
    the test, naming the fix, when the case is missing.
    """
    folder = parity_dir() / name
    weights = folder / "weights.safetensors"
    return ParityCase(
        folder=folder,
        spec=load_meta(folder),
        weights=dict(load_file(weights)) if weights.is_file() else {},
        io={key: value.clone() for key, value in load_file(folder / "io.safetensors").items()},
    )


# -- `how` expressions -------------------------------------------------------------------------


class HowError(ValueError):
    """A ``how`` expression uses something the interpreter does not support."""


_NAMES = ("ret", "inputs", "module", "torch")
_CONSTANTS = (int, float, str, bool, type(None))


def evaluate_how(
    expression: str, ret: Any, inputs: Mapping[str, torch.Tensor], module: Any = None
) -> Any:
    """Evaluate a fixture's ``how`` expression on a call's return value, without ``eval``.

    Supported: the names ``ret``, ``inputs``, ``module`` (the built network) and ``torch``;
    subscripts with int / str / slice / tuple constants (``ret[0]['action'][:, 0]``);
    attribute access (not dunder names); calls of attributes with positional and named
    arguments built from the same pieces or constants (``ret.log_prob(inputs['in/actions'])``,
    ``ret.mean()``, ``module.forward(sample=inputs['in/sample'], ...)``).

    Raises:
        HowError: anything else (other names, operators, ``**`` arguments, lambdas, ...).
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise HowError(f"how expression {expression!r} is not valid Python: {exc.msg}") from exc
    names = {"ret": ret, "inputs": inputs, "module": module, "torch": torch}
    return _evaluate(tree.body, names, expression)


def _reject(node: ast.AST, expression: str, why: str) -> HowError:
    return HowError(
        f"how expression {expression!r}: {why} ({ast.unparse(node)!r}); supported are the "
        f"names {', '.join(_NAMES)}, constant subscripts, attribute access and method calls."
    )


def _constant(node: ast.AST) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant) and isinstance(node.value, _CONSTANTS):
        return True, node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        return True, -node.operand.value
    return False, None


def _index(node: ast.AST, expression: str) -> Any:
    ok, value = _constant(node)
    if ok and (value is None or type(value) in (int, str)):
        return value
    if isinstance(node, ast.Slice):
        parts = [
            None if p is None else _index(p, expression)
            for p in (node.lower, node.upper, node.step)
        ]
        if not all(p is None or type(p) is int for p in parts):
            raise _reject(node, expression, "slice bounds must be int constants")
        return slice(*parts)
    if isinstance(node, ast.Tuple):
        return tuple(_index(e, expression) for e in node.elts)
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return Ellipsis
    raise _reject(node, expression, "subscripts must be int, str, slice or tuple constants")


def _evaluate(node: ast.AST, names: dict[str, Any], expression: str) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _reject(node, expression, f"unknown name {node.id!r}")
        return names[node.id]
    ok, value = _constant(node)
    if ok:
        return value
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            raise _reject(node, expression, "dunder attributes are not allowed")
        return getattr(_evaluate(node.value, names, expression), node.attr)
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, names, expression)[_index(node.slice, expression)]
    if isinstance(node, ast.Call):
        if any(k.arg is None for k in node.keywords):
            raise _reject(node, expression, "** arguments are not supported")
        if not isinstance(node.func, ast.Attribute):
            raise _reject(node, expression, "only methods (attribute calls) can be called")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _reject(node, expression, "starred arguments are not supported")
        function = _evaluate(node.func, names, expression)
        return function(
            *(_evaluate(a, names, expression) for a in node.args),
            **{str(k.arg): _evaluate(k.value, names, expression) for k in node.keywords},
        )
    raise _reject(node, expression, f"{type(node).__name__} is not supported")


# -- replaying calls ---------------------------------------------------------------------------


@dataclass
class OutputResult:
    """One recorded output compared with what obsnets computed."""

    name: str
    deterministic: bool
    ok: bool
    max_abs_err: float | None
    detail: str = ""


@dataclass
class CallResult:
    call_id: str
    deterministic: bool
    outputs: list[OutputResult] = field(default_factory=list)


def compare(
    got: Any, want: torch.Tensor, rtol: float, atol: float
) -> tuple[bool, float | None, str]:
    """Compare with the ``torch.allclose`` rule ``|got - want| <= atol + rtol * |want|``.

    Returns:
        ``(ok, max abs error or None when shapes differ, detail)``.
    """
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            return False, None, f"got a {type(got).__name__}, not a tensor"
    got = got.detach().to(device="cpu", dtype=torch.float64)
    want64 = want.to(torch.float64)
    if tuple(got.shape) != tuple(want.shape):
        return False, None, f"shape {tuple(got.shape)} != recorded {tuple(want.shape)}"
    if got.numel() == 0:
        return True, 0.0, ""
    diff = (got - want64).abs()
    max_err = float(diff.max())
    if torch.isnan(diff).any():
        return False, float("nan"), "NaN where the recording has a number (or vice versa)"
    violation = diff - (atol + rtol * want64.abs())
    ok = bool((violation <= 0).all())
    detail = "" if ok else f"exceeds atol={atol:g} + rtol={rtol:g}*|want|"
    return ok, max_err, detail


def _decode_args(value: Any, case: ParityCase) -> Any:
    if isinstance(value, str) and value.startswith(("in/", "out/")):
        return case.tensor(value)
    if isinstance(value, Mapping):
        return {k: _decode_args(v, case) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode_args(v, case) for v in value)
    return value


def _method(network: torch.nn.Module, path: str) -> Any:
    target: Any = network
    for part in path.split("."):
        target = getattr(target, part)
    return target


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def replay(case: ParityCase, network: torch.nn.Module) -> list[CallResult]:
    """Run every recorded call in order and compare each output with the recording.

    Calls run in file order (a train-mode call could change module state for later ones);
    non-deterministic calls are seeded as the README says. An exception in a call or a
    ``how`` expression is recorded as a failed output, not raised.
    """
    inputs = {k: case.tensor(k) for k in case.io if k.startswith("in/")}
    results = []
    for call in case.spec["calls"]:
        deterministic = bool(call.get("deterministic", True))
        result = CallResult(call["id"], deterministic)
        results.append(result)
        rtol, atol = case.tolerance(call)
        try:
            network.train(call.get("mode", case.spec.get("mode", "eval")) == "train")
            if not deterministic:
                _seed(int(call["seed"]))
            with torch.no_grad():
                ret = _method(network, call["method"])(**_decode_args(call["args"], case))
        except Exception as exc:  # report per output, keep replaying the others
            for name in call["outputs"]:
                result.outputs.append(
                    OutputResult(
                        name, deterministic, False, None, f"call raised {type(exc).__name__}: {exc}"
                    )
                )
            continue
        for name in call["outputs"]:
            try:
                got = evaluate_how(call["how"][name], ret, inputs, network)
                ok, err, detail = compare(got, case.io[name], rtol, atol)
            except HowError:
                raise
            except Exception as exc:
                ok, err, detail = False, None, f"how raised {type(exc).__name__}: {exc}"
            result.outputs.append(OutputResult(name, deterministic, ok, err, detail))
    return results


def format_results(results: list[CallResult]) -> str:
    """A readable table: one line per output with its status and max abs error."""
    lines = []
    for call in results:
        for out in call.outputs:
            status = "ok" if out.ok else "FAIL"
            if not out.deterministic:
                status = "ok (sampled)" if out.ok else "differs (sampled, optional)"
            err = "-" if out.max_abs_err is None else f"{out.max_abs_err:.3g}"
            lines.append(f"  {out.name:<48} {status:<28} max_abs_err={err} {out.detail}")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:  # pragma: no cover - a developer tool
    import warnings

    from obsnets.errors import UnknownComponentError
    from obsnets_robomimic import apply_post_init_calls, build_network, load_robomimic_state_dict

    cases = argv or list_cases(parity_dir())
    if not cases:
        print(f"no parity fixtures at {parity_dir()} (set {PARITY_ENV})")
        return 2
    torch.set_num_threads(1)
    failed = False
    for name in cases:
        case = load_parity_case(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = build_network(
                    case.network_name, case.spec["kwargs"], case.spec["obs_modalities"]
                )
                apply_post_init_calls(
                    net, case.spec.get("post_init_calls", []), case.spec["obs_modalities"]
                )
        except UnknownComponentError as exc:
            print(f"{name}: not yet implemented ({str(exc).splitlines()[0]})")
            continue
        load_robomimic_state_dict(net, case.state_dict())
        results = replay(case, net)
        bad = any(not o.ok for c in results for o in c.outputs if o.deterministic)
        failed |= bad
        print(f"{name}: {'FAIL' if bad else 'pass'}\n{format_results(results)}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
