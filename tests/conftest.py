"""Shared fixtures for the whole-project tests."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from obsnets.registry import registry

REPO = Path(__file__).resolve().parents[1]
TEST_PLUGIN = REPO / "tests" / "fixtures" / "obsnets-testplugin"


@pytest.fixture
def isolated_registry():
    """The global registry, with every registration made by the test undone afterwards."""
    with registry.isolated() as reg:
        yield reg


@pytest.fixture(scope="session")
def test_plugin_installed() -> str:
    """pip-install the test plugin distribution into this environment (once per session)."""
    try:
        metadata.distribution("obsnets-testplugin")
    except metadata.PackageNotFoundError:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-e",
                str(TEST_PLUGIN),
            ],
            check=True,
        )
    return "obsnets-testplugin"


@pytest.fixture
def run_cli():
    """``run_cli(*args, env=None)`` runs ``obsnets ARGS`` in a fresh interpreter (fresh
    discovery) and returns the completed process with its output."""
    return _run_cli


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "obsnets.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        check=False,
    )
