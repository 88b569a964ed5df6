"""The ``output_shape`` contract: declared shapes equal the shapes forward really returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import torch

from obsnets.bases import Randomizer
from obsnets.testing.tree import describe

if TYPE_CHECKING:
    from obsnets.testing.subject import Call, Subject

__all__ = ["check_output_shapes", "declared_shape", "match_declared"]


def declared_shape(s: Subject, module: torch.nn.Module, method: str, *args: Any) -> Any:
    """Call ``module.<method>(*args)`` and check it returns a shape of Python ints (or a dict)."""
    from obsnets.testing.subject import fail

    try:
        shape = getattr(module, method)(*args)
    except Exception as exc:
        raise fail(
            s.case,
            s.check,
            f"{method}({', '.join(map(repr, args))}) raised {type(exc).__name__}: {exc}",
        ) from exc
    values = shape.values() if isinstance(shape, Mapping) else [shape]
    for value in values:
        if not isinstance(value, Sequence | torch.Size) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in value
        ):
            raise fail(
                s.case,
                s.check,
                f"{method}({', '.join(map(repr, args))}) returned {shape!r}: "
                f"a shape is a list of Python ints (or a dict of them), without batch dimension.",
            )
    return shape


def check_output_shapes(s: Subject, module: torch.nn.Module, call: Call) -> Any:
    """Run ``module`` on ``call`` in its current mode, compare with its declared shapes.

    Returns:
        The output (for randomizers, ``forward_out(forward_in(x))``).
    """
    if s.is_randomizer:
        return _check_randomizer(s, module, call)
    output = s.forward(module, call)
    match_declared(s, module, call, output)
    return output


def match_declared(s: Subject, module: torch.nn.Module, call: Call, output: Any) -> None:
    """Compare an output of ``module`` on ``call`` with what its ``output_shape`` declares."""
    declared = declared_shape(
        s,
        module,
        "output_shape",
        call.input_shape if call.input_shape is not None else s.case.output_shape_input,
    )
    leading = [call.batch_size] + ([s.case.sequence_length] if s.case.sequence_length else [])
    _match(s, module, call, declared, output, leading, "output_shape", "forward")


def _check_randomizer(s: Subject, module: torch.nn.Module, call: Call) -> torch.Tensor:
    from obsnets.testing.subject import fail, seeded

    input_shape = list(cast(Sequence[int], call.input_shape))  # ConformanceCase checked it
    shape_in = declared_shape(s, module, "output_shape_in", input_shape)
    alias = declared_shape(s, module, "output_shape", input_shape)
    if list(alias) != list(shape_in):
        raise fail(
            s.case, s.check, f"output_shape gives {alias!r} but output_shape_in {shape_in!r}."
        )
    mode = "train" if module.training else "eval"
    with seeded(2):
        try:
            randomized = cast(Randomizer, module).forward_in(*call.args, **call.kwargs)
        except Exception as exc:
            raise fail(
                s.case,
                s.check,
                f"forward_in in {mode} mode on {s.describe(call)} raised "
                f"{type(exc).__name__}: {exc}",
            ) from exc
        if not isinstance(randomized, torch.Tensor):
            raise fail(s.case, s.check, f"forward_in returned {describe(randomized)}.")
        batch = randomized.shape[0]
        if batch % call.batch_size:
            raise fail(
                s.case,
                s.check,
                f"forward_in in {mode} mode turned batch {call.batch_size} "
                f"into {batch}, not a multiple B * N.",
            )
        if list(randomized.shape[1:]) != list(shape_in):
            raise fail(
                s.case,
                s.check,
                f"forward_in in {mode} mode returned per-sample shape "
                f"{list(randomized.shape[1:])}, output_shape_in says {list(shape_in)} "
                f"(on {s.describe(call)}).",
            )
        shape_out = declared_shape(s, module, "output_shape_out", list(randomized.shape[1:]))
        try:
            folded = cast(Randomizer, module).forward_out(randomized)
        except Exception as exc:
            raise fail(
                s.case,
                s.check,
                f"forward_out in {mode} mode on {describe(randomized)} raised "
                f"{type(exc).__name__}: {exc}",
            ) from exc
    _match(s, module, call, shape_out, folded, [call.batch_size], "output_shape_out", "forward_out")
    return folded


def _match(
    s: Subject,
    module: torch.nn.Module,
    call: Call,
    declared: Any,
    output: Any,
    leading: list[int],
    method: str,
    producer: str,
) -> None:
    from obsnets.testing.subject import fail

    mode = "train" if module.training else "eval"
    where = f"{producer} in {mode} mode on {s.describe(call)}"
    if isinstance(declared, Mapping):
        if not isinstance(output, Mapping) or list(output) != list(declared):
            raise fail(
                s.case,
                s.check,
                f"{method} declares outputs {list(declared)} but {where} "
                f"returned {describe(output)}.",
            )
        pairs = [(f"[{k!r}]", declared[k], output[k]) for k in declared]
    else:
        pairs = [("", declared, output)]
    for key, shape, value in pairs:
        expected = [*leading, *shape]
        if not isinstance(value, torch.Tensor):
            raise fail(
                s.case,
                s.check,
                f"{where} returned {describe(value)} for output{key}; "
                f"{method} declares {list(shape)}. If forward returns no tensor by design, "
                f"skip this check with a reason.",
            )
        if list(value.shape) != expected:
            raise fail(
                s.case,
                s.check,
                f"{method} says {list(shape)} (so {producer} should return "
                f"{tuple(expected)}) but {where} returned {tuple(value.shape)} for output{key}.",
            )
