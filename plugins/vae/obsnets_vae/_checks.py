"""Input checks shared by the VAE and its priors (errors, never assertions)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import torch

from obsnets.errors import InvalidKwargsError, ShapeError, format_shape

__all__ = ["batch_size_of", "ordered_shapes", "require_group"]


def ordered_shapes(
    shapes: Mapping[str, Sequence[int]] | None,
) -> OrderedDict[str, tuple[int, ...]]:
    """Key -> shape as an ordered dict of int tuples (``{}`` for ``None``), order kept."""
    return OrderedDict((k, tuple(int(d) for d in v)) for k, v in (shapes or {}).items())


def require_group(
    component: str,
    argument: str,
    tensors: Mapping[str, torch.Tensor] | None,
    keys: Iterable[str],
) -> None:
    """Raise unless ``tensors`` holds every key in ``keys`` (when any are expected).

    Args:
        component: Name used in the message, e.g. ``"VAE.encode"``.
        argument: The argument the caller must give, e.g. ``"conditions"``.
        tensors: What the caller gave.
        keys: The keys the network was built with.
    """
    expected = list(keys)
    if not expected:
        return
    if tensors is None:
        raise InvalidKwargsError(
            f"{component} needs {argument}={{key: (B, ...) tensor}} for keys {expected} "
            f"(the network was built with them); got {argument}=None."
        )
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise InvalidKwargsError(
            f"{component}: {argument} lacks key(s) {missing}; expected keys {expected}, "
            f"got {sorted(tensors)}."
        )


def batch_size_of(
    component: str, tensors: Mapping[str, torch.Tensor], expected: int | None = None
) -> int:
    """Return the common leading dimension of ``tensors``; raise if they disagree.

    Args:
        component: Name used in the message.
        tensors: Key -> ``(B, ...)`` tensor.
        expected: A batch size they must have, if any.
    """
    sizes = {k: int(v.shape[0]) for k, v in tensors.items()}
    if expected is not None:
        wrong = {k: s for k, s in sizes.items() if s != expected}
        if wrong:
            k = next(iter(wrong))
            raise ShapeError(
                f"{component}: expected batch size {expected}, but {k!r} has shape "
                f"{format_shape(tensors[k].shape)}."
            )
        return expected
    if len(set(sizes.values())) > 1:
        raise ShapeError(f"{component}: inputs disagree on the batch size: {sizes}.")
    return next(iter(sizes.values()))
