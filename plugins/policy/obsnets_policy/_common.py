"""Helpers shared by the policy networks: observation groups, goals, actions, modalities.

Every check raises an obsnets error naming the network, what it expected and what it got.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, suggestion
from obsnets.validation import check_bounds

__all__ = [
    "ObsModalities",
    "check_actions",
    "check_goal",
    "check_limits",
    "distribution_error",
    "expand_goal_over_time",
    "is_goal_conditioned",
    "observation_groups",
    "resolve_std_activation",
    "sequence_length",
    "time_steps_of_shapes",
]

ObsModalities = Mapping[str, Sequence[str]]
"""Modality name -> the observation keys of that modality, e.g. ``{"rgb": ["agentview_image"]}``."""

Shapes = Mapping[str, Sequence[int]]


def is_goal_conditioned(goal_shapes: Shapes | None) -> bool:
    """Whether ``goal_shapes`` asks for a ``goal`` observation group (non-empty)."""
    return goal_shapes is not None and len(goal_shapes) > 0


def observation_groups(
    obs_shapes: Shapes, goal_shapes: Shapes | None
) -> OrderedDict[str, OrderedDict[str, Sequence[int]]]:
    """The encoder's groups: ``obs`` and, only for non-empty ``goal_shapes``, ``goal``."""
    groups: OrderedDict[str, OrderedDict[str, Sequence[int]]] = OrderedDict()
    groups["obs"] = OrderedDict(obs_shapes)
    if goal_shapes:
        groups["goal"] = OrderedDict(goal_shapes)
    return groups


def check_goal(component: str, goal_shapes: Shapes | None, goal_dict: Any) -> None:
    """Raise unless a goal-conditioned network received a goal dict with every goal key.

    Args:
        component: Network name for the message.
        goal_shapes: The network's goal shapes (``None``/empty: nothing is required).
        goal_dict: What the caller passed.

    Raises:
        InvalidKwargsError: ``goal_dict`` is missing, not a mapping, or lacks goal keys.
    """
    if not goal_shapes:
        return
    expected = list(goal_shapes)
    if goal_dict is None:
        raise InvalidKwargsError(
            f"{component} was built with goal_shapes for {expected} and needs goal_dict, a "
            f"dict of goal observations with those keys; got goal_dict=None."
        )
    if not isinstance(goal_dict, Mapping):
        raise InvalidKwargsError(
            f"{component}: goal_dict must be a dict of goal observations with keys {expected}; "
            f"got {type(goal_dict).__name__}."
        )
    missing = [k for k in expected if k not in goal_dict]
    if missing:
        raise InvalidKwargsError(
            f"{component}: goal_dict is missing goal key(s) {missing} (expected keys "
            f"{expected}, got {list(goal_dict)})."
        )


def check_actions(component: str, actions: Any, ac_dim: int, what: str = "actions") -> None:
    """Raise unless ``actions`` is a tensor whose last dimension is ``ac_dim``.

    Raises:
        ShapeError: wrong type, no dimensions, or the wrong action width.
    """
    if not isinstance(actions, torch.Tensor):
        raise ShapeError(
            f"{component} expects {what} as a tensor of shape (B, {ac_dim}); got "
            f"{type(actions).__name__}."
        )
    if actions.dim() < 2 or actions.shape[-1] != ac_dim:
        raise ShapeError(
            f"{component} expects {what} of shape (B, {ac_dim}) (ac_dim={ac_dim}); got a "
            f"tensor of shape {tuple(actions.shape)}."
        )


