"""The plugin module: cheap to import, declares every component, answers encoder defaults."""

from __future__ import annotations

import json
import subprocess
import sys

from obsnets.plugins import get_plugin_manager
from obsnets.registry import list_components, resolve_component
from obsnets_visual import plugin


def test_importing_the_plugin_imports_no_component_module_nor_torchvision():
    code = (
        "import json, sys; import obsnets_visual.plugin; import obsnets_visual; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith(('obsnets_visual', 'torchvision')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["obsnets_visual", "obsnets_visual.plugin"]


def test_every_declared_component_resolves_to_its_kind():
    declared = {e.name: e.kind for e in list_components() if e.provider == "obsnets-visual"}
    assert declared == {name: kind for name, (kind, _) in plugin.COMPONENTS.items()}
    for name, (kind, _) in plugin.COMPONENTS.items():
        cls = resolve_component(name, kind=kind)
        assert cls.__name__ == name and cls.component_kind == kind


def test_encoder_defaults_for_images_are_robomimics():
    hook = get_plugin_manager().hook.obsnets_encoder_defaults
    for modality in ("rgb", "depth"):
        defaults = hook(modality=modality)
        assert defaults == {
            "core_class": "VisualCore",
            "core_kwargs": {},
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": {},
        }
    assert plugin.obsnets_encoder_defaults("low_dim") is None
    assert plugin.obsnets_encoder_defaults("scan") is None
    first = plugin.obsnets_encoder_defaults("rgb")
    first["core_kwargs"]["feature_dimension"] = 7
    assert plugin.obsnets_encoder_defaults("rgb")["core_kwargs"] == {}  # a fresh dict each call
