"""The plugin module: cheap to import, declares every component, exports lazily."""

from __future__ import annotations

import json
import subprocess
import sys

from obsnets.registry import list_components, resolve_component
from obsnets_vae import plugin


def test_importing_the_plugin_imports_no_component_module():
    code = (
        "import json, sys; import obsnets_vae.plugin; import obsnets_vae; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('obsnets_vae'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["obsnets_vae", "obsnets_vae.plugin"]


def test_every_declared_component_resolves_to_its_kind():
    declared = {e.name: e.kind for e in list_components() if e.provider == "obsnets-vae"}
    assert declared == {name: kind for name, (kind, _) in plugin.COMPONENTS.items()}
    for name, (kind, _) in plugin.COMPONENTS.items():
        cls = resolve_component(name, kind=kind)
        assert cls.__name__ == name and cls.component_kind == kind


def test_package_exports_resolve_lazily_to_the_defining_modules():
    import obsnets_vae

    assert set(dir(obsnets_vae)) == set(obsnets_vae.__all__)
    for name in obsnets_vae.__all__:
        obj = getattr(obsnets_vae, name)
        assert obj.__name__ == name
        assert obj.__module__.startswith("obsnets_vae.")


def test_prior_base_is_exported_but_not_a_component():
    from obsnets.registry import is_component
    from obsnets_vae import GaussianPrior, Prior

    assert issubclass(GaussianPrior, Prior)
    assert not is_component("Prior")
    assert resolve_component("GaussianPrior", kind="prior") is GaussianPrior
