"""Checks on command-line arguments that run before any work: numbers in range, outputs writable.

A mistake in what the user typed is found while parsing (argparse ``type`` functions, exit
status 2 with the valid range) or before the first expensive step (an output folder that cannot
be written), never after minutes of training.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from obsnets.errors import ConfigError

__all__ = ["bounded_int", "check_writable_file", "check_writable_folder"]


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` that accepts integers from ``low`` to ``high`` (inclusive).

    Args:
        low: Smallest accepted value.
        high: Largest accepted value.

    Returns:
        A parser whose ``argparse.ArgumentTypeError`` names the range and the value given.
    """
    accepted = f"an integer from {low:,} to {high:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {accepted}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {accepted}, got {value:,}")
        return value

    return parse


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (the folder a creation would write in)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_can_create(path: Path, option: str) -> None:
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise ConfigError(
            f"{option} {str(path)!r} cannot be created: {str(existing)!r} is a file, not a "
            f"folder. Choose another {option}."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{option} {str(path)!r} cannot be created: no permission to write in "
            f"{str(existing)!r}. Choose a folder you can write to."
        )


def check_writable_folder(path: str | Path, option: str) -> None:
    """Make sure an output folder exists and is writable, or can be created.

    Args:
        path: The folder a command will write into (created if missing).
        option: How the user gave it, for the message (``"--out"``).

    Raises:
        ConfigError: ``path`` is a file, lies under a file, or is not writable.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(
                f"{option} {str(path)!r} is a file, not a folder. Choose a folder name."
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(
                f"{option} {str(path)!r}: no permission to write in this folder. "
                f"Choose a folder you can write to."
            )
        return
    _check_can_create(path, option)


def check_writable_file(path: str | Path, option: str) -> None:
    """Make sure an output file can be written (its folder is created if missing).

    Args:
        path: The file a command will write.
        option: How the user gave it, for the message (``"--out"``).

    Raises:
        ConfigError: ``path`` is a folder, lies under a file, or cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{option} {str(path)!r} is a folder; give a file name, e.g. "
            f"{str(path / 'grid.png')!r}."
        )
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(
                f"{option} {str(path)!r}: no permission to overwrite this file. "
                f"Choose another file name."
            )
        return
    _check_can_create(path, option)
