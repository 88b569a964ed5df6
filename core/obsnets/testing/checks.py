"""The conformance checks: one function per entry of :data:`obsnets.testing.CHECKS`."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any

import torch

from obsnets.building import build_component
from obsnets.errors import InvalidKwargsError
from obsnets.registry import KINDS
from obsnets.testing.case import CHECKS, ConformanceSkip
from obsnets.testing.shapes import check_output_shapes, match_declared
from obsnets.testing.subject import Call, Subject, fail
from obsnets.testing.tree import describe, first_difference, tensor_leaves

__all__ = ["CHECK_FUNCTIONS"]

UNKNOWN_ARGUMENT = "conformance_unknown_argument"
EXACT = {"atol": 1e-6, "rtol": 1e-5}  # same computation, same device: equal up to rounding


# -- the checks ------------------------------------------------------------------------------


def _registration(s: Subject) -> None:
    case, cls = s.case, s.cls
    if not s.entries:
        raise fail(case, s.check, f"class {cls.__module__}:{cls.__qualname__} is not registered.")
    kinds = sorted({e.kind for e in s.entries})
    if len(kinds) > 1:
        raise fail(
            case,
            s.check,
            f"registered under several kinds {kinds}: the plugin declares one "
            f"kind but the class derives from the base of another.",
        )
    entry = s.entries[0]
    if entry.kind not in KINDS:
        raise fail(case, s.check, f"registered under unknown kind {entry.kind!r}.")
    if case.kind is not None and entry.kind != case.kind:
        raise fail(case, s.check, f"registered as a {entry.kind}, expected a {case.kind}.")
    declared = getattr(cls, "component_kind", None)
    if declared is not None and declared != entry.kind:
        raise fail(
            case,
            s.check,
            f"registered as a {entry.kind}, but its base class makes it a "
            f"{declared}: derive it from the base of the kind it is declared as.",
        )
    plain = isinstance(case.component, str) and ":" not in case.component
    if plain and entry.name != case.component:
        raise fail(case, s.check, f"registered as {entry.name!r}, not {case.component!r}.")
    if case.provider is not None and entry.provider != case.provider:
        raise fail(
            case,
            s.check,
            f"provided by {entry.provider_label}, expected distribution "
            f"{case.provider}: does its pyproject.toml declare the plugin under "
            f"[project.entry-points.obsnets], and is it installed?",
        )
    if not callable(getattr(cls, "output_shape", None)):
        raise fail(case, s.check, "the class has no output_shape method.")


def _strict_kwargs(s: Subject) -> None:
    case = s.case
    kwargs = copy.deepcopy(dict(case.kwargs))
    snapshot = copy.deepcopy(kwargs)
    module = s.build(kwargs=kwargs, copy_kwargs=False, remember=True)
    if not isinstance(module, s.cls):
        raise fail(case, s.check, f"building by name gave a {type(module).__name__}.")
    changed = first_difference(snapshot, kwargs, atol=0.0, rtol=0.0)
    if changed is None and _plain(snapshot) != _plain(kwargs):
        changed = f"{snapshot!r} became {kwargs!r}"
    if changed is not None:
        raise fail(case, s.check, f"building it changed the caller's kwargs: {changed}.")
    try:
        build_component(case.component, {**kwargs, UNKNOWN_ARGUMENT: 1}, kind=s.kind)
    except InvalidKwargsError as exc:
        if UNKNOWN_ARGUMENT not in str(exc):
            raise fail(
                case, s.check, f"the error for an unknown argument does not name it: {exc}"
            ) from exc
        return
    except Exception as exc:
        raise fail(
            case,
            s.check,
            f"an unknown keyword argument raised {type(exc).__name__} ({exc}) "
            f"instead of InvalidKwargsError.",
        ) from exc
    raise fail(
        case,
        s.check,
        f"the unknown keyword argument {UNKNOWN_ARGUMENT!r} was accepted: "
        f"declare explicit keyword parameters instead of **kwargs.",
    )


def _plain(value: Any) -> Any:
    """Kwargs with tensors replaced by their reprs, for comparing everything but tensors."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return "<tensor>" if isinstance(value, torch.Tensor) else value


