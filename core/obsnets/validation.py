"""Constructor arguments checked at the boundary, before a component allocates anything.

Every component's constructor arguments pass through :func:`check_arguments` (the component
metaclass calls it before ``__init__`` runs), driven by the constructor's annotations:

- an ``int`` is an int: ``True`` and ``2.5`` are refused, never turned into ``1`` and ``2``;
- a ``float`` is a finite real number (an int is fine; NaN, inf and ``True`` are not), small
  enough to stay finite in float32;
- a ``bool`` is a bool (``0``/``1`` are refused: a config means ``false``/``true``);
- ``Sequence[int]``/``Sequence[float]`` (and ``int | Sequence[int]``) check every element, and
  ``Mapping[str, X]`` every value.

Integers are also bounded by what their name says they are (robomimic's naming is regular):
sizes (``*_dim``, ``*_dims``, ``*channel(s)``, ``*_height``, ``*_width``, ``*_length``,
``kernel_size``, ``feature_dimension`` and every entry of a shape) lie in
``[1, MAX_SIZE]``; counts (``num_*``, ``*_num_*``) in ``[1, MAX_COUNT]``; a ``seed`` in the
range a generator accepts; any other int within ``±MAX_SIZE``. One sample of a shape holds at
most ``MAX_SHAPE_ELEMENTS`` values. Floats named ``*dropout*`` are probabilities in ``[0, 1)``
and ``*std`` ones are ``>= 0``. Components check what only they know (e.g. a crop no larger
than the image) with the helpers here, and :func:`check_allocation` bounds a layer's size
before it is allocated.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from obsnets.errors import ConfigError, InvalidKwargsError

__all__ = [
    "MAX_COUNT",
    "MAX_PARAMETERS",
    "MAX_SHAPE_ELEMENTS",
    "MAX_SIZE",
    "check_allocation",
    "check_arguments",
    "check_bounds",
    "check_finite_float",
    "check_int",
    "check_probability",
    "check_shape",
]

MAX_SIZE = 2**16
"""Largest size (feature dimension, channels, image side, ...) an argument may give."""

MAX_COUNT = 4096
"""Largest count (layers, heads, modes, keypoints, samples, ...) an argument may give."""

MAX_SHAPE_ELEMENTS = 2**28
"""Most values one sample of a declared shape may hold (1 GiB of float32)."""

MAX_PARAMETERS = 2**31
"""Most values one layer may allocate (8 GiB of float32): more is a mistaken size."""

_FLOAT32_MAX = 3.4028234663852886e38
_SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts

Check = Callable[[str, str, Any], None]
_SEQUENCE_ORIGINS = (Sequence, Collection, list, tuple, set, frozenset)


def check_int(
    owner: str, name: str, value: Any, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` if it is an int in ``[low, high]``, else raise.

    Args:
        owner: The component, for the message (``"RNN_Base"``).
        name: The argument, for the message (``"rnn_num_layers"``).
        value: What was given.
        low: Smallest valid value (``None``: no lower bound).
        high: Largest valid value (``None``: no upper bound).

    Raises:
        InvalidKwargsError: not an int (a bool, a float such as ``2.5`` or NaN, a string).
        ConfigError: an int outside ``[low, high]``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidKwargsError(
            f"{owner}: argument '{name}' must be an int{_range_text(low, high)}; got "
            f"{_given(value)}. Write a whole number, without a decimal point."
        )
    number = int(value)
    too_large = high is not None and number > high
    if too_large or (low is not None and number < low):
        cause = " Larger values cannot be allocated or would never finish." if too_large else ""
        raise ConfigError(
            f"{owner}: argument '{name}' must be an int{_range_text(low, high)}; got "
            f"{number}.{cause}"
        )
    return number


def check_finite_float(
    owner: str, name: str, value: Any, *, low: float | None = None, high: float | None = None
) -> float:
    """Return ``value`` as a float if it is a finite real number in ``[low, high]``, else raise.

    Raises:
        InvalidKwargsError: not a real number (a bool, a string, a list).
        ConfigError: NaN, inf, beyond float32's range, or outside ``[low, high]``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidKwargsError(
            f"{owner}: argument '{name}' must be a number{_range_text(low, high)}; got "
            f"{_given(value)}."
        )
    number = float(value)
    if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
        raise ConfigError(
            f"{owner}: argument '{name}' must be a finite number (within float32's range); "
            f"got {value!r}."
        )
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigError(
            f"{owner}: argument '{name}' must be a number{_range_text(low, high)}; got {value!r}."
        )
    return number


