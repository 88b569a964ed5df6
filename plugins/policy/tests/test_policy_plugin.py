"""The plugin module is light, and every declared component resolves through the registry."""

from __future__ import annotations

import subprocess
import sys

import pytest

import obsnets_policy
from obsnets.registry import list_components, resolve_component
from obsnets_policy.plugin import COMPONENTS


def test_importing_the_plugin_imports_no_component_module() -> None:
    code = (
        "import sys, obsnets_policy.plugin\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('obsnets_policy.')"
        " and m != 'obsnets_policy.plugin')\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_resolves_by_name_to_the_declared_class(name: str) -> None:
    kind, target = COMPONENTS[name]
    cls = resolve_component(name, kind)
    module, _, attribute = target.partition(":")
    assert cls.__module__ == module and cls.__name__ == attribute == name
    assert getattr(obsnets_policy, name) is cls


def test_components_are_listed_as_networks_from_this_distribution() -> None:
    listed = {entry.name: entry for entry in list_components(kind="network")}
    for name in COMPONENTS:
        assert listed[name].provider == "obsnets-policy"


def test_package_exports_the_tanh_distribution() -> None:
    from obsnets_policy.tanh_distribution import TanhWrappedDistribution

    assert obsnets_policy.TanhWrappedDistribution is TanhWrappedDistribution
    assert set(obsnets_policy.__all__) == set(COMPONENTS) | {"TanhWrappedDistribution"}
