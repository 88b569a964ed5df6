"""The weights of a saved model: tensors stored once, described in config.json, checked on load.

A saved model's ``model.safetensors`` holds each tensor once (aliases recorded in config.json's
``weights.tied``), and config.json describes every stored tensor (shape, dtype, sha256), so a
corrupted file, or one from another model, is refused naming the tensor before anything is
loaded. Each tensor keeps its dtype: a float64 or float16 model reloads as such.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from obsnets.errors import ObsnetsError

__all__ = ["dedupe_tensors", "describe_tensor", "load_state", "read_weights", "tensor_digest"]


def dedupe_tensors(
    state: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split a state_dict into the tensors to store and the keys that alias one of them.

    robomimic-compatible modules register some submodules under two names; their tensors are
    stored once and the other keys recorded as aliases.

    Args:
        state: A model's state_dict.

    Returns:
        ``(tensors, tied)``: key -> contiguous CPU tensor to store, and alias key -> the
        stored key holding the same tensor.
    """
    seen: dict[tuple[int, tuple[int, ...], tuple[int, ...], torch.dtype], str] = {}
    tensors: dict[str, torch.Tensor] = {}
    tied: dict[str, str] = {}
    for key, tensor in state.items():
        identity = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)
        if tensor.numel() and identity in seen:
            tied[key] = seen[identity]
            continue
        seen[identity] = key
        tensors[key] = tensor.detach().contiguous().cpu()
    return tensors, tied


def describe_tensor(tensor: torch.Tensor, checksum: bool = True) -> dict[str, Any]:
    """What config.json records of one stored tensor.

    Args:
        tensor: The tensor, any shape.
        checksum: Also record its content's sha256 (the bytes as stored).

    Returns:
        ``{"shape": [...], "dtype": "float32"[, "sha256": hex]}``.
    """
    description: dict[str, Any] = {
        "shape": list(tensor.shape),
        "dtype": str(tensor.dtype).removeprefix("torch."),
    }
    if checksum:
        description["sha256"] = tensor_digest(tensor)
    return description


def tensor_digest(tensor: torch.Tensor) -> str:
    """The sha256 (hex) of a tensor's bytes, in C order."""
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
    return hashlib.sha256(data.numpy().data).hexdigest()


def read_weights(path: Path, data: bytes, weights: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Read a weights file and check it against config.json's description of it.

    Args:
        path: The file, for messages.
        data: Its bytes (read once, with config.json, from one snapshot of the folder).
        weights: config.json's ``weights`` entry: ``tensors`` (key -> description, see
            :func:`describe_tensor`) and ``tied`` (alias key -> stored key).

    Returns:
        Every state_dict key, aliases included -> its tensor (on the CPU).

    Raises:
        ObsnetsError: the file is unreadable, or a tensor is missing, unexpected, of another
            shape or dtype, or does not match its checksum.
    """
    try:
        stored = load_safetensors(data)
    except SafetensorError as exc:
        raise ObsnetsError(f"Cannot read weights {str(path)!r}: {exc}.") from exc
    expected = weights["tensors"]
    for key, description in expected.items():
        if key not in stored:
            raise ObsnetsError(f"Weights file {str(path)!r} lacks tensor {key!r}.")
        found = describe_tensor(stored[key], checksum=False)
        if {k: description[k] for k in found} != found:
            raise ObsnetsError(
                f"Tensor {key!r} in {str(path)!r} is {found['dtype']} {found['shape']}, but "
                f"config.json says {description['dtype']} {description['shape']}: the weights "
                f"belong to another model."
            )
    for key, description in expected.items():
        if tensor_digest(stored[key]) != description["sha256"]:
            raise ObsnetsError(
                f"Tensor {key!r} in {str(path)!r} does not match its checksum in config.json: "
                f"the file is corrupted or belongs to another model."
            )
    extra = sorted(set(stored) - set(expected))
    if extra:
        raise ObsnetsError(f"Weights file {str(path)!r} holds unexpected tensors: {extra}.")
    for alias, canonical in weights["tied"].items():  # checked: aliases are not stored
        stored[alias] = stored[canonical]
    return dict(stored)


def load_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Load ``state`` into ``model`` strictly, adopting the saved floating-point dtypes.

    Args:
        model: The rebuilt model.
        state: Every state_dict key -> its saved tensor.

    Raises:
        ObsnetsError: keys missing or unexpected, or a tensor of another shape or of a dtype
            the model's tensor cannot take (the first ten problems listed).
    """
    own = model.state_dict(keep_vars=True)
    problems = [f"missing {k!r}" for k in own if k not in state]
    problems += [f"unexpected {k!r}" for k in state if k not in own]
    problems += [
        f"{k!r} has shape {list(state[k].shape)}, the model expects {list(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems += [
        f"{k!r} is {state[k].dtype}, the model's is {own[k].dtype}"
        for k in own
        if k in state and not _adoptable(own[k].dtype, state[k].dtype)
    ]
    if problems:
        raise ObsnetsError(
            f"Saved weights do not fit the rebuilt {type(model).__name__}: "
            + "; ".join(problems[:10])
            + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        )
    for key, tensor in own.items():
        # The model was built in the default dtype; a float64 or float16 model reloads as
        # such. Swapping .data keeps each Parameter object, so tied parameters stay tied.
        if tensor.dtype != state[key].dtype:
            tensor.data = tensor.data.to(state[key].dtype)
    model.load_state_dict(state, strict=True)


def _adoptable(built: torch.dtype, saved: torch.dtype) -> bool:
    """Whether a tensor built as ``built`` may take the saved dtype ``saved``."""
    return built == saved or (built.is_floating_point and saved.is_floating_point)
