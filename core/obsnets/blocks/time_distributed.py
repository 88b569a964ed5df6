"""``time_distributed``: apply a per-sample module to every step of ``(B, T, ...)`` inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["fold_time", "time_distributed", "unfold_time"]

Nested = torch.Tensor | Mapping[str, Any]


def fold_time(inputs: Any) -> Any:
    """``(B, T, ...) -> (B * T, ...)`` for a tensor or a (nested) dict of tensors."""
    if isinstance(inputs, torch.Tensor):
        return inputs.reshape(-1, *inputs.shape[2:])
    if isinstance(inputs, Mapping):
        return {k: fold_time(v) for k, v in inputs.items()}
    return inputs


def unfold_time(outputs: Any, batch_size: int, steps: int) -> Any:
    """``(B * T, ...) -> (B, T, ...)`` for a tensor or a (nested) dict of tensors."""
    if isinstance(outputs, torch.Tensor):
        return outputs.reshape(batch_size, steps, *outputs.shape[1:])
    if isinstance(outputs, Mapping):
        return {k: unfold_time(v, batch_size, steps) for k, v in outputs.items()}
    return outputs


def time_distributed(inputs: Nested, op: Callable[..., Any], inputs_as_kwargs: bool = False) -> Any:
    """Apply ``op`` to each time step by folding time into the batch.

    Args:
        inputs: A ``(B, T, ...)`` tensor, or a dict (possibly nested) of them.
        op: The per-sample function or module.
        inputs_as_kwargs: Call ``op(**folded)`` instead of ``op(folded)`` (dict inputs).

    Returns:
        ``op``'s output with ``(B, T)`` leading dimensions restored (tensors or dicts).
    """
    sample = _first_tensor(inputs)
    batch_size, steps = sample.shape[:2]
    folded = fold_time(inputs)
    outputs = op(**folded) if inputs_as_kwargs else op(folded)
    return unfold_time(outputs, batch_size, steps)


def _first_tensor(inputs: Any) -> torch.Tensor:
    if isinstance(inputs, torch.Tensor):
        return inputs
    for value in inputs.values():
        if value is not None:
            return _first_tensor(value)
    raise ValueError("time_distributed received no tensor.")