def check_probability(owner: str, name: str, value: Any) -> float:
    """Return ``value`` if it is a probability in ``[0, 1)`` (a dropout rate), else raise."""
    number = check_finite_float(owner, name, value, low=0.0)
    if number >= 1.0:
        raise ConfigError(
            f"{owner}: argument '{name}' is a dropout probability and must lie in [0, 1); "
            f"got {value!r} (1 would drop everything)."
        )
    return number


def check_bounds(
    owner: str,
    name: str,
    value: Any,
    *,
    positive: bool = False,
    expected: str = "[low, high] with low < high",
    low_is: str = "the lower bound",
) -> tuple[float, float]:
    """Return ``(low, high)`` from a two-entry bounds argument with ``low < high``, or raise.

    One check for every "exactly two numbers, low below high" argument (a policy's
    ``mean_limits``/``std_limits``, a VAE's ``output_ranges`` entries), so they all answer
    a mistake alike.

    Args:
        owner: The component, for the message (``"GaussianActorNetwork"``).
        name: The argument, for the message (``"std_limits"``, ``"output_ranges['action']"``).
        value: What was given: a sequence of two finite numbers.
        positive: Whether ``low`` must also be above 0 (e.g. a standard deviation's limit).
        expected: How the message writes the expected form, as the argument's documentation
            does (``"(low, high)"`` for a tuple-valued setting).
        low_is: What ``low`` means, for the message when ``positive`` fails
            (``"the smallest standard deviation"``).

    Raises:
        InvalidKwargsError: an entry is not a real number.
        ConfigError: not two entries, a non-finite entry, ``low >= high``, or ``low <= 0``
            where ``positive``.
    """
    sequence = isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if not sequence or len(value) != 2:
        given = list(value) if sequence else value
        raise ConfigError(f"{owner}: {name} must be {expected}; got {given!r}.")
    low = check_finite_float(owner, f"{name}[0]", value[0])
    high = check_finite_float(owner, f"{name}[1]", value[1])
    if low >= high:
        raise ConfigError(
            f"{owner}: {name} must be {expected}; got {list(value)!r}, where low < high "
            f"does not hold."
        )
    if positive and low <= 0.0:
        raise ConfigError(f"{owner}: {name}[0] is {low_is} and must be above 0; got {value[0]!r}.")
    return low, high


def check_shape(owner: str, name: str, shape: Any) -> list[int]:
    """Return ``shape`` as a list of sizes in ``[1, MAX_SIZE]``, or raise.

    Args:
        owner: The component, for the message.
        name: The argument, for the message (``"input_shape"``).
        shape: One sample's shape without batch dimension, e.g. ``(3, 84, 84)``.

    Raises:
        InvalidKwargsError: not a list of ints.
        ConfigError: empty, a size out of range, or more than ``MAX_SHAPE_ELEMENTS`` values.
    """
    _SHAPE_CHECK(owner, name, shape)
    if not len(shape):
        raise ConfigError(f"{owner}: argument '{name}' must not be empty; give e.g. [3, 84, 84].")
    return [int(d) for d in shape]


def check_allocation(owner: str, what: str, elements: int) -> None:
    """Raise if one layer would allocate more than :data:`MAX_PARAMETERS` values.

    Args:
        owner: The component, for the message.
        what: The layer and the arguments that size it, e.g. ``"layer 0 (input_dim x 512)"``.
        elements: How many values the layer's largest tensor would hold.

    Raises:
        ConfigError: too large to be a real model's layer.
    """
    if elements > MAX_PARAMETERS:
        raise ConfigError(
            f"{owner}: {what} would hold {elements:,} values ({elements * 4 / 2**30:,.0f} GiB "
            f"as float32); at most {MAX_PARAMETERS:,} are allowed. Check the sizes given."
        )


