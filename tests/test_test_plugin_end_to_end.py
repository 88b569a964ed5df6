"""A real plugin distribution, pip-installed, discovered through its entry point, used by name."""

from __future__ import annotations

import json

import torch


def test_cli_plugins_shows_the_installed_test_plugin(test_plugin_installed, run_cli):
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    assert "testplugin  (obsnets-testplugin 0.0.1)  [loaded]" in result.stdout
    assert "encoder_core  TestPluginCore" in result.stdout
    assert "backbone      TestPluginConv" in result.stdout

    data = json.loads(run_cli("plugins", "--json").stdout)
    entry = next(p for p in data if p["name"] == "testplugin")
    assert entry["distribution"] == "obsnets-testplugin" and entry["status"] == "loaded"
    assert {"kind": "backbone", "name": "TestPluginConv"} in entry["components"]


def test_component_from_the_plugin_builds_by_name_and_computes(test_plugin_installed, run_cli):
    code = """
import sys, torch
from obsnets import build_component
assert "obsnets_testplugin.components" not in sys.modules
core = build_component("TestPluginCore", {"input_shape": [2, 3], "scale": 0.5}, kind="encoder_core")
assert "obsnets_testplugin.components" in sys.modules
x = torch.arange(6.0).reshape(1, 2, 3)
print(core(x).tolist(), core.built_by_testplugin)
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[[1.5,", "6.0]]", "TestPluginCore"]


def test_disabling_the_test_plugin_by_env(test_plugin_installed, run_cli):
    result = run_cli("plugins", env={"OBSNETS_DISABLE_PLUGINS": "testplugin"})
    assert "testplugin  (obsnets-testplugin 0.0.1)  [disabled]" in result.stdout
    result = run_cli("describe", "TestPluginCore", env={"OBSNETS_DISABLE_PLUGINS": "testplugin"})
    assert result.returncode == 2
    assert "provides it but is disabled" in result.stderr
    assert "Traceback" not in result.stderr


def test_describe_shows_provider_signature_doc_and_shape(test_plugin_installed, run_cli):
    result = run_cli("describe", "TestPluginConv")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "TestPluginConv  (backbone)" in out
    assert "provided by: obsnets-testplugin" in out
    assert "TestPluginConv(input_channel=3, out_channels=4)" in out
    assert "A 1x1 convolution with stride 2" in out
    info = json.loads(run_cli("describe", "TestPluginConv", "--json").stdout)
    assert [p["name"] for p in info["parameters"]] == ["input_channel", "out_channels"]
    assert info["parameters"][1]["default"] == "4"


def test_list_filters_by_kind_and_pattern(test_plugin_installed, run_cli):
    out = run_cli("list", "backbone", "TestPlugin*").stdout
    assert "TestPluginConv" in out and "TestPluginCore" not in out
    rows = json.loads(run_cli("list", "--json").stdout)
    assert {"encoder_core", "backbone"} <= {r["kind"] for r in rows}
    bad = run_cli("list", "backbones")
    assert bad.returncode == 2 and "Did you mean 'backbone'" in bad.stderr


def test_unknown_name_error_is_a_message_not_a_traceback(run_cli):
    result = run_cli("describe", "TestPluginCor")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Unknown component 'TestPluginCor'" in result.stderr


def test_output_shape_of_plugin_backbone_matches_forward(test_plugin_installed, run_cli):
    import subprocess
    import sys

    code = """
import torch
from obsnets import build_component
conv = build_component("TestPluginConv", {"input_channel": 3}, kind="backbone")
for shape in [(3, 8, 8), (3, 7, 5)]:
    assert list(conv(torch.zeros(2, *shape)).shape[1:]) == conv.output_shape(shape), shape
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    assert torch.__version__
