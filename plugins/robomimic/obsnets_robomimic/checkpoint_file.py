"""Reading a robomimic checkpoint file (``.pth``) as data, never as code.

robomimic's training script writes ``torch.save(dict)`` files whose pickle holds only plain
data, tensors and, in runs with rollouts enabled, numpy float scalars
(``variable_state.best_return``). The file is read with ``torch.load(weights_only=True)`` and
an allow-list of exactly the numpy scalar and dtype types; any other global is refused with an
error naming it, before it could be called. The top-level structure is then checked field by
field.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.errors import ObsnetsError

__all__ = [
    "CheckpointFile",
    "CheckpointFormatError",
    "UnsafeCheckpointError",
    "is_robomimic_checkpoint",
    "read_checkpoint_file",
    "safe_globals",
]

_GLOBAL_NAME = re.compile(r"GLOBAL ([\w.]+)")
_BUILD_TYPE = re.compile(r"[Bb]uild (?:an instance of )?(?:<class ')?([\w.]+)")


class CheckpointFormatError(ObsnetsError, ValueError):
    """A robomimic checkpoint file that cannot be read or lacks a field robomimic writes."""


class UnsafeCheckpointError(CheckpointFormatError):
    """A checkpoint whose pickle names a type outside the plain-data allow-list."""


def safe_globals() -> list[Callable[..., Any] | tuple[Callable[..., Any], str]]:
    """The allow-list added to ``torch.load(weights_only=True)``: numpy scalars and dtypes.

    numpy pickles a scalar (``numpy.float64(1.0)``) as ``multiarray.scalar(dtype, bytes)``,
    spelled ``numpy._core.multiarray.scalar`` by numpy 2 and ``numpy.core.multiarray.scalar``
    by numpy 1, with the dtype built from ``numpy.dtype`` (numpy 1) or one of the
    ``numpy.dtypes.*DType`` classes (numpy 2). These only rebuild a number from bytes.
    """
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core
    scalar = core.multiarray.scalar
    allowed: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
        (scalar, "numpy._core.multiarray.scalar"),
        (scalar, "numpy.core.multiarray.scalar"),
        np.dtype,
    ]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25
    for name in (
        "BoolDType",
        "Int8DType",
        "Int16DType",
        "Int32DType",
        "Int64DType",
        "UInt8DType",
        "UInt16DType",
        "UInt32DType",
        "UInt64DType",
        "Float16DType",
        "Float32DType",
        "Float64DType",
    ):
        dtype_class = getattr(dtypes, name, None)
        if dtype_class is not None:
            allowed.append(dtype_class)
    return allowed


@dataclass(frozen=True)
class CheckpointFile:
    """The checked contents of a robomimic checkpoint file.

    Attributes:
        path: The file read.
        algo_name: robomimic's algorithm name (``"bc"``, ``"bcq"``, ``"cql"``, ...).
        config: The parsed experiment config (the file stores it as a JSON string).
        nets: ``model["nets"]``: state_dict of the algorithm's ``nn.ModuleDict``, keys
            prefixed by network name (``"policy.nets.mlp._model.0.weight"``).
        shape_metadata: ``ac_dim``, ``all_shapes`` (key -> processed shape, rgb as
            ``(C, H, W)``), ``all_obs_keys``, ``use_images``, ``use_depths``.
        env_metadata: The environment description robomimic stores (``env_name``, ...).
        obs_normalization_stats: key -> ``{"offset", "scale"}`` nested lists, or ``None``.
        action_normalization_stats: key -> ``{"offset", "scale"}`` nested lists, or ``None``.
        variable_state: Training bookkeeping (``epoch``, ``best_return``, ...), or ``None``.
        ema: ``model["ema"]``: the state_dict of the exponential-moving-average copy of the
            networks (robomimic's ``DiffusionPolicyUNet`` stores ``ema.averaged_model``, keys as
            in ``nets``), or ``None`` when the file has none.
    """

    path: Path
    algo_name: str
    config: dict[str, Any]
    nets: dict[str, torch.Tensor]
    shape_metadata: dict[str, Any]
    env_metadata: dict[str, Any]
    obs_normalization_stats: dict[str, Any] | None
    action_normalization_stats: dict[str, Any] | None
    variable_state: dict[str, Any] | None
    ema: dict[str, torch.Tensor] | None = None


def _refused_name(exc: Exception) -> str | None:
    """The global torch's weights-only unpickler refused, or ``None`` (a corrupt file)."""
    text = str(exc)
    found = _GLOBAL_NAME.search(text) or _BUILD_TYPE.search(text)
    return found.group(1) if found else None


