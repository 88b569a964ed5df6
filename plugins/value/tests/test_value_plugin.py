"""The plugin module: cheap to import, declares every component, exports lazily."""

from __future__ import annotations

import json
import subprocess
import sys

from obsnets.registry import list_components, resolve_component
from obsnets_value import plugin


def test_importing_the_plugin_imports_no_component_module():
    code = (
        "import json, sys; import obsnets_value.plugin; import obsnets_value; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('obsnets_value'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["obsnets_value", "obsnets_value.plugin"]


def test_every_declared_component_resolves_to_a_network():
    declared = {e.name: e.kind for e in list_components() if e.provider == "obsnets-value"}
    assert declared == {name: kind for name, (kind, _) in plugin.COMPONENTS.items()}
    for name, (kind, _) in plugin.COMPONENTS.items():
        cls = resolve_component(name, kind=kind)
        assert cls.__name__ == name and cls.component_kind == "network"


def test_package_exports_resolve_lazily_to_the_defining_modules():
    import obsnets_value

    assert set(dir(obsnets_value)) == set(obsnets_value.__all__)
    for name in obsnets_value.__all__:
        obj = getattr(obsnets_value, name)
        assert obj.__name__ == name
        assert obj.__module__.startswith("obsnets_value.")
