"""Walking nested call arguments and outputs: dicts, lists and tuples of tensors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["describe", "first_difference", "map_tensors", "tensor_leaves"]


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Return ``obj`` with ``fn`` applied to every tensor inside dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, Mapping):
        return type(obj)((k, map_tensors(v, fn)) for k, v in obj.items())  # type: ignore[call-arg]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(map_tensors(v, fn) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(map_tensors(v, fn) for v in obj)
    return obj


def tensor_leaves(obj: Any, path: str = "output") -> list[tuple[str, torch.Tensor]]:
    """Every tensor inside ``obj`` with its path, e.g. ``("output['action']", tensor)``."""
    if isinstance(obj, torch.Tensor):
        return [(path, obj)]
    found: list[tuple[str, torch.Tensor]] = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            found += tensor_leaves(value, f"{path}[{key!r}]")
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            found += tensor_leaves(value, f"{path}[{i}]")
    return found


def describe(obj: Any) -> str:
    """A short description of a nested output, for messages: shapes instead of values."""
    if isinstance(obj, torch.Tensor):
        return f"tensor{tuple(obj.shape)} {str(obj.dtype).removeprefix('torch.')}"
    if isinstance(obj, Mapping):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        inner = ", ".join(describe(v) for v in obj)
        return f"({inner})" if isinstance(obj, tuple) else f"[{inner}]"
    return type(obj).__name__


def first_difference(expected: Any, actual: Any, *, atol: float, rtol: float) -> str | None:
    """Compare two nested outputs; describe the first difference, or return ``None``.

    Tensors are compared with ``|a - e| <= atol + rtol * |e|`` after moving ``actual`` to
    ``expected``'s device and dtype; the structure (keys, lengths) must be the same.
    """
    left, right = tensor_leaves(expected), tensor_leaves(actual)
    if [p for p, _ in left] != [p for p, _ in right]:
        return f"the outputs differ in structure: {describe(expected)} vs {describe(actual)}"
    for (path, e), (_, a) in zip(left, right):
        if e.shape != a.shape:
            return f"{path} has shape {tuple(a.shape)} instead of {tuple(e.shape)}"
        a = a.detach().to(device=e.device, dtype=e.dtype)
        e = e.detach()
        if not e.is_floating_point() and not e.is_complex():
            if not torch.equal(a, e):
                return f"{path} differs (integer or boolean values)"
            continue
        if e.numel() == 0:
            continue
        nan_mismatch = torch.isnan(a) != torch.isnan(e)
        if bool(nan_mismatch.any()):
            return f"{path} has NaN where the other has none"
        ok = torch.isclose(a, e, atol=atol, rtol=rtol, equal_nan=True)
        if not bool(ok.all()):
            diff = (a - e).abs().nan_to_num(0.0)
            worst = int(diff.reshape(-1).argmax())
            return (
                f"{path} differs in {int((~ok).sum())} of {e.numel()} elements; max abs "
                f"difference {float(diff.max()):.3g} (at flat index {worst}: "
                f"{float(a.reshape(-1)[worst]):.6g} vs {float(e.reshape(-1)[worst]):.6g}), "
                f"tolerance atol={atol:g}, rtol={rtol:g}"
            )
    return None
