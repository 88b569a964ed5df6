"""obsnets-shifts as obsnets sees it: found through its entry point, and light."""

import subprocess
import sys

from obsnets.plugins import list_plugins
from obsnets.registry import registry

from obsnets_shifts.plugin import COMPONENTS


def test_the_entry_point_declares_the_component():
    plugin = next((p for p in list_plugins() if p.name == "shifts"), None)
    assert plugin is not None, "not installed: python -m pip install -e ."
    assert plugin.status == "loaded", plugin.reason
    assert plugin.distribution == "obsnets-shifts"
    assert plugin.components == [("randomizer", "RandomShiftsRandomizer")]
    entry = registry.lookup("RandomShiftsRandomizer", "randomizer")
    assert entry.provider == "obsnets-shifts"
    assert entry.qualified_name == COMPONENTS[entry.name][1]


def test_importing_the_plugin_module_imports_no_component():
    plugin_module = "obsnets_shifts.plugin"
    component_module = COMPONENTS["RandomShiftsRandomizer"][1].split(":")[0]
    code = f"import sys, {plugin_module}; print({component_module!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
