"""Loading never runs code: names in configs and saved models import only declared modules.

Every module written here records that it ran (a marker file) the moment it is imported, so
each test can check that refused names ran nothing.
"""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import obsnets
from obsnets import (
    EncoderCore,
    NetworkBase,
    ObsnetsError,
    PluginLoadError,
    UnknownComponentError,
    build_component,
    resolve_component,
)
from obsnets.config import build_from_config
from obsnets.saving import CONFIG_FILE, load, save_pretrained

CORE = Path(obsnets.__file__).parent

MODULE_SOURCE = """
import pathlib
pathlib.Path({marker!r}).write_text("ran")

import torch
from torch import nn
from obsnets import EncoderCore, NetworkBase


class {core}(EncoderCore):
    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.linear = nn.Linear(input_shape[0], 3)

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, inputs):
        return self.linear(inputs)


class {net}(NetworkBase):
    def __init__(self, input_dim=2):
        super().__init__()
        self.linear = nn.Linear(input_dim, 3)

    def output_shape(self, input_shape=None):
        return [3]

    def example_inputs(self, batch_size):
        return {{"x": torch.zeros(batch_size, self.linear.in_features)}}

    def forward(self, x):
        return self.linear(x)
"""


class CoreByNameNet(NetworkBase):
    """Builds its encoder core from a name, as networks build core_class / backbone_class."""

    def __init__(self, input_dim=2, core_class="TrustLocalCore"):
        super().__init__()
        self.core = build_component(core_class, {"input_shape": [input_dim]}, kind="encoder_core")

    def output_shape(self, input_shape=None):
        return self.core.output_shape()

    def forward(self, x):
        return self.core(x)


class TrustLocalCore(EncoderCore):
    """The core a saved model is saved with (registered by this test module)."""

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.linear = nn.Linear(input_shape[0], 3)

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, inputs):
        return self.linear(inputs)


@pytest.fixture
def write_module(tmp_path, isolated_registry):
    """``write_module(folder, name) -> marker``: a module whose import writes ``marker``."""
    written: list[str] = []

    def write(folder: Path, name: str) -> Path:
        marker = tmp_path / f"{name}.ran"
        source = MODULE_SOURCE.format(marker=str(marker), core=f"{name}Core", net=f"{name}Net")
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return marker

    yield write
    for name in written:
        sys.modules.pop(name, None)


def _assert_not_run(name: str, marker: Path) -> None:
    assert not marker.exists(), f"{name} was imported"
    assert name not in sys.modules


def test_an_undeclared_module_is_never_imported_without_trust(write_module, tmp_path, monkeypatch):
    marker = write_module(tmp_path, "trust_side_effects")
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = [
        lambda: resolve_component("trust_side_effects:trust_side_effectsCore"),
        lambda: build_component("trust_side_effects:trust_side_effectsNet", {}),
        lambda: build_from_config({"network": "trust_side_effects:trust_side_effectsNet"}),
    ]
    for call in calls:
        with pytest.raises(UnknownComponentError) as excinfo:
            call()
        message = str(excinfo.value)
        assert "'trust_side_effects:trust_side_effects" in message
        assert "trust_code=True" in message and "import 'trust_side_effects'" in message
        _assert_not_run("trust_side_effects", marker)


def test_a_stdlib_module_with_side_effects_is_not_imported(capsys, isolated_registry):
    assert "this" not in sys.modules  # importing it prints the Zen of Python
    with pytest.raises(UnknownComponentError, match="'this:Zen'"):
        build_from_config({"network": "this:Zen"})
    assert "this" not in sys.modules
    assert capsys.readouterr().out == ""


def test_trust_code_imports_and_reaches_nested_names(write_module, tmp_path, monkeypatch):
    marker = write_module(tmp_path, "trust_opt_in")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {
        "network": CoreByNameNet.__module__ + ":CoreByNameNet",
        "kwargs": {"input_dim": 4, "core_class": "trust_opt_in:trust_opt_inCore"},
    }
    with pytest.raises(UnknownComponentError, match="trust_opt_in:trust_opt_inCore"):
        build_from_config(config)
    _assert_not_run("trust_opt_in", marker)
    net = build_from_config(config, trust_code=True)  # the nested core_class honours it
    assert marker.read_text() == "ran"
    assert type(net.core).__name__ == "trust_opt_inCore"
    assert net(torch.ones(2, 4)).shape == (2, 3)


def test_a_name_from_an_installed_plugins_package_needs_no_trust(isolated_registry):
    # A re-export at a plugin's package root is the declared class itself.
    pytest.importorskip("obsnets_visual")
    assert resolve_component("obsnets_visual:VisualCore") is resolve_component("VisualCore")


def _saved_model_with(folder: Path, edit) -> Path:
    torch.manual_seed(0)
    save_pretrained(CoreByNameNet(input_dim=2, core_class="TrustLocalCore"), folder)
    config = json.loads((folder / CONFIG_FILE).read_text())
    edit(config)
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("where", ["nested", "top-level"])
def test_code_shipped_in_a_model_folder_never_runs(write_module, tmp_path, monkeypatch, where):
    folder = tmp_path / "downloaded"

    def edit(config):
        if where == "nested":
            config["component"]["kwargs"]["core_class"] = "hook:hookCore"
        else:
            config["component"]["qualified_name"] = "hook:hookNet"
            config["component"]["kwargs"] = {}

    _saved_model_with(folder, edit)
    marker = write_module(folder, "hook")
    path_before = list(sys.path)
    with pytest.raises(UnknownComponentError, match="'hook:hook"):
        load(folder)
    _assert_not_run("hook", marker)
    assert sys.path == path_before  # loading never puts the model folder on sys.path

    # Run from inside the folder, with it on sys.path (as `python -m` does): still refused,
    # even with trust, because the module would come from the folder being loaded.
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    with pytest.raises(UnknownComponentError, match="trust_code=True"):
        load(folder)
    with pytest.raises(PluginLoadError, match="inside the folder being loaded"):
        load(folder, trust_code=True)
    with pytest.raises(PluginLoadError, match="inside the folder being loaded"):
        CoreByNameNet.from_pretrained(folder, trust_code=True)
    _assert_not_run("hook", marker)