def check_arguments(cls: type, arguments: Mapping[str, Any]) -> None:
    """Check constructor ``arguments`` of ``cls`` against its annotations (see module doc).

    Args:
        cls: The component class.
        arguments: Parameter name -> value, as bound to ``cls.__init__`` (without ``self``).

    Raises:
        InvalidKwargsError: a value of the wrong type.
        ConfigError: a value out of range.
    """
    checks = _argument_checks(cls)
    for name, value in arguments.items():
        check, none_allowed = checks.get(name, (None, True))
        if value is None:
            if not none_allowed:
                raise InvalidKwargsError(
                    f"{cls.__name__}: argument '{name}' is required and cannot be None; give "
                    f"a value (see the signature: {cls.__name__}{_signature_text(cls)})."
                )
        elif check is not None:
            check(cls.__name__, name, value)


@functools.cache
def _argument_checks(cls: type) -> dict[str, tuple[Check | None, bool]]:
    """Parameter name -> (its check, whether ``None`` is valid), derived once per class."""
    function = cls.__init__  # type: ignore[misc]
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature (a C constructor): nothing to check
        return {}
    hints = _type_hints(function)
    checks = {}
    for name, hint in hints.items():
        if name == "return" or name not in parameters:
            continue
        none_allowed = (
            hint is Any
            or type(None) in typing.get_args(hint)
            or hint is type(None)
            or parameters[name].default is None
        )
        checks[name] = (_check_for(hint, name), none_allowed)
    return checks


def _type_hints(function: Any) -> dict[str, Any]:
    """The resolved annotations of ``function``; one that does not resolve is left out."""
    try:
        return typing.get_type_hints(function)
    except Exception:  # e.g. a forward reference to a name the module does not import
        pass
    hints = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints.update(typing.get_type_hints(holder, getattr(function, "__globals__", None)))
        except Exception:  # that one annotation cannot be checked
            continue
    return hints


def _signature_text(cls: type) -> str:
    return str(inspect.signature(cls.__init__)).replace("(self, ", "(")  # type: ignore[misc]


