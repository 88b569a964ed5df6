"""Loading robomimic weights into obsnets networks, strictly.

obsnets networks keep robomimic's module structure, so a robomimic ``state_dict`` (its
``model["nets"][...]`` entries, or a parity fixture's weights) has exactly the keys the obsnets
network expects, including robomimic's duplicated aliases (``backbone.*`` and ``nets.0.*``).
Loading is strict: every key must be used and every entry of the network filled, or
:class:`StateDictMismatchError` lists what is missing, unexpected or of the wrong shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from obsnets.errors import ObsnetsError

__all__ = ["StateDictMismatchError", "load_robomimic_state_dict"]

_LISTED = 20  # keys shown per problem before "... and N more"


class StateDictMismatchError(ObsnetsError, KeyError):
    """A robomimic state_dict does not fit the obsnets network it is loaded into.

    Attributes:
        missing: Network keys the state_dict does not provide.
        unexpected: state_dict keys the network does not have.
        shape_mismatches: key -> (shape in the state_dict, shape in the network).
        conflicting_aliases: groups of keys naming one tensor of the network but given
            different values.
    """

    def __init__(
        self,
        message: str,
        missing: list[str],
        unexpected: list[str],
        shape_mismatches: dict[str, tuple[list[int], list[int]]],
        conflicting_aliases: list[list[str]],
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected
        self.shape_mismatches = shape_mismatches
        self.conflicting_aliases = conflicting_aliases

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""

    @classmethod
    def describing(
        cls,
        title: str,
        missing: list[str],
        unexpected: list[str],
        shape_mismatches: dict[str, tuple[list[int], list[int]]],
        conflicting_aliases: list[list[str]],
        advice: str,
    ) -> StateDictMismatchError:
        """The error with its message: ``title``, a listing per kind of problem, ``advice``.

        Args:
            title: First line, naming what was loaded into what.
            missing: See the class attributes; so are the next three.
            unexpected: State_dict keys the network does not have.
            shape_mismatches: key -> (shape in the state_dict, shape in the network).
            conflicting_aliases: Groups of keys naming one tensor, given different values.
            advice: Last line: what to check or do.
        """
        parts = [title]
        if missing:
            parts.append(_listing("missing from the state_dict", missing))
        if unexpected:
            parts.append(_listing("unexpected (not in the network)", unexpected))
        if shape_mismatches:
            shapes = [f"{k}: {tuple(a)} vs {tuple(b)}" for k, (a, b) in shape_mismatches.items()]
            parts.append(_listing("shape mismatches (state_dict vs network)", shapes))
        if conflicting_aliases:
            groups = [" = ".join(g) for g in conflicting_aliases]
            parts.append(_listing("aliases of one tensor with different values", groups))
        parts.append(advice)
        return cls("\n".join(parts), missing, unexpected, shape_mismatches, conflicting_aliases)

    def renamed(
        self, rename: Callable[[str], str], title: str, advice: str
    ) -> StateDictMismatchError:
        """The same mismatch with every key passed through ``rename``, e.g. to name keys as
        the file holding them does; ``title`` and ``advice`` as in :meth:`describing`."""
        return self.describing(
            title,
            [rename(k) for k in self.missing],
            [rename(k) for k in self.unexpected],
            {rename(k): shapes for k, shapes in self.shape_mismatches.items()},
            [[rename(k) for k in group] for group in self.conflicting_aliases],
            advice,
        )


def _listing(title: str, lines: list[str]) -> str:
    shown = lines[:_LISTED]
    more = f"\n    ... and {len(lines) - _LISTED} more" if len(lines) > _LISTED else ""
    return f"  {title} ({len(lines)}):\n    " + "\n    ".join(shown) + more


def _converted(value: Any, target: torch.Tensor, key: str) -> torch.Tensor:
    """``value`` as a tensor with ``target``'s dtype and device.

    robomimic checkpoints may hold other floating dtypes than the network (the parity set
    stores ResNet kernels as float8 e4m3fn, whose values convert exactly to float32);
    ``Tensor.copy_`` does not convert every such pair, so the conversion is explicit.
    """
    if not isinstance(value, torch.Tensor):
        raise ObsnetsError(
            f"load_robomimic_state_dict: entry {key!r} is a {type(value).__name__}, not a tensor."
        )
    if value.dtype != target.dtype:
        if value.is_floating_point() != target.is_floating_point() or value.is_complex():
            raise ObsnetsError(
                f"load_robomimic_state_dict: entry {key!r} has dtype {value.dtype}, which does "
                f"not convert to the network's {target.dtype}."
            )
        value = value.to(target.dtype)
    moved: torch.Tensor = value.to(target.device)
    return moved


def _alias_groups(network: nn.Module) -> list[list[str]]:
    """Groups of state_dict keys that name the same tensor (robomimic's duplicated aliases)."""
    by_tensor: dict[int, list[str]] = {}
    for key, tensor in network.state_dict(keep_vars=True).items():
        by_tensor.setdefault(id(tensor), []).append(key)
    return [keys for keys in by_tensor.values() if len(keys) > 1]


def load_robomimic_state_dict(
    network: nn.Module, state_dict: Mapping[str, Any], *, prefix: str = ""
) -> nn.Module:
    """Load robomimic weights (robomimic's key names) into an obsnets network, strictly.

    Args:
        network: The obsnets network, e.g. from :func:`obsnets_robomimic.build_network`.
        state_dict: robomimic key -> tensor. Floating tensors of another dtype (float8,
            float16, float64, ...) are converted to the dtype of the entry they fill.
        prefix: Only keys starting with it are loaded, with it removed; e.g. ``"policy."`` to
            load one network from a checkpoint's ``model["nets"]`` holding several.

    Returns:
        ``network``, with every parameter and buffer filled.

    Raises:
        StateDictMismatchError: keys missing from ``state_dict``, keys the network does not
            have, tensors whose shape differs (each listed by key with both shapes), or aliases
            of one tensor given different values. Nothing is loaded then.
    """
    given = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    expected = network.state_dict()
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes: dict[str, tuple[list[int], list[int]]] = {}
    converted: dict[str, torch.Tensor] = {}
    for key, target in expected.items():
        if key not in given:
            continue
        value = _converted(given[key], target, key)
        if value.shape != target.shape:
            shapes[key] = (list(value.shape), list(target.shape))
        converted[key] = value
    conflicts = [
        group
        for group in _alias_groups(network)
        if all(k in converted for k in group)
        and not shapes.keys() & set(group)
        and any(not torch.equal(converted[group[0]], converted[k]) for k in group[1:])
    ]
    if missing or unexpected or shapes or conflicts:
        raise StateDictMismatchError.describing(
            f"Cannot load the robomimic state_dict into {type(network).__name__}:",
            missing,
            unexpected,
            shapes,
            conflicts,
            "Check that the network was built with the same kwargs as the checkpoint's "
            "(observation shapes, layer sizes, encoder settings).",
        )
    network.load_state_dict(converted, strict=True)
    return network
