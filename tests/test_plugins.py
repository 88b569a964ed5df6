"""Plugin discovery with faked distributions: loading, errors, disable and allow lists."""

from __future__ import annotations

import importlib
import sys
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from obsnets import hookspecs, plugins
from obsnets.errors import PluginLoadError, UnknownComponentError
from obsnets.registry import resolve_component

GOOD_PLUGIN = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("encoder_core", "FakeGoodCore", "{pkg}.components:FakeGoodCore")
"""

GOOD_COMPONENTS = """
from obsnets import EncoderCore

class FakeGoodCore(EncoderCore):
    def output_shape(self, input_shape=None):
        return [1]

    def forward(self, inputs):
        return inputs.sum(-1, keepdim=True)
"""


@dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint (name, value, dist, load)."""

    name: str
    value: str
    dist_name: str
    version: str = "1.0"
    group: str = "obsnets"
    dist: object = field(init=False)

    def __post_init__(self):
        self.dist = SimpleNamespace(metadata={"Name": self.dist_name}, version=self.version)

    def load(self):
        return importlib.import_module(self.value)


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch, isolated_registry):
    """Write plugin packages to tmp_path and make discovery see only them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for var in (plugins.DISABLE_ENV, plugins.LOAD_ENV):
        monkeypatch.delenv(var, raising=False)
    entry_points: list[FakeEntryPoint] = []
    written: list[str] = []

    def add(pkg: str, plugin_source: str, components_source: str | None = None, dist=None):
        package = tmp_path / pkg
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "plugin.py").write_text(textwrap.dedent(plugin_source.format(pkg=pkg)))
        if components_source is not None:
            (package / "components.py").write_text(textwrap.dedent(components_source))
        written.append(pkg)
        entry_points.append(FakeEntryPoint(pkg, f"{pkg}.plugin", dist or pkg.replace("_", "-")))

    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: list(entry_points))
    plugins.reset()
    yield add
    plugins.reset()
    for pkg in written:
        for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
            del sys.modules[name]


def test_declared_component_is_lazy_and_carries_its_provider(fake_plugins):
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS, dist="obsnets-fake-good")
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_good"].status == "loaded"
    assert infos["fake_good"].components == [("encoder_core", "FakeGoodCore")]
    assert "fake_good.components" not in sys.modules  # declared, not imported
    cls = resolve_component("FakeGoodCore")
    assert "fake_good.components" in sys.modules
    entry = plugins.registry.lookup("FakeGoodCore")
    assert (
        entry.provider == "obsnets-fake-good" and entry.is_loaded and cls.__name__ == "FakeGoodCore"
    )


def test_plugin_that_fails_to_import_does_not_break_the_others(fake_plugins):
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins("fake_broken", "import not_a_module_anywhere_xyz\n")
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_broken"].status == "failed"
    assert "not_a_module_anywhere_xyz" in infos["fake_broken"].reason
    assert resolve_component("FakeGoodCore").__name__ == "FakeGoodCore"
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("SomethingTheBrokenOneHad")
    assert "fake_broken" in str(excinfo.value) and "failed to load" in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, ModuleNotFoundError)


def test_broken_first_party_plugin_raises_its_cause_when_asked(fake_plugins, monkeypatch):
    monkeypatch.setattr(
        "obsnets.catalog.FIRST_PARTY_COMPONENTS", {"obsnets-fake-visual": ("FakeVisualCore",)}
    )
    fake_plugins(
        "fake_visual", "raise RuntimeError('boom at import')\n", dist="obsnets-fake-visual"
    )
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("FakeVisualCore")
    assert "obsnets-fake-visual" in str(excinfo.value) and "boom at import" in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, RuntimeError)


def test_hook_that_raises_is_recorded(fake_plugins):
    fake_plugins(
        "fake_raising",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            raise ValueError("cannot declare")
        """,
    )
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_raising"].status == "failed"
    assert "cannot declare" in infos["fake_raising"].reason
    assert infos["fake_good"].status == "loaded"


def test_bad_kind_and_bad_target_are_plugin_errors(fake_plugins):
    fake_plugins(
        "fake_badkind",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            register("encoder", "X", "x:X")
        """,
    )
    fake_plugins(
        "fake_badtarget",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            register("encoder_core", "Y", "no_colon_here")
        """,
    )
    infos = {p.name: p for p in plugins.list_plugins()}
    assert "unknown kind 'encoder'" in infos["fake_badkind"].reason
    assert "import string" in infos["fake_badtarget"].reason


