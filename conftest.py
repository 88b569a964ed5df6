"""Test data shared by every test folder: robomimic's parity fixtures and checkpoint files.

Both live in the repository under ``tests/fixtures`` (``make fixtures`` refreshes them from
``../shared``), so a fresh clone tests itself. ``$OBSNETS_PARITY_DIR`` and
``$OBSNETS_ROBOMIMIC_CHECKPOINTS`` point the tests at another copy.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

FIXTURES = Path(__file__).resolve().parent / "tests" / "fixtures"
CHECKPOINTS_ENV = "OBSNETS_ROBOMIMIC_CHECKPOINTS"
# --import-mode=importlib puts no test folder on sys.path: load the one fixture reader by
# path, under the name tests/test_parity.py uses too, so both share one module.
_PARITY_MODULE = "obsnets_tests_parity_fixtures"


def _parity_fixtures() -> ModuleType:
    if _PARITY_MODULE not in sys.modules:
        path = FIXTURES.parent / "parity_fixtures.py"
        spec = importlib.util.spec_from_file_location(_PARITY_MODULE, path)
        assert spec is not None and spec.loader is not None, path  # the file is in the repo
        module = importlib.util.module_from_spec(spec)
        sys.modules[_PARITY_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[_PARITY_MODULE]


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


@pytest.fixture(scope="session")
def parity_case() -> Callable[[str], object]:
    """``parity_case(name)``: one parity case, read (``ParityCase`` of tests/parity_fixtures.py).

    A missing case fails the test: the fixtures are part of the repository.
    """
    fixtures = _parity_fixtures()

    def load(name: str) -> object:
        _required(fixtures.parity_dir() / name / "case.json", fixtures.PARITY_ENV)
        return fixtures.load_parity_case(name)

    return load


@pytest.fixture(scope="session")
def checkpoint_path() -> Callable[[str], Path]:
    """``checkpoint_path(name)``: robomimic's checkpoint file ``<name>.pth``."""
    return lambda name: _required(checkpoints_dir() / f"{name}.pth", CHECKPOINTS_ENV)
