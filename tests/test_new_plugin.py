"""``obsnets new-plugin``: generated distributions install, pass their own tests and are nameable.

The session fixture generates one plugin of every kind with a name unique to this run,
pip-installs them (editable, into this environment), and uninstalls them afterwards so the
environment is left as it was.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path

import pytest

from obsnets import hookspecs
from obsnets.errors import ConfigError
from obsnets.scaffold import SCAFFOLD_KINDS, create_plugin, plugin_names
from obsnets.testing import CHECKS

RUN = uuid.uuid4().hex[:6]
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-authoring.md"


def obsnets_cli(*args, cwd=None):
    """Run ``obsnets ARGS`` in a fresh interpreter (fresh plugin discovery)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    return subprocess.run(
        [sys.executable, "-m", "obsnets.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def pip(*args):
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """kind -> (names, directory) of one installed generated plugin per kind."""
    root = tmp_path_factory.mktemp("new_plugins")
    plugins = {}
    for kind in SCAFFOLD_KINDS:  # the command line itself is tested below, once
        names, directory, _ = create_plugin(f"t{RUN}_{kind.replace('_', '')}", kind, root / kind)
        plugins[kind] = (names, directory)
    editable = [arg for _, path in plugins.values() for arg in ("-e", str(path))]
    installed = pip("install", "-q", "--no-deps", "--no-build-isolation", *editable)
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        yield plugins
    finally:
        pip("uninstall", "-y", "-q", *(names.distribution for names, _ in plugins.values()))
        from obsnets import plugins as discovery

        discovery.reset()  # forget them if this process discovered them while installed


def test_names_give_every_spelling_derived_the_same_way():
    names = plugin_names("depth-edges", "backbone")
    assert (names.plugin, names.distribution, names.package) == (
        "depth_edges",
        "obsnets-depth-edges",
        "obsnets_depth_edges",
    )
    assert (names.class_name, names.module, names.kind) == (
        "DepthEdgesConv",
        "depth_edges_conv",
        "backbone",
    )
    assert plugin_names("proprio", "encoder-core").class_name == "ProprioCore"
    assert plugin_names("x", "pool", class_name="HTTPPool").module == "http_pool"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("DepthEdges", "not a valid plugin name"),
        ("2d_edges", "starting with a letter"),
        ("depth__edges", "single '_' or '-' between words"),
        ("obsnets_edges", "without the 'obsnets' prefix ('edges')"),
        ("visual", "taken by obsnets itself"),
        ("a" * 21, "keep plugin names to 20"),
    ],
)
def test_invalid_names_are_refused_with_the_fix(name, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        plugin_names(name, "pool")


def test_the_command_reports_an_invalid_name_and_writes_nothing(tmp_path):
    result = obsnets_cli("new-plugin", "Depth-Edges", "--kind", "pool", cwd=tmp_path)
    assert result.returncode == 2
    assert "obsnets new-plugin: error: 'Depth-Edges' is not a valid plugin name" in result.stderr
    assert "(e.g. 'depth_edges')" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_class_name_already_registered_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="already exists"):
        create_plugin("mine", "backbone", tmp_path / "x", class_name="MIMO_MLP")