def test_two_plugins_declaring_one_qualified_name_collide(fake_plugins):
    fake_plugins("fake_first", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins(
        "fake_second",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            register("encoder_core", "FakeGoodCore", "fake_first.components:FakeGoodCore")
        """,
    )
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_first"].status == "loaded"
    assert infos["fake_second"].status == "failed"
    assert (
        "fake-first" in infos["fake_second"].reason and "fake-second" in infos["fake_second"].reason
    )


def test_lazy_target_that_fails_to_import_raises_plugin_load_error(fake_plugins):
    fake_plugins(
        "fake_lazybroken",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            register("encoder_core", "LazyBrokenCore", "{pkg}.components:LazyBrokenCore")
        """,
        "raise ImportError('heavy dependency missing')\n",
    )
    with pytest.raises(PluginLoadError) as excinfo:
        resolve_component("LazyBrokenCore")
    assert "fake_lazybroken" in str(excinfo.value) and "heavy dependency missing" in str(
        excinfo.value
    )
    assert isinstance(excinfo.value.__cause__, ImportError)


@pytest.mark.parametrize("value", ["1", "all", "*"])
def test_disable_all(fake_plugins, monkeypatch, value):
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_good"].status == "disabled"
    with pytest.raises(UnknownComponentError, match="provides it but is disabled"):
        resolve_component("FakeGoodCore")


def test_disable_some_by_plugin_or_distribution_name(fake_plugins, monkeypatch):
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins(
        "fake_other",
        GOOD_PLUGIN.replace("FakeGoodCore", "FakeOtherCore"),
        GOOD_COMPONENTS.replace("FakeGoodCore", "FakeOtherCore"),
        dist="obsnets-other",
    )
    monkeypatch.setenv(plugins.DISABLE_ENV, "obsnets-other")
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_good"].status == "loaded"
    assert infos["fake_other"].status == "disabled"


def test_load_list_restricts_loading(fake_plugins, monkeypatch):
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins(
        "fake_other",
        GOOD_PLUGIN.replace("FakeGoodCore", "FakeOtherCore"),
        GOOD_COMPONENTS.replace("FakeGoodCore", "FakeOtherCore"),
    )
    monkeypatch.setenv(plugins.LOAD_ENV, "fake_other")
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_other"].status == "loaded"
    assert infos["fake_good"].status == "disabled"
    assert "OBSNETS_LOAD_PLUGINS" in infos["fake_good"].reason
    monkeypatch.setenv(plugins.LOAD_ENV, "")
    plugins.reset()
    assert all(p.status == "disabled" for p in plugins.list_plugins())


def test_register_plugin_at_runtime(fake_plugins):
    class RuntimePlugin:
        @hookspecs.hookimpl
        def obsnets_register_components(self, register):
            register("encoder_core", "FakeGoodCore", "fake_rt.components:FakeGoodCore")

    fake_plugins("fake_rt", "", GOOD_COMPONENTS)
    plugins.register_plugin(RuntimePlugin(), "runtime", distribution="my-dist")
    assert plugins.registry.lookup("FakeGoodCore").provider == "my-dist"
    assert resolve_component("FakeGoodCore").__module__ == "fake_rt.components"
    plugins.unregister_plugin("runtime")
    assert not plugins.registry.find("FakeGoodCore")


def test_every_hook_is_documented():
    specs = [n for n in dir(hookspecs) if n.startswith("obsnets_")]
    assert specs == [
        "obsnets_encoder_defaults",
        "obsnets_network_built",
        "obsnets_open_model_file",
        "obsnets_register_components",
    ]
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Args:" in doc and len(doc) > 150, name


def test_disabling_all_keeps_the_cores_own_declarations(fake_plugins, monkeypatch):
    fake_plugins("fake_core", GOOD_PLUGIN, GOOD_COMPONENTS, dist="obsnets")
    fake_plugins(
        "fake_good2",
        GOOD_PLUGIN.replace("FakeGoodCore", "FakeOtherCore"),
        GOOD_COMPONENTS.replace("FakeGoodCore", "FakeOtherCore"),
    )
    monkeypatch.setenv(plugins.DISABLE_ENV, "all")
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_core"].status == "loaded"
    assert infos["fake_good2"].status == "disabled"