def _pickle(s: Subject) -> None:
    # Picklability is the property under test (DataLoader workers, multiprocessing and
    # deepcopy rely on it); only bytes this function just produced are ever unpickled.
    case = s.case
    try:
        same = pickle.loads(pickle.dumps(s.cls)) is s.cls
    except Exception as exc:
        raise fail(case, s.check, f"the class does not pickle: {exc}") from exc
    if not same:
        raise fail(case, s.check, "the class unpickles as another class.")
    module = s.build().eval()
    call = s.calls(max(case.batch_sizes))[0]
    expected = s.forward(module, call)
    try:
        copy_ = pickle.loads(pickle.dumps(module))
    except Exception as exc:
        raise fail(case, s.check, f"an instance does not pickle: {exc}") from exc
    _compare(s, expected, s.forward(copy_.eval(), call), "the unpickled instance", **EXACT)


def _output_shape(s: Subject) -> None:
    module = s.build()
    for mode, sizes in (("eval", s.case.batch_sizes), ("train", [max(s.case.batch_sizes)])):
        module.train(mode == "train")
        for batch_size in sizes:
            for call in s.calls(batch_size):
                check_output_shapes(s, module, call)


def _train_eval(s: Subject) -> None:
    case = s.case
    module = s.build()
    batch_size = max(case.batch_sizes)
    module.train()
    if not module.training:
        raise fail(case, s.check, "train() left the module in eval mode.")
    for call in s.calls(batch_size):
        _finite(s, s.forward(module, call), call, "train")
    module.eval()
    stuck = [n for n, m in module.named_modules() if m.training]
    if stuck:
        raise fail(
            case, s.check, f"switching to eval mode left submodules in train mode: {stuck[:5]}."
        )
    for call in s.calls(batch_size):
        first = s.forward(module, call, seed=3)
        _finite(s, first, call, "eval")
        if case.deterministic_eval or s.is_randomizer:
            again = s.forward(module, call, seed=4)
            _compare(s, first, again, "a second eval-mode forward on the same inputs", **EXACT)


def _gradients(s: Subject) -> None:
    case = s.case
    module = s.build().train()
    for call in s.calls(max(case.batch_sizes)):
        _backward(s, module, call)


def _backward(s: Subject, module: torch.nn.Module, call: Call) -> None:
    case = s.case
    module.zero_grad(set_to_none=True)
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    loss = s.loss(module, call)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise fail(case, s.check, f"the loss is {describe(loss)}, not a scalar tensor.")
    if not trainable:
        return
    if loss.grad_fn is None:
        raise fail(case, s.check, "the output does not depend on any parameter (no grad_fn).")
    loss.backward()
    allowed = list(case.unused_parameters)
    missing = [
        n for n, p in trainable if p.grad is None and not any(fnmatchcase(n, a) for a in allowed)
    ]
    if missing:
        raise fail(
            case,
            s.check,
            f"{len(missing)} of {len(trainable)} parameters got no gradient from "
            f"the backward of {s.describe(call)}: {missing[:8]}. List parameters unused on "
            f"purpose in unused_parameters.",
        )
    bad = [n for n, p in trainable if p.grad is not None and not bool(p.grad.isfinite().all())]
    if bad:
        raise fail(case, s.check, f"non-finite gradients for {bad[:8]}.")


def _state_dict(s: Subject) -> None:
    from safetensors.torch import load, save

    case = s.case
    module = s.build().eval()
    call = s.calls(max(case.batch_sizes))[0]
    expected = s.forward(module, call)
    state = module.state_dict()
    # Aliased tensors (robomimic registers some submodules twice) share storage, which
    # safetensors refuses: store each key's values on its own, as a checkpoint file would.
    copies = {k: v.detach().clone().contiguous() for k, v in state.items()}
    try:
        loaded = load(save(copies))
    except Exception as exc:
        raise fail(case, s.check, f"safetensors cannot store the state_dict: {exc}") from exc
    for key, value in state.items():
        if key not in loaded or not _same_tensor(loaded[key], value):
            raise fail(case, s.check, f"state_dict entry {key!r} changed in the round trip.")
    arguments = getattr(module, "init_arguments", None)
    fresh = s.build(seed=12345, kwargs=arguments if arguments is not None else case.kwargs)
    try:
        fresh.load_state_dict(loaded, strict=True)
    except Exception as exc:
        raise fail(
            case,
            s.check,
            f"the saved state_dict does not load strictly into an instance "
            f"rebuilt from its init_arguments: {exc}",
        ) from exc
    for key, value in fresh.state_dict().items():
        if not _same_tensor(value, state[key]):
            raise fail(case, s.check, f"after loading, {key!r} differs from the saved value.")
    _compare(s, expected, s.forward(fresh.eval(), call), "the reloaded instance", **EXACT)


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.cpu(), b.detach().cpu())