def test_an_existing_directory_is_never_overwritten(tmp_path):
    target = tmp_path / "obsnets-edges"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = obsnets_cli("new-plugin", "edges", "--kind", "backbone", cwd=tmp_path)
    assert result.returncode == 2
    assert "already exists and is not an empty directory" in result.stderr
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert (target / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obsnets-edges"]  # no leftovers


def test_an_empty_directory_and_dir_option_are_accepted(tmp_path):
    target = tmp_path / "here"
    target.mkdir()
    result = obsnets_cli("new-plugin", "edges", "--kind", "pool", "--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert "Created obsnets-edges" in result.stdout
    assert "python -m pip install -e" in result.stdout
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [
        "CONTRIBUTING.md",
        "LICENSE",
        "README.md",
        "obsnets_edges/__init__.py",
        "obsnets_edges/edges_pool.py",
        "obsnets_edges/plugin.py",
        "obsnets_edges/py.typed",
        "pyproject.toml",
        "tests/test_edges_plugin.py",
        "tests/test_edges_pool.py",
    ]
    pyproject = (target / "pyproject.toml").read_text()
    assert 'name = "obsnets-edges"' in pyproject
    assert '[project.entry-points.obsnets]\nedges = "obsnets_edges.plugin"' in pyproject
    assert 'dependencies = ["obsnets>=0.1,<0.2"]' in pyproject
    assert "| `EdgesPool` | pool |" in (target / "README.md").read_text()


def test_the_plugin_folder_gets_the_permissions_of_any_new_folder(tmp_path):
    previous = os.umask(0o022)
    try:
        create_plugin("shades", "pool", directory=tmp_path / "shades")
        (tmp_path / "plain").mkdir()
    finally:
        os.umask(previous)
    mode = (tmp_path / "shades").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain").stat().st_mode & 0o777 == 0o755


def test_unknown_kind_lists_the_kinds(tmp_path):
    result = obsnets_cli("new-plugin", "edges", "--kind", "backbones", cwd=tmp_path)
    assert result.returncode == 2
    assert "backbone, encoder-core, pool, randomizer, network" in result.stderr.replace("'", "")


def test_generated_code_is_lint_clean_for_every_kind(tmp_path):
    pytest.importorskip("ruff")
    for kind in SCAFFOLD_KINDS:
        create_plugin("abcdefghij_klmnopqrs", kind, tmp_path / kind)  # the longest name
        create_plugin("ab", kind, tmp_path / f"short_{kind}")
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", str(tmp_path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    form = subprocess.run(
        [*ruff, "format", "--check", str(tmp_path)], capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout


def test_generated_plugins_install_and_obsnets_plugins_lists_them(generated):
    result = obsnets_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    for kind, (names, _) in generated.items():
        plugin = listed[names.plugin]
        assert plugin["status"] == "loaded", plugin
        assert plugin["distribution"] == names.distribution
        assert plugin["version"] == "0.1.0"
        assert plugin["components"] == [{"kind": kind, "name": names.class_name}]
        assert metadata.version(names.distribution) == "0.1.0"


def _pytest(*args, cwd):
    registered = any(ep.name == "obsnets" for ep in metadata.entry_points(group="pytest11"))
    # obsnets' pytest plugin comes from its pytest11 entry point (test_conformance.py checks
    # that it is declared); without it, load it by hand so these tests still check the rest.
    load = [] if registered else ["-p", "pytest_obsnets"]
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *load, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def test_generated_plugin_tests_pass(generated):
    # As its author would: `pytest` in the plugin's folder, with its own settings.
    names, directory = generated["network"]
    result = _pytest(cwd=directory)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"test_conformance[{names.class_name}-gradients] PASSED" in result.stdout
    # The other kinds in one run (same settings as their pyproject.toml), to save start-ups.
    others = [directory for kind, (_, directory) in generated.items() if kind != "network"]
    result = _pytest(
        "-W",
        "error",
        "--import-mode=importlib",
        *(str(d / "tests") for d in others),
        cwd=directory.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for kind, (names, _) in generated.items():
        if kind != "network":
            assert f"test_conformance[{names.class_name}-state_dict] PASSED" in result.stdout
    assert " failed" not in result.stdout.splitlines()[-1]


def test_a_config_names_the_generated_components(generated, tmp_path):
    net, core, pool, conv, rand = (
        generated[k][0].class_name
        for k in ("network", "encoder_core", "pool", "backbone", "randomizer")
    )
    network_config = {
        "network": net,
        "kwargs": {"obs_shapes": {"eef_pos": [3], "object": [4]}, "output_dim": 5},
    }
    mimo_config = {
        "network": "MIMO_MLP",
        "kwargs": {
            "input_obs_group_shapes": {"obs": {"image": [3, 24, 24], "proprio": [6]}},
            "output_shapes": {"action": [2]},
            "layer_dims": [16],
            "encoder_kwargs": {
                "rgb": {
                    "core_class": "VisualCore",
                    "core_kwargs": {
                        "backbone_class": conv,
                        "pool_class": pool,
                        "feature_dimension": 8,
                    },
                    "obs_randomizer_class": rand,
                    "obs_randomizer_kwargs": {"num_samples": 2},
                },
                "low_dim": {"core_class": core, "core_kwargs": {"feature_dimension": 4}},
            },
        },
        "obs_modalities": {"rgb": ["image"], "low_dim": ["proprio"]},
    }
    for name, config in (("network", network_config), ("mimo", mimo_config)):
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
    result = obsnets_cli("build", str(tmp_path / "network.json"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["forward_output"] == [2, 5]
    code = f"""
import json, sys, torch
from obsnets.config import build_from_config, load_config
net = build_from_config(load_config({str(tmp_path / "mimo.json")!r})).train()
kinds = {{type(m).__name__ for m in net.modules()}}
out = net(obs={{"image": torch.rand(2, 3, 24, 24), "proprio": torch.randn(2, 6)}})
print(json.dumps({{"kinds": sorted(kinds), "action": list(out["action"].shape)}}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["action"] == [2, 2]
    assert {conv, pool, rand, core} <= set(report["kinds"])


def test_the_authoring_guide_covers_every_hook_kind_and_check():
    guide = GUIDE.read_text()
    hooks = [name for name in vars(hookspecs) if name.startswith("obsnets_")]
    assert len(hooks) >= 3
    for hook in hooks:
        assert f"### `{hook}(" in guide, f"docs/plugin-authoring.md does not document {hook}"
    for check in CHECKS:
        assert f"| `{check}` |" in guide, f"docs/plugin-authoring.md misses check {check!r}"
    for kind in SCAFFOLD_KINDS:
        assert f"`{kind.replace('_', '-')}`" in guide
