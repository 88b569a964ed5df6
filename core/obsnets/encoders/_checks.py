"""Validation helpers shared by the observation encoders and the MIMO wrappers.

Every helper raises an obsnets error naming the component (``owner``), what it expected and
what it was given.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from obsnets.errors import ConfigError, ShapeError
from obsnets.torch_classes import torch_module_class

__all__ = [
    "as_group_shapes",
    "as_shape",
    "as_shape_mapping",
    "dtype_error",
    "is_null_name",
    "module_class",
    "shape_text",
]

Shape = list[int]


def is_null_name(value: Any) -> bool:
    """Whether a config value means "no class": ``None`` or the string ``"None"``.

    robomimic's registries mapped the string ``"None"`` to ``None`` and then called it
    (``TypeError``); the intent of such configs is clearly "nothing", so obsnets reads it so.
    """
    return value is None or (isinstance(value, str) and value.strip() in ("None", "none", "null"))


def as_shape(owner: str, what: str, shape: Any) -> Shape:
    """Return ``shape`` as a list of positive ints, or raise :class:`ShapeError`.

    Args:
        owner: Component name for the message, e.g. ``"ObservationEncoder"``.
        what: What the shape belongs to, e.g. ``"key 'robot0_eef_pos'"``.
        shape: A sequence of ints (no batch dimension), e.g. a list, tuple or ``torch.Size``.
    """
    problem = (
        f"{owner}: the shape of {what} must be a non-empty list of positive ints (no batch "
        f"dimension), e.g. [3, 84, 84]; got {shape!r}."
    )
    if isinstance(shape, str | bytes | Mapping) or not isinstance(shape, Iterable):
        raise ShapeError(problem)
    items = list(shape)
    if not items or any(isinstance(d, bool) for d in items):
        raise ShapeError(problem)
    try:
        dims = [operator.index(d) for d in items]
    except TypeError:
        raise ShapeError(problem) from None
    if any(d < 1 for d in dims):
        raise ShapeError(problem)
    return dims


def shape_text(shape: Sequence[int], lead: str = "") -> str:
    """``(B, 3, 84, 84)``-style text of a shape with optional leading dimension names."""
    return "(" + ", ".join([*([lead] if lead else []), *(str(int(d)) for d in shape)]) + ")"


def as_shape_mapping(owner: str, what: str, shapes: Any) -> OrderedDict[str, Shape]:
    """Return ``{key: shape}`` in the caller's order, each shape checked by :func:`as_shape`.

    Raises:
        ConfigError: ``shapes`` is not a mapping of string keys.
        ShapeError: a malformed shape.
    """
    if not isinstance(shapes, Mapping):
        raise ConfigError(
            f"{owner}: {what} must map observation keys to shapes, e.g. "
            f"{{'robot0_eef_pos': [3]}}; got {type(shapes).__name__} {shapes!r}."
        )
    checked: OrderedDict[str, Shape] = OrderedDict()
    for key, shape in shapes.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"{owner}: {what} keys must be non-empty strings (any other string works, "
                f"dots included); got {key!r}."
            )
        checked[key] = as_shape(owner, f"{what}[{key!r}]", shape)
    return checked


def as_group_shapes(
    owner: str, what: str, groups: Any
) -> OrderedDict[str, OrderedDict[str, Shape]]:
    """Return ``{group: {key: shape}}`` in the caller's order (at least one key per group).

    Raises:
        ConfigError: not a mapping of mappings, no group, or an empty group.
    """
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigError(
            f"{owner}: {what} must map group names to {{key: shape}} mappings, e.g. "
            f"{{'obs': {{'robot0_eef_pos': [3]}}}}; got {groups!r}."
        )
    checked: OrderedDict[str, OrderedDict[str, Shape]] = OrderedDict()
    for group, shapes in groups.items():
        if not isinstance(group, str) or not group:
            raise ConfigError(
                f"{owner}: {what} group names must be non-empty strings; got {group!r}."
            )
        checked[group] = as_shape_mapping(owner, f"{what}[{group!r}]", shapes)
        if not checked[group]:
            raise ConfigError(
                f"{owner}: observation group {group!r} has no keys; leave the group out "
                f"instead of giving it empty."
            )
    return checked


def module_class(owner: str, what: str, value: Any) -> type[nn.Module] | None:
    """A ``torch.nn`` module class given as a class, a name (``"ReLU"``) or ``None``."""
    return torch_module_class(value, what=f"{owner} {what}")


def dtype_error(
    owner: str, network: nn.Module, inputs: Mapping[str, Any], error: Exception
) -> ShapeError | None:
    """For torch's error inside ``network``: an error naming the inputs of another dtype.

    Called only once torch has raised, so a forward pays nothing for it.

    Args:
        owner: The component, for the message.
        network: The module that raised; its first floating parameter gives the expected dtype.
        inputs: Observation key (or group) -> tensor (or mapping of them), as given.
        error: What torch raised.

    Returns:
        A :class:`ShapeError` naming the observations whose dtype differs from the network's,
        or ``None`` when every input has the network's dtype (the error has another cause).
    """
    expected = next((p.dtype for p in network.parameters() if p.is_floating_point()), None)
    wrong = {
        name: x.dtype
        for name, x in _tensors(inputs)
        if expected is not None and x.dtype != expected
    }
    if not wrong:
        return None
    given = ", ".join(f"{name} is {dtype}" for name, dtype in wrong.items())
    dtype = next(iter(wrong.values()))
    return ShapeError(
        f"{owner}: the network is {expected} but observation {given}; convert the inputs "
        f"(x.to({expected})) or the model (model.to({dtype})). torch said: "
        f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
    )


def _tensors(inputs: Mapping[str, Any], prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    found = []
    for key, value in inputs.items():
        name = f"{prefix}[{key!r}]" if prefix else repr(key)
        if isinstance(value, torch.Tensor):
            found.append((name, value))
        elif isinstance(value, Mapping):
            found.extend(_tensors(value, str(key)))
    return found
