"""Shared fixtures for the whole-project tests."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest

from obsnets import plugins
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


@dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint (name, value, dist, load)."""

    name: str
    value: str
    dist_name: str
    version: str = "1.0"
    requires: list[str] | None = None
    top_level: list[str] | None = None
    group: str = "obsnets"
    dist: object = field(init=False)

    def __post_init__(self):
        self.dist = SimpleNamespace(
            metadata={"Name": self.dist_name},
            version=self.version,
            requires=self.requires,
            read_text=self._read_text,
        )

    def _read_text(self, filename: str) -> str | None:
        """The distribution's metadata files; only top_level.txt is ever asked for."""
        if filename == "top_level.txt" and self.top_level is not None:
            return "\n".join(self.top_level) + "\n"
        return None

    def load(self):
        return importlib.import_module(self.value)


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch, isolated_registry):
    """Write plugin packages to tmp_path and make discovery see only them.

    ``fake_plugins(pkg, plugin_source, components_source=None, dist=None, requires=None,
    top_level=None)`` writes package ``pkg`` (``{pkg}`` in the sources is replaced by it) and
    declares its ``pkg.plugin`` module under an entry point named ``pkg`` of distribution
    ``dist``, whose requirements are ``requires`` and whose top_level.txt lists ``top_level``;
    ``fake_plugins.existing(name, module, dist)`` declares an installed module.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    for var in (plugins.DISABLE_ENV, plugins.LOAD_ENV):
        monkeypatch.delenv(var, raising=False)
    entry_points: list[FakeEntryPoint] = []
    written: list[str] = []

    def add(
        pkg: str,
        plugin_source: str,
        components_source: str | None = None,
        dist=None,
        requires: list[str] | None = None,
        top_level: list[str] | None = None,
    ):
        package = tmp_path / pkg
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "plugin.py").write_text(textwrap.dedent(plugin_source.format(pkg=pkg)))
        if components_source is not None:
            (package / "components.py").write_text(textwrap.dedent(components_source))
        written.append(pkg)
        entry_points.append(
            FakeEntryPoint(
                pkg,
                f"{pkg}.plugin",
                dist or pkg.replace("_", "-"),
                requires=requires,
                top_level=top_level,
            )
        )

    def existing(name: str, module: str, dist: str) -> None:
        entry_points.append(FakeEntryPoint(name, module, dist))

    add.existing = existing  # an installed module, e.g. the core's own plugin
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(entry_points))
    plugins.reset()
    yield add
    plugins.reset()
    for pkg in written:
        for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
            del sys.modules[name]
