"""obsnets-timm as a plugin: timm is imported only when a timm backbone is built or listed.

Every check that looks at ``sys.modules`` runs in a fresh interpreter, since this test
process may already have imported timm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import obsnets
import obsnets_timm
from obsnets.registry import resolve_component
from obsnets_timm.plugin import COMPONENTS


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    env["OMP_NUM_THREADS"] = "1"  # tiny forwards; threads only contend on a shared CPU
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_package_and_plugin_imports_neither_timm_nor_components():
    result = run_python(
        """
        import json, sys
        import obsnets_timm
        after_package = "timm" in sys.modules
        import obsnets_timm.plugin
        print(json.dumps({
            "after_package": after_package,
            "after_plugin": "timm" in sys.modules,
            "component_module": "obsnets_timm.timm_conv" in sys.modules,
            "exports": sorted(dir(obsnets_timm)),
        }))
        """
    )
    assert result == {
        "after_package": False,
        "after_plugin": False,
        "component_module": False,
        "exports": ["TimmConv", "list_timm_models"],
    }


def test_discovery_lists_timm_conv_as_a_lazy_backbone_without_importing_timm():
    result = run_python(
        """
        import contextlib, io, json, sys
        import obsnets
        from obsnets.cli.main import main
        entries = [e for e in obsnets.list_components("backbone") if e.name == "TimmConv"]
        listing = io.StringIO()
        with contextlib.redirect_stdout(listing):
            main(["list", "backbone"])
        print(json.dumps({
            "entries": [[e.provider, e.qualified_name, e.is_loaded] for e in entries],
            "cli_lists_it": "TimmConv" in listing.getvalue(),
            "timm": "timm" in sys.modules,
        }))
        """
    )
    assert result == {
        "entries": [["obsnets-timm", "obsnets_timm.timm_conv:TimmConv", False]],
        "cli_lists_it": True,
        "timm": False,
    }


BUILD_OTHER_BACKBONE = """
    import json, sys
    import obsnets, torch
    {define}
    net = obsnets.build_component({name!r}, {kwargs!r}, kind="backbone")
    out = net(torch.zeros(2, 3, 32, 32))
    print(json.dumps({{"timm": "timm" in sys.modules, "shape": list(out.shape)}}))
"""

TINY_CONV = """
class TinyConv(obsnets.ConvBase):
    def __init__(self, input_channel=3):
        super().__init__()
        self.nets = torch.nn.Conv2d(input_channel, 4, 3, stride=2, padding=1)
    def output_shape(self, input_shape=None):
        return [4, (input_shape[1] + 1) // 2, (input_shape[2] + 1) // 2]
"""


def test_building_a_backbone_defined_elsewhere_does_not_import_timm():
    code = BUILD_OTHER_BACKBONE.format(
        define=textwrap.indent(TINY_CONV, "    "), name="TinyConv", kwargs={}
    )
    assert run_python(code) == {"timm": False, "shape": [2, 4, 16, 16]}


def test_building_another_plugins_backbone_does_not_import_timm():
    if not obsnets.is_component("ResNet18Conv", kind="backbone"):
        pytest.skip("obsnets-visual (ResNet18Conv) is not installed")
    code = BUILD_OTHER_BACKBONE.format(define="", name="ResNet18Conv", kwargs={"input_channel": 3})
    assert run_python(code) == {"timm": False, "shape": [2, 512, 1, 1]}


def test_building_timm_conv_by_name_imports_timm():
    # The counterpart of the tests above: the sys.modules check can tell the difference.
    code = BUILD_OTHER_BACKBONE.format(
        define="", name="TimmConv", kwargs={"model_name": "resnet18"}
    )
    assert run_python(code) == {"timm": True, "shape": [2, 512, 1, 1]}


def test_list_timm_models_imports_timm_only_when_called():
    result = run_python(
        """
        import json, sys
        from obsnets_timm import list_timm_models
        before = "timm" in sys.modules
        names = list_timm_models("resnet1*")
        tagged = list_timm_models("resnet18*", pretrained=True)
        print(json.dumps({"before": before, "after": "timm" in sys.modules,
                          "names": names, "tagged": tagged}))
        """
    )
    assert result["before"] is False
    assert result["after"] is True
    assert "resnet18" in result["names"]
    assert all(n.startswith("resnet1") for n in result["names"])
    assert "resnet18.a1_in1k" in result["tagged"]
    assert all("." in n for n in result["tagged"])


def test_list_timm_models_matches_timm():
    import timm

    assert obsnets_timm.list_timm_models("convnext_at*") == timm.list_models("convnext_at*")
    assert "efficientnet_b0" in obsnets_timm.list_timm_models()


def test_declared_components_resolve_to_their_kind():
    for name, (kind, target) in COMPONENTS.items():
        cls = resolve_component(name, kind=kind)
        assert f"{cls.__module__}:{cls.__qualname__}" == target
        assert getattr(obsnets_timm, name) is cls
