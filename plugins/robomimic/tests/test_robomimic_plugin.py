"""obsnets-robomimic as a plugin: light plugin module, exports, discovery."""

from __future__ import annotations

import subprocess
import sys

import obsnets_robomimic
from obsnets.plugins import list_plugins
from obsnets_robomimic.plugin import COMPONENTS, EXPORTS


def test_plugin_module_imports_nothing_else_of_the_package():
    code = (
        "import sys, obsnets_robomimic.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('obsnets_robomimic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['obsnets_robomimic', 'obsnets_robomimic.plugin']"
    assert "torch" not in out.stdout


def test_every_export_resolves_and_is_public():
    assert sorted(EXPORTS) == sorted(obsnets_robomimic.__all__)
    for name in obsnets_robomimic.__all__:
        assert getattr(obsnets_robomimic, name).__name__ == name
    assert sorted(dir(obsnets_robomimic)) == sorted(EXPORTS)


def test_discovered_as_an_installed_plugin_without_components():
    info = {p.name: p for p in list_plugins()}["robomimic"]
    assert info.status == "loaded", info.reason
    assert info.distribution == "obsnets-robomimic"
    assert info.components == [] and COMPONENTS == {}


def test_a_network_of_a_plugin_that_is_not_installed_names_its_pip_install():
    # A fresh interpreter in which discovery sees only this plugin, as if obsnets-policy
    # were not installed.
    code = """
from importlib import metadata
from obsnets import plugins
from obsnets.errors import UnknownComponentError
real = metadata.entry_points
plugins.metadata.entry_points = lambda group: [
    ep for ep in real(group=group) if ep.name == "robomimic"
]
from obsnets_robomimic import build_network
try:
    build_network("GMMActorNetwork", {"obs_shapes": {}, "ac_dim": 2, "mlp_layer_dims": []}, {})
except UnknownComponentError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Unknown network 'GMMActorNetwork'" in out.stdout
    assert "pip install obsnets-policy" in out.stdout
