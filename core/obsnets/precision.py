"""Numerical precision helpers for mixed-precision (autocast) training and inference."""

from __future__ import annotations

import torch

__all__ = ["PRECISIONS", "REDUCED_PRECISION_DTYPES", "at_least_float32", "autocast_cpu"]

PRECISIONS = ("fp32", "bf16")
"""The precisions a run or an export may ask for: float32, or bf16 autocast."""


def autocast_cpu(precision: str) -> torch.autocast:
    """bf16 autocast on the CPU for ``precision="bf16"``; a disabled one for ``"fp32"``.

    Args:
        precision: One of :data:`PRECISIONS`.
    """
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


REDUCED_PRECISION_DTYPES: frozenset[torch.dtype] = frozenset({torch.bfloat16, torch.float16})
"""Floating dtypes too coarse for log-probabilities, softmax expectations and KL terms."""


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float32 if it is bf16 or fp16, else unchanged (float64 stays float64).

    Under ``torch.autocast`` linear layers, convolutions and matmuls return bf16 / fp16;
    the numerically sensitive tail of a network (softmax expectations, distribution
    log-probs, mixture weights, KL terms) calls this on its inputs so it runs in float32.
    Differentiable; a no-op outside autocast.

    Args:
        tensor: Any tensor, shape ``(...)``.

    Returns:
        The same values, shape ``(...)``, in float32 when ``tensor`` was bf16 or fp16.
    """
    if tensor.dtype in REDUCED_PRECISION_DTYPES:
        return tensor.float()
    return tensor