def _dtype(s: Subject) -> None:
    case = s.case
    module = s.build().eval()
    calls = s.calls(max(case.batch_sizes))
    expected = [s.forward(module, call) for call in calls]
    module.to(torch.float64)
    wrong = [
        n
        for n, t in [*module.named_parameters(), *module.named_buffers()]
        if t.is_floating_point() and t.dtype != torch.float64
    ]
    if wrong:
        raise fail(
            case, s.check, f"after .to(torch.float64) these stay in another dtype: {wrong[:8]}."
        )
    for call, reference in zip(calls, expected):
        wide = call.to(torch.float64)
        module.eval()
        output = s.forward(module, wide)
        _all_dtype(s, output, torch.float64, "eval-mode forward on float64 inputs")
        if not s.is_randomizer and "output_shape" not in case.skip:
            match_declared(s, module, wide, output)
        if case.deterministic_eval or s.is_randomizer:
            _compare(
                s,
                reference,
                output,
                "float64 vs float32 forward",
                atol=case.tolerance,
                rtol=case.tolerance,
            )
        else:
            _same_structure(s, reference, output, "float64 vs float32 forward")
    if s.is_randomizer:
        # A randomizer's train path is where it computes (eval is often the identity).
        module.train()
        for call in calls:
            wide = call.to(torch.float64)
            if "output_shape" in case.skip:
                output = s.forward(module, wide)
            else:
                output = check_output_shapes(s, module, wide)
            _all_dtype(s, output, torch.float64, "train-mode forward on float64 inputs")


def _cuda(s: Subject) -> None:
    if not torch.cuda.is_available():
        raise ConformanceSkip("no CUDA device is present")
    case = s.case
    module = s.build().eval()
    calls = s.calls(max(case.batch_sizes))
    expected = [s.forward(module, call) for call in calls]
    module.cuda()
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    # TF32 convolutions round to 10 mantissa bits; compare full float32 with the CPU.
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for call, reference in zip(calls, expected):
            gpu = call.to(device="cuda")
            module.eval()
            output = s.forward(module, gpu)
            off = [p for p, t in tensor_leaves(output) if t.device.type != "cuda"]
            if off:
                raise fail(case, s.check, f"on CUDA inputs, {off} came back on the CPU.")
            if case.deterministic_eval or s.is_randomizer:
                _compare(
                    s,
                    reference,
                    output,
                    "CUDA vs CPU forward",
                    atol=case.tolerance * 10,
                    rtol=case.tolerance * 10,
                )
            module.train()
            _backward(s, module, gpu)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


CHECK_FUNCTIONS: dict[str, Callable[[Subject], None]] = {
    "registration": _registration,
    "strict_kwargs": _strict_kwargs,
    "pickle": _pickle,
    "output_shape": _output_shape,
    "train_eval": _train_eval,
    "gradients": _gradients,
    "state_dict": _state_dict,
    "dtype": _dtype,
    "cuda": _cuda,
}
if tuple(CHECK_FUNCTIONS) != CHECKS:  # one implementation per documented check
    raise RuntimeError(f"conformance checks {tuple(CHECK_FUNCTIONS)} != documented {CHECKS}")


# -- helpers ---------------------------------------------------------------------------------


def _compare(
    s: Subject, expected: Any, actual: Any, what: str, *, atol: float, rtol: float
) -> None:
    difference = first_difference(expected, actual, atol=atol, rtol=rtol)
    if difference is not None:
        raise fail(s.case, s.check, f"{what}: {difference}.")


def _same_structure(s: Subject, expected: Any, actual: Any, what: str) -> None:
    left, right = tensor_leaves(expected), tensor_leaves(actual)
    if [(p, t.shape) for p, t in left] != [(p, t.shape) for p, t in right]:
        raise fail(s.case, s.check, f"{what}: {describe(expected)} vs {describe(actual)}.")


def _finite(s: Subject, output: Any, call: Call, mode: str) -> None:
    leaves = tensor_leaves(output)
    if not leaves:
        raise fail(s.case, s.check, f"{mode}-mode forward returned {describe(output)}, no tensor.")
    bad = [p for p, t in leaves if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        raise fail(
            s.case,
            s.check,
            f"{mode}-mode forward on {s.describe(call)} gave non-finite values in {bad}.",
        )


def _all_dtype(s: Subject, output: Any, dtype: torch.dtype, what: str) -> None:
    wrong = [
        f"{p} ({str(t.dtype).removeprefix('torch.')})"
        for p, t in tensor_leaves(output)
        if t.is_floating_point() and t.dtype != dtype
    ]
    if wrong:
        raise fail(s.case, s.check, f"{what} returned {', '.join(wrong)}, expected {dtype}.")
