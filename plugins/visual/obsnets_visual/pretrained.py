"""Finding and reading pretrained weights from local files; obsnets never downloads.

``pretrained=True`` looks for torchvision's own file name in the torch hub cache
(``torch.hub.get_dir() / "checkpoints"``, i.e. ``$TORCH_HOME/hub/checkpoints``), where
``torchvision`` stores what it downloads. ``pretrained="/path/to/file"`` reads that file. Files
are read with ``torch.load(..., weights_only=True)`` or, for ``.safetensors``, with safetensors.

Inside :func:`obsnets.building.skip_pretrained_weights` (``obsnets.load`` rebuilding a saved
model, whose own weights replace these) nothing is read, so the file need not exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from obsnets.building import pretrained_weights_skipped
from obsnets.errors import ConfigError

__all__ = [
    "Pretrained",
    "hub_checkpoint_dir",
    "load_pretrained",
    "load_weights_file",
    "resolve_weights_file",
]

Pretrained = Union[bool, str, "os.PathLike[str]"]
"""``False`` (random init), ``True`` (torchvision's file from the hub cache) or a file path."""


def hub_checkpoint_dir() -> Path:
    """The folder torchvision downloads weights to: ``torch.hub.get_dir() / "checkpoints"``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_weights_file(component: str, pretrained: Pretrained, url: str) -> Path | None:
    """Return the local weights file ``pretrained`` designates, or ``None`` for no weights.

    Args:
        component: Name used in messages, e.g. ``"ResNet18Conv"``.
        pretrained: ``False``, ``True`` or a path (see :data:`Pretrained`).
        url: The URL torchvision would download the weights from; its file name is what
            ``pretrained=True`` looks for in the hub cache.

    Raises:
        ConfigError: the file is not there (the message says where it looked and how to
            provide it), or ``pretrained`` is neither a bool nor a path.
    """
    if pretrained is False or pretrained is None:
        return None
    file_name = url.rsplit("/", 1)[-1]
    if pretrained is True:
        path = hub_checkpoint_dir() / file_name
        if path.is_file():
            return path
        raise ConfigError(
            f"{component}(pretrained=True) needs the ImageNet weights file {file_name!r}, "
            f"but it is not in the torch hub cache {str(path.parent)!r} "
            f"(torch.hub.get_dir() + '/checkpoints'; set TORCH_HOME to move it). obsnets never "
            f"downloads weights: download {url} into that folder, or pass "
            f"pretrained='/path/to/{file_name}' (a state_dict saved with torch.save, or a "
            f".safetensors file)."
        )
    if isinstance(pretrained, (str, os.PathLike)):
        path = Path(pretrained).expanduser()
        if path.is_file():
            return path
        raise ConfigError(
            f"{component}(pretrained={str(pretrained)!r}): no such file. Pass the path of a "
            f"state_dict file (torch.save or .safetensors; torchvision's is {file_name!r}, "
            f"from {url}), or pretrained=True to use the torch hub cache "
            f"{str(hub_checkpoint_dir())!r}."
        )
    raise ConfigError(
        f"{component}: pretrained must be False, True or a file path; got "
        f"{type(pretrained).__name__} {pretrained!r}."
    )


def load_weights_file(component: str, path: Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from a ``.safetensors`` file or a ``torch.save`` file, safely.

    Args:
        component: Name used in messages.
        path: The file.

    Raises:
        ConfigError: the file cannot be read as a state_dict of tensors.
    """
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(
            f"{component}: cannot read weights file {str(path)!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(
            f"{component}: {str(path)!r} does not hold a state_dict (a mapping of names to "
            f"tensors); got {type(state).__name__}."
        )
    return dict(state)


def load_pretrained(
    component: str, model: torch.nn.Module, pretrained: Pretrained, url: str
) -> bool:
    """Load weights into a torchvision model if ``pretrained`` asks for them.

    Args:
        component: Name used in messages.
        model: The torchvision model, with its classification head (the file's layout).
        pretrained: ``False``, ``True`` or a path (see :data:`Pretrained`).
        url: torchvision's download URL for the weights (gives the cached file name).

    Returns:
        Whether weights were loaded (never inside
        :func:`obsnets.building.skip_pretrained_weights`).

    Raises:
        ConfigError: missing file, unreadable file, or keys/shapes that do not fit ``model``.
    """
    if pretrained_weights_skipped():
        return False
    path = resolve_weights_file(component, pretrained, url)
    if path is None:
        return False
    state = load_weights_file(component, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(
            f"{component}: weights in {str(path)!r} do not fit the model "
            f"(expected torchvision's state_dict layout): {exc}"
        ) from exc
    return True
