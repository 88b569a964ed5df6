"""A plugin's supported obsnets versions (its distribution's ``obsnets`` requirement), checked
at discovery: an incompatible plugin is not loaded, says why, and its components say how to fix
it."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

import pytest

from obsnets import build_component, plugins
from obsnets.cli import plugins_command
from obsnets.errors import IncompatiblePluginError, UnknownComponentError
from obsnets.plugin_compatibility import incompatibility
from obsnets.registry import resolve_component

INSTALLED = metadata.version("obsnets")

PLUGIN = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("encoder_core", "{name}", "{{pkg}}.components:{name}")
"""

COMPONENTS = """
from obsnets import EncoderCore

class {name}(EncoderCore):
    def output_shape(self, input_shape=None):
        return [1]

    def forward(self, inputs):
        return inputs.sum(-1, keepdim=True)
"""


def add_plugin(fake_plugins, pkg: str, core: str, requires: list[str] | None) -> None:
    fake_plugins(
        pkg,
        PLUGIN.format(name=core),
        COMPONENTS.format(name=core),
        dist=f"obsnets-{pkg}",
        requires=requires,
    )


@pytest.mark.parametrize(
    ("requires", "installed", "reason"),
    [
        (["obsnets<0.1"], "0.1.0", "requires obsnets<0.1; installed 0.1.0"),
        (["torch>=2", "obsnets>=0.2,<0.3"], "0.1.0", "requires obsnets<0.3,>=0.2; installed 0.1.0"),
        (["obsnets>=0.1,<0.2"], "0.1.0", None),
        (["obsnets>=0.1,<0.2"], "0.1.1.dev0", None),  # a development build of a supported series
        (["obsnets>=0.1,<0.2"], "0.2.0", "requires obsnets<0.2,>=0.1; installed 0.2.0"),
        (['obsnets>=9; extra == "hub"'], "0.1.0", None),  # binds only that extra
        (["Obsnets<0.1"], "0.1.0", "requires obsnets<0.1; installed 0.1.0"),  # names as pip
        (["torch>=2"], "0.1.0", None),  # a third-party plugin that did not declare obsnets
        (None, "0.1.0", None),
        (["obsnets<0.1"], None, None),  # obsnets not installed (a source tree): no check
    ],
)
def test_incompatibility_compares_the_installed_version_with_the_requirement(
    requires, installed, reason
):
    found = incompatibility(requires, installed)
    assert (found.reason if found else None) == reason


def test_fix_names_both_ways_out():
    fix = incompatibility(["obsnets<0.1"], "0.1.0").fix("obsnets-acme")
    assert "pip install -U obsnets-acme" in fix and "pip install 'obsnets<0.1'" in fix


def test_incompatible_plugin_is_not_loaded_and_says_why(fake_plugins, capsys):
    add_plugin(fake_plugins, "fake_old", "OldCore", [f"obsnets<{INSTALLED}"])
    add_plugin(fake_plugins, "fake_fits", "FitsCore", [f"obsnets=={INSTALLED}", "torch>=2"])
    add_plugin(fake_plugins, "fake_undeclared", "UndeclaredCore", None)
    infos = {p.name: p for p in plugins.list_plugins()}
    old = infos["fake_old"]
    assert old.status == "incompatible"
    assert old.reason == f"requires obsnets<{INSTALLED}; installed {INSTALLED}"
    assert "pip install -U obsnets-fake_old" in old.fix
    assert old.components == [] and "fake_old.plugin" not in sys.modules  # never imported
    assert infos["fake_fits"].status == infos["fake_undeclared"].status == "loaded"
    assert resolve_component("FitsCore").__name__ == "FitsCore"
    assert resolve_component("UndeclaredCore").__name__ == "UndeclaredCore"

    plugins_command.run(argparse.Namespace(json=False))
    out = capsys.readouterr().out
    assert "fake_old  (obsnets-fake_old 1.0)  [incompatible]" in out
    assert f"  incompatible: requires obsnets<{INSTALLED}; installed {INSTALLED}" in out
    assert "  fix: Upgrade the plugin" in out
    assert "fake_fits  (obsnets-fake_fits 1.0)  [loaded]" in out
    plugins_command.run(argparse.Namespace(json=True))
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["fake_old"]["status"] == "incompatible" and listed["fake_old"]["fix"]


@pytest.mark.parametrize("name", ["OldCore", "fake_old.components:OldCore"])
def test_building_an_incompatible_plugins_component_says_so(fake_plugins, name):
    add_plugin(fake_plugins, "fake_old", "OldCore", [f"obsnets>{INSTALLED}"])
    with pytest.raises(IncompatiblePluginError) as excinfo:
        build_component(name, {"input_shape": [3]}, kind="encoder_core", trust_code=True)
    message = str(excinfo.value)
    assert "Unknown" not in message
    assert f"encoder_core {name!r} is provided by plugin 'fake_old' (obsnets-fake_old 1.0)" in (
        message
    )
    assert f"requires obsnets>{INSTALLED}; installed {INSTALLED}" in message
    assert "pip install -U obsnets-fake_old" in message
    assert "fake_old.components" not in sys.modules  # not even with trust_code


def test_an_unreadable_requirement_fails_that_plugin_alone(fake_plugins):
    add_plugin(fake_plugins, "fake_badmeta", "BadMetaCore", ["obsnets >>> 1"])
    add_plugin(fake_plugins, "fake_fits", "FitsCore", None)
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_badmeta"].status == "failed"
    assert "InvalidRequirement" in infos["fake_badmeta"].reason
    assert resolve_component("FitsCore").__name__ == "FitsCore"


def test_every_first_party_plugin_supports_the_installed_obsnets():
    plugins.reset()
    try:
        found = {p.name: p for p in plugins.list_plugins()}
    finally:
        plugins.reset()
    assert "visual" in found
    assert not [p.name for p in found.values() if p.status == "incompatible"]


def test_an_unknown_name_mentions_an_incompatible_plugin_without_importing_it(fake_plugins):
    add_plugin(fake_plugins, "fake_old", "OldCore", [f"obsnets>{INSTALLED}"])
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("NoSuchCore", "encoder_core")
    assert not isinstance(excinfo.value, IncompatiblePluginError)
    assert str(excinfo.value).startswith(
        "Unknown encoder_core 'NoSuchCore'. Plugin 'fake_old' (obsnets-fake_old 1.0) may "
        f"provide it but is not loaded because it does not support this obsnets: it requires "
        f"obsnets>{INSTALLED}; installed {INSTALLED}. Upgrade the plugin"
    )
    assert "fake_old.plugin" not in sys.modules and "fake_old" not in sys.modules
