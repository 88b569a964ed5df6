"""The obsnets-scan plugin module: cheap to import, declares its components, encoder defaults."""

from __future__ import annotations

import json
import subprocess
import sys

import obsnets
from obsnets.plugins import get_plugin_manager
from obsnets_scan import plugin


def test_plugin_module_imports_no_component_module():
    code = (
        "import json, sys\n"
        "import obsnets_scan.plugin\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('obsnets_scan'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == ["obsnets_scan", "obsnets_scan.plugin"]


def test_components_resolve_by_name_with_their_kind():
    for name, (kind, target) in plugin.COMPONENTS.items():
        entry = obsnets.registry.lookup(name, kind)
        assert entry.provider == "obsnets-scan"
        cls = obsnets.resolve_component(name, kind)
        assert f"{cls.__module__}:{cls.__qualname__}" == target


def test_encoder_defaults_for_scan_only():
    assert plugin.obsnets_encoder_defaults("scan") == {
        "core_class": "ScanCore",
        "core_kwargs": {},
        "obs_randomizer_class": None,
        "obs_randomizer_kwargs": {},
    }
    assert plugin.obsnets_encoder_defaults("rgb") is None
    assert plugin.obsnets_encoder_defaults("low_dim") is None
    answer = get_plugin_manager().hook.obsnets_encoder_defaults(modality="scan")
    assert answer["core_class"] == "ScanCore"
    core = obsnets.build_component(
        answer["core_class"], {"input_shape": [1, 120], **answer["core_kwargs"]}
    )
    assert core.output_shape() == [768]