def distribution_error(
    component: str, error: ValueError, inputs: Mapping[str, Mapping[str, Any] | None]
) -> ShapeError:
    """The error for an action distribution torch refused (NaN or inf parameters).

    Only called once torch has refused, so scanning the inputs for the culprit costs nothing
    on the normal path.

    Args:
        component: Network name for the message.
        error: torch's ``ValueError`` (a distribution argument outside its constraint).
        inputs: Group name (``"obs_dict"``, ``"goal_dict"``) -> the tensors given.
    """
    bad = [
        f"{group}[{key!r}]"
        for group, values in inputs.items()
        for key, x in (values or {}).items()
        if isinstance(x, torch.Tensor) and x.is_floating_point() and not torch.isfinite(x).all()
    ]
    cause = (
        f"observation {', '.join(bad)} holds NaN or inf; replace or drop such samples before "
        f"calling the policy (torch.isfinite(x).all() finds them)"
        if bad
        else "no observation holds NaN or inf, so the weights diverged (check the learning "
        "rate and the loss for NaN)"
    )
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ShapeError(
        f"{component}: the action distribution's parameters are not finite: {cause}. torch "
        f"said: {first_line}"
    )


def check_limits(
    component: str, name: str, limits: Sequence[float], *, positive: bool = False
) -> tuple[float, float]:
    """Return ``(low, high)`` from a two-entry ``limits`` argument with ``low < high``.

    :func:`obsnets.validation.check_bounds`, worded for a policy's limits.

    Args:
        component: Network name for the message.
        name: The argument, e.g. ``"mean_limits"``.
        limits: What was given.
        positive: Whether ``low`` must be above 0 (a standard deviation's lower limit).

    Raises:
        ConfigError: not two entries, ``low >= high``, or a non-positive ``low`` where needed.
    """
    return check_bounds(
        component, name, limits, positive=positive, low_is="the smallest standard deviation"
    )


def resolve_std_activation(component: str, name: Any, allowed: Sequence[str | None]) -> Any:
    """Validate a ``std_activation`` setting and return it.

    Args:
        component: Network name for the message.
        name: The configured activation name (``None`` where allowed).
        allowed: The accepted values.

    Raises:
        ConfigError: an unknown activation, with close matches.
    """
    if name in allowed:
        return name
    names = [a for a in allowed if a is not None]
    shown = ", ".join(repr(a) for a in allowed)
    hint = suggestion(name, names) if isinstance(name, str) else ""
    raise ConfigError(f"{component}: unknown std_activation {name!r}.{hint} Valid values: {shown}.")


def expand_goal_over_time(goal_dict: Mapping[str, torch.Tensor], steps: int) -> dict[str, Any]:
    """Repeat each ``(B, ...)`` goal tensor over time: ``(B, ...) -> (B, T, ...)``."""
    return {k: v.unsqueeze(1).expand(v.shape[0], steps, *v.shape[1:]) for k, v in goal_dict.items()}


def sequence_length(component: str, obs_dict: Mapping[str, torch.Tensor]) -> int:
    """The time dimension ``T`` of a ``(B, T, ...)`` observation dict."""
    for value in obs_dict.values():
        if isinstance(value, torch.Tensor):
            if value.dim() < 2:
                raise ShapeError(
                    f"{component} expects observation sequences (B, T, ...); got a tensor of "
                    f"shape {tuple(value.shape)}."
                )
            return int(value.shape[1])
    raise ShapeError(f"{component} received an observation dict without tensors.")


def time_steps_of_shapes(component: str, obs_keys: Sequence[str], input_shape: Any) -> int:
    """The shared time dimension ``T`` of ``input_shape`` ``{obs key: (T, ...)}``.

    Args:
        component: Named in the error, e.g. ``"RNNActorNetwork"``.
        obs_keys: The observation keys every shape must give.
        input_shape: ``{obs key: (T, ...)}``, robomimic's form of sequence shapes.

    Raises:
        ShapeError: a key is missing, a shape has no time dimension, or the T's differ.
    """
    steps: set[int] = set()
    if isinstance(input_shape, Mapping):
        try:
            steps = {int(input_shape[k][0]) for k in obs_keys}
        except (KeyError, IndexError, TypeError, ValueError):
            steps = set()
    if len(steps) != 1:
        first = next(iter(obs_keys), "obs")
        raise ShapeError(
            f"{component}.output_shape needs every observation's shape with its time "
            f"dimension, all with the same T, e.g. {{{first!r}: (T, ...)}}; got {input_shape!r}."
        )
    return steps.pop()
