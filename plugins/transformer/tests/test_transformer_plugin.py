"""The plugin module is light, every declared component resolves, robomimic algorithms register."""

from __future__ import annotations

import subprocess
import sys

import pytest

import obsnets_transformer
from obsnets.registry import list_components, resolve_component
from obsnets_transformer.plugin import COMPONENTS


def test_importing_the_plugin_imports_no_component_module() -> None:
    code = (
        "import sys, obsnets_transformer.plugin\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('obsnets_transformer.')"
        " and m != 'obsnets_transformer.plugin')\n"
        "print(loaded)\n"
        "print('obsnets_robomimic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "False"  # obsnets-robomimic is no import-time dependency


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_resolves_by_name_to_the_declared_class(name: str) -> None:
    kind, target = COMPONENTS[name]
    cls = resolve_component(name, kind)
    module, _, attribute = target.partition(":")
    assert cls.__module__ == module and cls.__name__ == attribute == name
    assert getattr(obsnets_transformer, name) is cls


def test_components_are_listed_as_networks_from_this_distribution() -> None:
    listed = {entry.name: entry for entry in list_components(kind="network")}
    for name in COMPONENTS:
        assert listed[name].provider == "obsnets-transformer"


def test_package_exports_the_blocks() -> None:
    from obsnets_transformer.causal_self_attention import CausalSelfAttention
    from obsnets_transformer.gpt_backbone import GPT_Backbone

    assert obsnets_transformer.CausalSelfAttention is CausalSelfAttention
    assert obsnets_transformer.GPT_Backbone is GPT_Backbone
    blocks = {"CausalSelfAttention", "GEGLU", "GPT_Backbone", "PositionalEncoding"}
    assert set(obsnets_transformer.__all__) == set(COMPONENTS) | blocks | {"SelfAttentionBlock"}
    assert all(getattr(obsnets_transformer, n) is not None for n in obsnets_transformer.__all__)


def test_robomimic_transformer_algorithms_are_registered_through_the_hook() -> None:
    algorithms = pytest.importorskip("obsnets_robomimic.algorithms")
    assert {"BC_Transformer", "BC_Transformer_GMM"} <= set(algorithms.list_algorithms())
    flags = {"transformer": {"enabled": True}, "gmm": {"enabled": True}}
    spec = algorithms.resolve_algorithm("bc", flags)
    assert spec.name == "BC_Transformer_GMM" and spec.frame_stacked