def test_trusted_load_of_an_installed_module_works(write_module, tmp_path, monkeypatch):
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    marker = write_module(elsewhere, "trust_installed")
    monkeypatch.syspath_prepend(str(elsewhere))
    folder = _saved_model_with(
        tmp_path / "model",
        lambda c: c["component"]["kwargs"].update(core_class="trust_installed:trust_installedCore"),
    )
    with pytest.raises(UnknownComponentError, match="trust_code=True"):
        load(folder)
    _assert_not_run("trust_installed", marker)
    # The weights were saved for TrustLocalCore; the trusted class has the same layout.
    model = load(folder, trust_code=True)
    assert marker.exists() and type(model.core).__name__ == "trust_installedCore"


@pytest.mark.parametrize(
    "name", [".relative:Core", ":Core", "a..b:Core", "mod:", "mod:1x", "a:b:c"]
)
@pytest.mark.parametrize("trust", [False, True])
def test_malformed_qualified_names_are_obsnets_errors(isolated_registry, name, trust):
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component(name, trust_code=trust)
    assert repr(name) in str(excinfo.value) and "package.module:ClassName" in str(excinfo.value)


@pytest.mark.parametrize(
    ("body", "raised"),
    [
        ("raise SystemExit(3)", "SystemExit"),
        ("raise RuntimeError('module is broken')", "RuntimeError"),
        ("from . import sibling", "ImportError"),
    ],
)
def test_whatever_a_trusted_import_raises_becomes_an_obsnets_error(
    isolated_registry, tmp_path, monkeypatch, body, raised
):
    (tmp_path / "trust_broken_mod.py").write_text(body + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginLoadError) as excinfo:
        resolve_component("trust_broken_mod:Core", trust_code=True)
    assert "'trust_broken_mod:Core'" in str(excinfo.value) and raised in str(excinfo.value)
    assert isinstance(excinfo.value, ObsnetsError)
    sys.modules.pop("trust_broken_mod", None)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_registry_and_plugin_discovery_depend_one_way():
    assert "obsnets.plugins" not in _imported_modules(CORE / "registry.py")
    assert "obsnets.registry" in _imported_modules(CORE / "plugins.py")
    assert _imported_modules(CORE / "trust.py") & {"obsnets.registry", "obsnets.plugins"} == set()


def test_cli_refuses_undeclared_names_unless_trusted(write_module, tmp_path, run_cli):
    marker = write_module(tmp_path, "trust_cli_mod")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"network": "trust_cli_mod:trust_cli_modNet"}))
    env = {"PYTHONPATH": str(tmp_path)}
    refused = run_cli("build", str(config), env=env)
    assert refused.returncode == 2 and "--trust-code" in refused.stderr
    assert not marker.exists()
    trusted = run_cli("build", str(config), "--trust-code", env=env)
    assert trusted.returncode == 0, trusted.stderr
    assert marker.exists() and "trust_cli_modNet" in trusted.stdout


def test_inspect_flags_undeclared_modules(tmp_path, run_cli):
    folder = _saved_model_with(
        tmp_path, lambda c: c["component"]["kwargs"].update(core_class="hook:hookCore")
    )
    result = run_cli("inspect", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    imports = {row["name"]: row for row in json.loads(result.stdout)["imports"]}
    assert imports["hook:hookCore"]["module"] == "hook"
    assert imports["hook:hookCore"]["source"].startswith("UNDECLARED")
    text = run_cli("inspect", str(folder)).stdout
    assert "hook:hookCore" in text and "UNDECLARED: loading needs --trust-code" in text


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("pkg", "pkg"),
        ("pkg.sub.module", "pkg"),
        ("pkg.sub:Outer.Inner", "pkg"),
        ("pkg:obj", "pkg"),  # an entry-point value
    ],
)
def test_top_level_package_of_a_module_or_qualified_name(name, package):
    from obsnets.trust import top_level_package

    assert top_level_package(name) == package


def test_inspect_reports_the_trust_rule_that_loading_applies(isolated_registry):
    from obsnets.cli.needed_imports import UNDECLARED, needed_imports
    from obsnets.registry import registry

    # obsnets.mimo re-exports the core plugin's MIMO_MLP (declared as obsnets.mimo.mimo_mlp:...)
    reexport, undeclared = "obsnets.mimo:MIMO_MLP", "trust_nowhere_pkg.sub:NowhereCore"
    config = {"component": {"qualified_name": reexport, "kwargs": {"core_class": undeclared}}}
    rows = {row["name"]: (row["module"], row["source"]) for row in needed_imports(config)}
    assert rows == {
        reexport: ("obsnets.mimo", "inside an installed plugin's package"),
        undeclared: ("trust_nowhere_pkg.sub", UNDECLARED),
    }
    assert registry.is_in_plugin_package(reexport)
    assert not registry.is_in_plugin_package(undeclared)
    assert resolve_component(reexport).__name__ == "MIMO_MLP"
    with pytest.raises(UnknownComponentError, match="trust_code=True"):
        resolve_component(undeclared)
    assert "trust_nowhere_pkg" not in sys.modules
