"""A name used in the wrong slot says what it is; plain names two plugins share are flagged by
``obsnets list`` and ``obsnets plugins`` with the qualified names to write instead."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from obsnets import PoolBase, build_component, plugins
from obsnets.cli import list_command, plugins_command
from obsnets.errors import AmbiguousNameError, ComponentKindError, UnknownComponentError
from obsnets.registry import resolve_component


class AcmeGeMPool(PoolBase):
    """Generalised-mean pooling over (B, C, H, W) -> (B, C)."""

    def __init__(self, input_shape, p=3.0):
        super().__init__()
        self.input_shape = list(input_shape)
        self.p = p

    def output_shape(self, input_shape=None):
        return [self.input_shape[0]]

    def forward(self, inputs):
        return inputs.clamp(min=1e-6).pow(self.p).mean(dim=(-2, -1)).pow(1.0 / self.p)


def test_a_pool_given_as_a_backbone_says_it_is_a_pool(isolated_registry):
    with pytest.raises(ComponentKindError) as excinfo:
        resolve_component("AcmeGeMPool", "backbone")
    message = str(excinfo.value)
    assert message.startswith("'AcmeGeMPool' is a pool, not a backbone (")
    assert "tests.test_name_conflicts:AcmeGeMPool" in message
    assert "Give it where a pool is expected" in message and "obsnets list backbone" in message
    assert isinstance(excinfo.value, UnknownComponentError)  # callers catching that still do
    pool = build_component("AcmeGeMPool", {"input_shape": [4, 5, 5]}, kind="pool")
    assert torch.allclose(pool(torch.full((2, 4, 5, 5), 2.0)), torch.full((2, 4), 2.0))


def test_visual_core_reports_the_wrong_slot_from_the_registry(isolated_registry):
    pytest.importorskip("obsnets_visual")
    with pytest.raises(ComponentKindError, match="'AcmeGeMPool' is a pool, not a backbone"):
        build_component("VisualCore", {"input_shape": [3, 32, 32], "backbone_class": "AcmeGeMPool"})
    with pytest.raises(ComponentKindError, match="'ResNet18Conv' is a backbone, not a pool"):
        build_component(
            "VisualCore",
            {
                "input_shape": [3, 32, 32],
                "backbone_class": "ShallowConv",
                "pool_class": "ResNet18Conv",
            },
        )


def test_a_name_of_no_kind_is_still_unknown_with_close_matches(isolated_registry):
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("AcmeGeMPol", "pool")
    assert not isinstance(excinfo.value, ComponentKindError)
    assert "Unknown pool 'AcmeGeMPol'" in str(excinfo.value)
    assert "Did you mean 'AcmeGeMPool'" in str(excinfo.value)


NET_PLUGIN = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("backbone", "AcmeNet", "{pkg}.components:AcmeNet")
"""

NET_COMPONENTS = """
from obsnets import ConvBase

class AcmeNet(ConvBase):
    SCALE = {scale}

    def output_shape(self, input_shape):
        return list(input_shape)

    def forward(self, inputs):
        return inputs * self.SCALE
"""


@pytest.fixture
def two_acme_nets(fake_plugins):
    for pkg, scale in (("fake_acme", 2.0), ("fake_rival", 3.0)):
        fake_plugins(pkg, NET_PLUGIN, NET_COMPONENTS.format(scale=scale), dist=f"obsnets-{pkg}")
    return ["fake_acme.components:AcmeNet", "fake_rival.components:AcmeNet"]


def test_list_flags_a_colliding_name_with_what_to_write(two_acme_nets, capsys):
    list_command.run(argparse.Namespace(kind="backbone", pattern="Acme*", json=False))
    out = capsys.readouterr().out
    assert "1 colliding name(s):" in out
    assert (
        "backbone 'AcmeNet' is provided 2 times and resolves to none of them: write "
        "'fake_acme.components:AcmeNet' (from obsnets-fake_acme, plugin 'fake_acme') or "
        "'fake_rival.components:AcmeNet' (from obsnets-fake_rival, plugin 'fake_rival')."
    ) in out
    list_command.run(argparse.Namespace(kind="backbone", pattern="Acme*", json=True))
    listed = {e["qualified_name"]: e["collides_with"] for e in json.loads(capsys.readouterr().out)}
    assert listed == {two_acme_nets[0]: [two_acme_nets[1]], two_acme_nets[1]: [two_acme_nets[0]]}
    with pytest.raises(AmbiguousNameError):
        resolve_component("AcmeNet", "backbone")
    # What the listing says to write resolves, each to its own class.
    scales = [resolve_component(name, "backbone").SCALE for name in two_acme_nets]
    assert scales == [2.0, 3.0]


def test_list_shows_no_collision_section_without_collisions(fake_plugins, capsys):
    fake_plugins("fake_acme", NET_PLUGIN, NET_COMPONENTS.format(scale=2.0))
    list_command.run(argparse.Namespace(kind=None, pattern="*", json=False))
    assert "colliding" not in capsys.readouterr().out


def plugin_section(out: str, plugin: str) -> str:
    """The lines ``obsnets plugins`` prints for one plugin (its header, then indented lines)."""
    lines = ("\n" + out).split(f"\n{plugin}  (", 1)[1].splitlines()
    body = lines[1:]
    end = next((n for n, line in enumerate(body) if not line.startswith(" ")), len(body))
    return "\n".join([lines[0], *body[:end]])


def test_plugins_flags_the_colliding_name_under_each_plugin(two_acme_nets, capsys):
    plugins_command.run(argparse.Namespace(json=False))
    out = capsys.readouterr().out
    for pkg in ("fake_acme", "fake_rival"):
        section = plugin_section(out, pkg)
        assert "  - backbone      AcmeNet\n      name collision: backbone 'AcmeNet'" in section
        assert all(name in section for name in two_acme_nets)
    plugins_command.run(argparse.Namespace(json=True))
    listed = {p["name"]: p["name_collisions"] for p in json.loads(capsys.readouterr().out)}
    expected = [{"kind": "backbone", "name": "AcmeNet", "write_one_of": two_acme_nets}]
    assert listed["fake_acme"] == listed["fake_rival"] == expected
    assert {p.name: p.status for p in plugins.list_plugins()} == {
        "fake_acme": "loaded",
        "fake_rival": "loaded",
    }
