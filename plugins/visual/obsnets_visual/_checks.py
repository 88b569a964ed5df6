"""Shape checks shared by the components of obsnets-visual (errors, never assertions)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.errors import ShapeError

__all__ = ["as_shape", "check_input", "check_shape", "describe"]

Dim = int | str
"""One expected dimension: a fixed size, or a label (``"H"``) for a size that may vary."""


def describe(expected: Sequence[Dim]) -> str:
    """Format an expected shape with labels for free sizes, e.g. ``(512, H, W)``."""
    return "(" + ", ".join(str(d) for d in expected) + ("," if len(expected) == 1 else "") + ")"


def _matches(expected: Sequence[Dim], received: Sequence[int]) -> bool:
    if len(expected) != len(received):
        return False
    return all(isinstance(e, str) or int(e) == int(r) for e, r in zip(expected, received))


def as_shape(component: str, shape: Sequence[int] | None, rank: int | None = None) -> list[int]:
    """Turn a user-given shape into a list of Python ints.

    Args:
        component: Name used in the error message.
        shape: The shape, without batch dimension.
        rank: Required number of dimensions, if any.

    Raises:
        ShapeError: ``shape`` is ``None``, not a sequence of ints, or of the wrong rank.
    """
    if shape is None:
        raise ShapeError(f"{component} needs an input shape (without batch dimension); got None.")
    try:
        dims = [int(d) for d in shape]
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"{component} got a malformed shape {shape!r}.") from exc
    if rank is not None and len(dims) != rank:
        raise ShapeError(
            f"{component} expects a {rank}-d shape without batch dimension, got {tuple(dims)}."
        )
    return dims


def check_shape(component: str, expected: Sequence[Dim], received: Sequence[int] | None) -> None:
    """Raise unless a shape (without batch dimension) matches ``expected``.

    Args:
        component: Name used in the error message.
        expected: Sizes, or labels such as ``"H"`` where any size is accepted.
        received: The shape to check.
    """
    dims = as_shape(component, received)
    if not _matches(expected, dims):
        raise ShapeError(
            f"{component} expects input shape {describe(expected)}, got {describe(dims)}."
        )


def check_input(component: str, inputs: torch.Tensor, expected: Sequence[Dim]) -> None:
    """Raise unless a batched tensor is ``(B, *expected)``.

    Args:
        component: Name used in the error message.
        inputs: The tensor a ``forward`` received.
        expected: Expected shape without batch dimension; labels match any size.
    """
    received = tuple(inputs.shape)
    if len(received) != len(expected) + 1 or not _matches(expected, received[1:]):
        raise ShapeError(
            f"{component} expects input of shape {describe(['B', *expected])}, "
            f"got {describe(received)}."
        )