def _members(hint: Any) -> list[Any]:
    """The members of a union other than ``None``; ``[hint]`` for anything else."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(hint) if m is not type(None)]
    return [hint]


def _check_for(hint: Any, name: str) -> Check | None:
    """A check for values annotated ``hint``, or ``None`` where the annotation is not one of
    the plain forms (anything ambiguous is left to the component)."""
    members = _members(hint)
    if members and all(_is_reference(m) for m in members):
        return functools.partial(_check_reference, forms=tuple(members))
    scalars = {m for m in members if isinstance(m, type)}
    sequences = [m for m in members if typing.get_origin(m) in _SEQUENCE_ORIGINS]
    mappings = [m for m in members if typing.get_origin(m) in (Mapping, dict)]
    if len(scalars) + len(sequences) + len(mappings) != len(members):
        return None
    if mappings:
        if len(members) != 1 or len(typing.get_args(mappings[0])) != 2:
            return None
        return _mapping_check(_check_for(typing.get_args(mappings[0])[1], name))
    element = _scalar_check(scalars, name) if scalars else None
    if scalars and element is None:
        return None
    if not sequences:
        return element
    args = [typing.get_args(s) for s in sequences]
    if len(sequences) != 1 or len(args[0]) != 1:
        return None
    item = _scalar_check({args[0][0]}, name) if isinstance(args[0][0], type) else None
    if item is None or (element is not None and scalars != {args[0][0]}):
        return None
    return _sequence_check(item, name, scalar_allowed=element is not None)


def _scalar_check(scalars: set[type], name: str) -> Check | None:
    if scalars == {str}:
        return _check_str
    if scalars == {bool}:
        return _check_bool
    if scalars == {int}:
        low, high = _int_range(name)
        return functools.partial(_check_int_in, low=low, high=high)
    if scalars in ({float}, {float, int}):
        if "dropout" in name:
            return _check_dropout
        return functools.partial(_check_float_in, low=0.0 if name.endswith("std") else None)
    return None


def _int_range(name: str) -> tuple[int, int]:
    """The valid range of an int argument, from what its name says it is."""
    if name == "seed" or name.endswith("_seed"):
        return _SEED_RANGE
    if name.startswith("num_") or "_num_" in name:
        return 1, MAX_COUNT
    size_suffixes = ("_dim", "_dims", "channel", "channels", "_height", "_width", "_length")
    if name.endswith((*size_suffixes, "shape", "shapes")) or name in (
        "kernel_size",
        "feature_dimension",
    ):
        return 1, MAX_SIZE
    return -MAX_SIZE, MAX_SIZE


def _check_int_in(owner: str, name: str, value: Any, *, low: int, high: int) -> None:
    check_int(owner, name, value, low=low, high=high)


def _check_float_in(owner: str, name: str, value: Any, *, low: float | None) -> None:
    check_finite_float(owner, name, value, low=low)


def _check_dropout(owner: str, name: str, value: Any) -> None:
    check_probability(owner, name, value)


def _is_reference(member: Any) -> bool:
    """Whether ``member`` is one of the forms naming a class or function: a string (a name),
    ``type[X]`` or ``Callable[...]``; a union of only these is checked by kind."""
    return member in (str, type) or typing.get_origin(member) in (type, Callable)


def _check_reference(owner: str, name: str, value: Any, *, forms: tuple[Any, ...]) -> None:
    if isinstance(value, str) and str in forms:
        return
    if isinstance(value, type) and any(f is type or typing.get_origin(f) is type for f in forms):
        return
    if callable(value) and any(typing.get_origin(f) is Callable for f in forms):
        return
    wanted = [
        "a name (string)"
        if f is str
        else "a class"
        if typing.get_origin(f) is type
        else "a callable"
        for f in forms
    ]
    raise InvalidKwargsError(
        f"{owner}: argument '{name}' must be {' or '.join(dict.fromkeys(wanted))}; got "
        f"{_given(value)}."
    )


def _check_str(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidKwargsError(
            f"{owner}: argument '{name}' must be a string; got {_given(value)}."
        )


def _check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool) and type(value).__name__ != "bool_":  # numpy's bool
        raise InvalidKwargsError(
            f"{owner}: argument '{name}' must be true or false; got {_given(value)}."
        )


def _sequence_check(item: Check, name: str, *, scalar_allowed: bool) -> Check:
    def check(owner: str, what: str, value: Any) -> None:
        if scalar_allowed and not isinstance(value, Collection | str | bytes):
            item(owner, what, value)
            return
        # Any sized collection (a list, a tuple, torch.Size, a numpy array), never an
        # iterator: checking one would consume it before the component sees it.
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Collection):
            raise InvalidKwargsError(
                f"{owner}: argument '{what}' must be a list{' (or one value)' * scalar_allowed}; "
                f"got {_given(value)}."
            )
        value = list(value)
        if len(value) > MAX_COUNT:
            raise ConfigError(
                f"{owner}: argument '{what}' has {len(value):,} entries; at most "
                f"{MAX_COUNT} are allowed."
            )
        for index, entry in enumerate(value):
            item(owner, f"{what}[{index}]", entry)
        if name.endswith("shape") or name.endswith("shapes"):
            _check_shape_size(owner, what, value)

    return check


def _check_shape_size(owner: str, what: str, shape: Sequence[int]) -> None:
    elements = math.prod(int(d) for d in shape)
    if elements > MAX_SHAPE_ELEMENTS:
        raise ConfigError(
            f"{owner}: argument '{what}' describes {elements:,} values per sample; at most "
            f"{MAX_SHAPE_ELEMENTS:,} are allowed. Check the shape {list(shape)}."
        )


def _mapping_check(inner: Check | None) -> Check:
    # Keys are the component's to check: it knows what they name (observation keys, groups).
    def check(owner: str, what: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise InvalidKwargsError(
                f"{owner}: argument '{what}' must be a dict (a JSON object); got {_given(value)}."
            )
        for key, entry in value.items():
            if inner is None:
                continue
            if entry is None:
                raise InvalidKwargsError(
                    f"{owner}: argument '{what}' maps {key!r} to None; give a value or "
                    f"leave the key out."
                )
            inner(owner, f"{what}[{key!r}]", entry)

    return check


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _given(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{text} ({type(value).__name__})"


_SHAPE_CHECK = _sequence_check(
    functools.partial(_check_int_in, low=1, high=MAX_SIZE), "shape", scalar_allowed=False
)
