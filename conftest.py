"""Test data shared by every test folder: robomimic's parity fixtures and checkpoint files.

Both live in the repository under ``tests/fixtures`` (``make fixtures`` refreshes them from
``../shared``), so a fresh clone tests itself. ``$OBSNETS_PARITY_DIR`` and
``$OBSNETS_ROBOMIMIC_CHECKPOINTS`` point the tests at another copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

FIXTURES = Path(__file__).resolve().parent / "tests" / "fixtures"
PARITY_ENV = "OBSNETS_PARITY_DIR"
CHECKPOINTS_ENV = "OBSNETS_ROBOMIMIC_CHECKPOINTS"


def parity_dir() -> Path:
    """Where the parity fixtures are: ``$OBSNETS_PARITY_DIR``, else ``tests/fixtures/parity``."""
    return _located(PARITY_ENV, FIXTURES / "parity")


def checkpoints_dir() -> Path:
    """Where robomimic's checkpoint files are: ``$OBSNETS_ROBOMIMIC_CHECKPOINTS``, else
    ``tests/fixtures/robomimic_checkpoints``."""
    return _located(CHECKPOINTS_ENV, FIXTURES / "robomimic_checkpoints")


def _located(variable: str, default: Path) -> Path:
    override = os.environ.get(variable)
    return Path(override) if override else default


def _required(path: Path, variable: str) -> Path:
    # The data is part of the repository: a missing file is a broken checkout, not a skip.
    if not path.exists():
        pytest.fail(
            f"Test data {path} not found. It is part of the repository (tests/fixtures); "
            f"run `make fixtures` to copy it from ../shared, or set {variable} to its location."
        )
    return path


@dataclass(frozen=True)
class ParityCase:
    """One parity case as robomimic recorded it.

    Attributes:
        folder: the case folder (``case.json``, ``weights.safetensors``, ``io.safetensors``).
        spec: the parsed ``case.json``.
        weights: ``weights.safetensors`` (empty when the case has no weights).
        io: ``io.safetensors``, cloned so tests may change them in place.
    """

    folder: Path
    spec: dict[str, Any]
    weights: dict[str, torch.Tensor]
    io: dict[str, torch.Tensor]


def load_parity_case(name: str) -> ParityCase:
    """Read the parity case ``name`` (a folder of the parity fixtures)."""
    from safetensors.torch import load_file

    folder = _required(parity_dir() / name / "case.json", PARITY_ENV).parent
    weights = folder / "weights.safetensors"
    return ParityCase(
        folder=folder,
        spec=json.loads((folder / "case.json").read_text()),
        weights=dict(load_file(str(weights))) if weights.is_file() else {},
        io={key: value.clone() for key, value in load_file(str(folder / "io.safetensors")).items()},
    )


@pytest.fixture(scope="session")
def parity_case() -> Callable[[str], ParityCase]:
    """``parity_case(name)``: one parity case, read (see :class:`ParityCase`)."""
    return load_parity_case


@pytest.fixture(scope="session")
def checkpoint_path() -> Callable[[str], Path]:
    """``checkpoint_path(name)``: robomimic's checkpoint file ``<name>.pth``."""
    return lambda name: _required(checkpoints_dir() / f"{name}.pth", CHECKPOINTS_ENV)
