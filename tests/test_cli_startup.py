"""``import obsnets`` and the command line's cheap commands import no torch.

``obsnets --help``, ``obsnets --version`` and ``obsnets examples`` answer in a fraction of a
second because ``obsnets`` exports its torch-backed names lazily (PEP 562) and the command line
imports only the module of the command being run. Each check runs in a fresh interpreter and
reads what it left in ``sys.modules``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest

import obsnets
from obsnets.cli.exit_status import EXIT_BROKEN_PIPE
from obsnets.cli.main import COMMANDS, build_parser

REPO = Path(__file__).resolve().parents[1]


# Runs ``python -c CODE`` or ``python -m obsnets ARGS`` and, at exit (after SystemExit too),
# writes every module in sys.modules to a file. (``python -X importtime`` would miss modules
# imported through importlib.import_module, as lazy exports and commands are.)
CHILD = """
import atexit, json, runpy, sys
out, how, *rest = sys.argv[1:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
if how == "-c":
    exec(rest[0])
else:
    sys.argv = ["obsnets", *rest]
    runpy.run_module("obsnets", run_name="__main__", alter_sys=True)
"""


def imports_of(how: str, *argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -c CODE`` or ``python -m obsnets ARGV`` in a fresh interpreter.

    Returns:
        The finished process and the name of every module it imported.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.json"
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(out), how, *argv],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=False,
        )
        return done, set(json.loads(out.read_text()))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in ("torch", "numpy", "safetensors"))


def test_import_obsnets_imports_no_torch():
    done, modules = imports_of("-c", "import obsnets")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "obsnets" in modules  # the listing works: the package itself is in it
    assert heavy(modules) == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["examples"], ["examples", "reach_gmm_policy"]],
    ids=" ".join,
)
def test_cheap_commands_import_no_torch_and_no_other_command(argv):
    done, modules = imports_of("-m", *argv)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    assert heavy(modules) == []
    commands = {entry.module for entry in COMMANDS.values()}
    imported_commands = sorted(commands & modules)
    expected = ["obsnets.cli.examples_command"] if argv[0] == "examples" else []
    assert imported_commands == expected


def test_names_resolve_through_discovery_without_importing_them():
    # The registry's plugin discovery used to be installed as a side effect of the eager
    # imports; it must still run, and still import no component module.
    code = (
        "import sys, obsnets\n"
        "print(obsnets.is_component('MLP'), obsnets.is_component('VisualCore'),"
        " obsnets.is_component('NoSuchThing'), 'torch' in sys.modules)"
    )
    done, _ = imports_of("-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    visual = any(d.metadata["Name"] == "obsnets-visual" for d in metadata.distributions())
    assert done.stdout.split() == ["True", str(visual), "False", "False"]


# The names ``obsnets`` exported eagerly before it became lazy, by the module exporting them.
EXPORTED_FROM = {
    "obsnets.bases": [
        "ConvBase",
        "EncoderCore",
        "InputNormalization",
        "Module",
        "NetworkBase",
        "PoolBase",
        "PriorBase",
        "Randomizer",
    ],
    "obsnets.blocks": [
        "MLP",
        "Parameter",
        "RNN_Base",
        "Sequential",
        "Squeeze",
        "Unsqueeze",
        "time_distributed",
    ],
    "obsnets.building": ["build_component", "check_kwargs"],
    "obsnets.encoders": [
        "ObservationDecoder",
        "ObservationEncoder",
        "ObservationGroupEncoder",
        "default_encoder_kwargs",
        "obs_encoder_factory",
    ],
    "obsnets.errors": [
        "AmbiguousNameError",
        "ComponentCollisionError",
        "ComponentKindError",
        "ConfigError",
        "DisabledPluginError",
        "HubError",
        "IncompatiblePluginError",
        "InvalidKwargsError",
        "ObsnetsError",
        "PluginLoadError",
        "PluginSelectionWarning",
        "ShapeError",
        "UnknownComponentError",
    ],
    "obsnets.exporting": ["export_policy", "load_exported"],
    "obsnets.hookspecs": ["hookimpl"],
    "obsnets.hub_upload": ["push_to_hub"],
    "obsnets.mimo": ["MIMO_MLP", "RNN_MIMO_MLP"],
    "obsnets.registry": [
        "KINDS",
        "is_component",
        "list_components",
        "register",
        "registry",
        "resolve_component",
    ],
    "obsnets.saving": ["load", "save_pretrained"],
}


def test_every_exported_name_is_the_object_its_module_defines():
    listed = {name for names in EXPORTED_FROM.values() for name in names}
    assert listed | {"__version__"} == set(obsnets.__all__)
    for module_name, names in EXPORTED_FROM.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(obsnets, name) is getattr(module, name), name
    # ``registry`` is the Registry object, although ``obsnets.registry`` is also a submodule
    assert type(obsnets.registry).__name__ == "Registry"
    assert set(obsnets.__all__) <= set(dir(obsnets))
    with pytest.raises(AttributeError, match="no attribute 'NotExported'"):
        obsnets.NotExported


def test_version_lists_obsnets_and_every_plugin_distribution_with_its_version():
    done, modules = imports_of("-m", "--version")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"obsnets {obsnets.__version__} from ")
    plugin_dists = {
        ep.dist.name: ep.dist.version
        for ep in metadata.entry_points(group="obsnets")
        if ep.dist is not None and ep.dist.name != "obsnets"
    }
    shown = {line.split()[0]: line.split()[1] for line in lines[2:]}
    assert shown == plugin_dists
    # read from metadata: no plugin module was imported
    assert not [m for m in modules if m.endswith(".plugin") or m.startswith("obsnets_")]


def test_python_m_obsnets_is_the_same_command_line():
    done, _ = imports_of("-m", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: obsnets ")
    for name, entry in COMMANDS.items():
        assert f"{name} {entry.summary}" in " ".join(done.stdout.split())
    unknown, _ = imports_of("-m", "lsit")
    assert unknown.returncode == 2
    assert "invalid choice: 'lsit'" in unknown.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_table_matches_what_each_module_registers(name):
    # ``obsnets --help`` shows COMMANDS' summaries; running a command uses its module's parser
    parser = argparse.ArgumentParser(prog="obsnets")
    subparsers = parser.add_subparsers()
    importlib.import_module(COMMANDS[name].module).add_parser(subparsers, COMMANDS[name].summary)
    assert list(subparsers.choices) == [name]
    assert f"{name} {COMMANDS[name].summary}" in " ".join(parser.format_help().split())


@pytest.mark.parametrize(
    "argv", [["--version"], ["examples"], ["list"], ["examples", "reach_gmm_policy"]], ids=" ".join
)
def test_output_closed_early_is_quiet(argv):
    # `obsnets list | head -1`: the reader is gone; no traceback, the SIGPIPE status
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "obsnets", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (EXIT_BROKEN_PIPE, "")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_being_run_keeps_its_summary_in_help(name):
    # main passes COMMANDS' summary to the one module it imports (it writes none of its own)
    help_text = " ".join(build_parser(name).format_help().split())
    assert f"{name} {COMMANDS[name].summary}" in help_text
