"""Whether a model is what its saved config rebuilds: checked before a save writes anything.

A saved model is its constructor arguments plus its weights, so it loads back only if those
arguments build the same module tree. A model changed after construction (a submodule
replaced by another class, parameters added, removed or tied; an ``ObservationEncoder``
records its ``register_obs_key`` calls as ``obs_keys``) would be written and then refused at load,
or worse, load as something else. :func:`check_rebuilds_same` builds a copy from the config
that would be saved (on the ``meta`` device, so no memory is filled and no random numbers are
drawn) and compares, path by path, the module classes, the state_dict keys, shapes and dtypes,
and which entries share a tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from obsnets.errors import ConfigError, ObsnetsError

__all__ = ["check_rebuilds_same"]

_SHOWN = 6


def check_rebuilds_same(model: torch.nn.Module, build: Callable[[], torch.nn.Module]) -> None:
    """Raise unless ``build()`` makes a module with the same structure as ``model``.

    Floating-point dtypes may differ (a model moved to float64 is rebuilt in the default
    dtype and takes the saved dtype at load); everything else must match.

    Args:
        model: The model about to be saved.
        build: Builds the model from the config that would be saved, as loading would.

    Raises:
        ConfigError: the config does not build (the loading error is quoted), or builds a
            model of another structure (the first differences are listed).
    """
    name = type(model).__name__
    try:
        rebuilt = _build_without_data(build)
    except ObsnetsError as exc:
        raise ConfigError(
            f"Not saving {name}: its saved config would not load back ({exc}). Nothing was written."
        ) from exc
    differences = _differences(model, rebuilt)
    if differences:
        shown = "; ".join(differences[:_SHOWN])
        more = f"; and {len(differences) - _SHOWN} more" if len(differences) > _SHOWN else ""
        raise ConfigError(
            f"Not saving {name}: it differs from the {name} its constructor arguments rebuild "
            f"(what loading would make): {shown}{more}. It was changed after "
            f"construction (modules registered, replaced, added or removed, parameters tied or "
            f"untied). Build it completely from constructor arguments, or save its "
            f"state_dict with your own code. Nothing was written."
        )


def _build_without_data(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        try:
            with torch.device("meta"):
                return build()
        except ObsnetsError:
            raise
        except Exception:  # a constructor that computes with its tensors: build for real
            pass
        try:
            return build()
        except ObsnetsError:
            raise
        except Exception as exc:  # any failure here would also fail the load
            raise ObsnetsError(f"{type(exc).__name__}: {exc}") from exc


def _differences(model: torch.nn.Module, rebuilt: torch.nn.Module) -> list[str]:
    found: list[str] = []
    mine, theirs = _modules(model), _modules(rebuilt)
    for path in mine.keys() - theirs.keys():
        found.append(f"module {_label(path)} ({mine[path].__name__}) is not in the rebuilt one")
    for path in theirs.keys() - mine.keys():
        found.append(f"the rebuilt one has module {_label(path)} ({theirs[path].__name__})")
    for path in mine.keys() & theirs.keys():
        if mine[path] is not theirs[path]:
            found.append(
                f"module {_label(path)} is a {mine[path].__name__}, in the rebuilt one a "
                f"{theirs[path].__name__}"
            )
    found.sort()
    state, built = model.state_dict(keep_vars=True), rebuilt.state_dict(keep_vars=True)
    found += [f"state_dict entry {k!r} is not in the rebuilt one" for k in state if k not in built]
    found += [f"the rebuilt one has state_dict entry {k!r}" for k in built if k not in state]
    for key in state.keys() & built.keys():
        have, want = state[key], built[key]
        if have.shape != want.shape:
            found.append(
                f"{key!r} has shape {list(have.shape)}, in the rebuilt one {list(want.shape)}"
            )
        elif have.dtype != want.dtype and not (
            have.dtype.is_floating_point and want.dtype.is_floating_point
        ):
            found.append(f"{key!r} is {have.dtype}, in the rebuilt one {want.dtype}")
    if _sharing(state) != _sharing(built):
        found.append(
            f"entries sharing one tensor differ: the model shares {_sharing(state) or 'none'}, "
            f"the rebuilt one {_sharing(built) or 'none'}"
        )
    return found


def _modules(model: torch.nn.Module) -> dict[str, type]:
    return {path: type(m) for path, m in model.named_modules(remove_duplicate=False)}


def _sharing(state: dict[str, Any]) -> list[list[str]]:
    """Groups of state_dict keys that hold the same tensor object."""
    groups: dict[int, list[str]] = {}
    for key, tensor in state.items():
        groups.setdefault(id(tensor), []).append(key)
    return sorted(g for g in groups.values() if len(g) > 1)


def _label(path: str) -> str:
    return repr(path) if path else "(the model itself)"