def _load_pickle(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointFormatError(f"No checkpoint file at {str(path)!r}.")
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _refused_name(exc)
        if found is None:
            raise CheckpointFormatError(
                f"Cannot read {str(path)!r} as a torch checkpoint: it is not one, or it is "
                f"corrupt or truncated."
            ) from exc
        raise UnsafeCheckpointError(
            f"Refused to read {str(path)!r}: its pickle needs {found}, which is not plain data "
            f"(allowed: tensors, Python builtins, numpy scalars). Loading it could run code; "
            f"obsnets never unpickles arbitrary types. If you wrote this file yourself, "
            f"re-save it with plain data (tensors, lists, dicts)."
        ) from None  # torch's message advises weights_only=False, the unsafe way out
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise CheckpointFormatError(
            f"Cannot read {str(path)!r} as a torch checkpoint: "
            + (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
            + "."
        ) from exc


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise CheckpointFormatError(
            f"{where} has no {key!r}; robomimic's save_model writes it. Keys found: "
            f"{', '.join(map(repr, data))}."
        )
    value = data[key]
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise CheckpointFormatError(
            f"{where}[{key!r}] must be a {names}; got {type(value).__name__}."
        )
    return value


def _stats(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    stats = data.get(key)
    if stats is None:
        return None
    if not isinstance(stats, Mapping):
        raise CheckpointFormatError(
            f"{where}[{key!r}] must map each key to {{'offset', 'scale'}}; "
            f"got {type(stats).__name__}."
        )
    for name, entry in stats.items():
        for part in ("offset", "scale"):
            _field(
                entry if isinstance(entry, Mapping) else {},
                part,
                (list, torch.Tensor),
                f"{where}[{key!r}][{name!r}]",
            )
    return dict(stats)


def _nets(model: Mapping[str, Any], where: str, key: str = "nets") -> dict[str, torch.Tensor]:
    nets = _field(model, key, Mapping, where)
    for name, value in nets.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise CheckpointFormatError(
                f"{where}[{key!r}] must map parameter names to tensors; entry {name!r} is a "
                f"{type(value).__name__}."
            )
    return dict(nets)


def _config(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    text = _field(data, "config", (str, Mapping), where)
    if isinstance(text, Mapping):
        return dict(text)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointFormatError(f"{where}['config'] is not valid JSON: {exc}.") from exc
    if not isinstance(config, dict):
        raise CheckpointFormatError(
            f"{where}['config'] must be a JSON object; got {type(config).__name__}."
        )
    return config


def _shape_metadata(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    meta = dict(_field(data, "shape_metadata", Mapping, where))
    inner = f"{where}['shape_metadata']"
    _field(meta, "ac_dim", int, inner)
    shapes = _field(meta, "all_shapes", Mapping, inner)
    meta["all_shapes"] = {k: [int(d) for d in shape] for k, shape in shapes.items()}
    return meta


def read_checkpoint_file(path: str | Path) -> CheckpointFile:
    """Read and check a robomimic checkpoint without running code from it.

    Args:
        path: A ``.pth`` file written by robomimic's ``TrainUtils.save_model``.

    Returns:
        The checked contents; optimizer and scheduler states are not kept.

    Raises:
        UnsafeCheckpointError: the pickle names a type outside the allow-list (the message
            names it); nothing of it was called.
        CheckpointFormatError: the file is missing or not a torch checkpoint, or a field
            robomimic writes is missing or of the wrong type (the message names the field).
    """
    path = Path(path)
    data = _load_pickle(path)
    where = f"checkpoint {str(path)!r}"
    if not isinstance(data, Mapping):
        raise CheckpointFormatError(
            f"{where} holds a {type(data).__name__}, not the dict robomimic's save_model writes."
        )
    model = _field(data, "model", Mapping, where)
    variable_state = data.get("variable_state")
    return CheckpointFile(
        path=path,
        algo_name=_field(data, "algo_name", str, where),
        config=_config(data, where),
        nets=_nets(model, f"{where}['model']"),
        shape_metadata=_shape_metadata(data, where),
        env_metadata=dict(_field(data, "env_metadata", Mapping, where)),
        obs_normalization_stats=_stats(data, "obs_normalization_stats", where),
        action_normalization_stats=_stats(data, "action_normalization_stats", where),
        variable_state=dict(variable_state) if isinstance(variable_state, Mapping) else None,
        # robomimic writes "ema": None when the algorithm keeps no EMA copy
        ema=None if model.get("ema") is None else _nets(model, f"{where}['model']", "ema"),
    )


def is_robomimic_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` looks like a robomimic checkpoint (cheap: reads only the zip index).

    A torch zip file whose pickle mentions ``algo_name`` and ``shape_metadata``; the file is not
    unpickled. Used to recognise checkpoints passed to the ``obsnets`` CLI.
    """
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pickles) != 1:
            return False
        payload = archive.read(pickles[0])
    return b"algo_name" in payload and b"shape_metadata" in payload
