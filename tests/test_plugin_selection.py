"""OBSNETS_DISABLE_PLUGINS / OBSNETS_LOAD_PLUGINS: a disabled plugin's components are refused by
qualified name too, and a name in either variable that matches no plugin is warned about."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from obsnets import plugins
from obsnets.errors import DisabledPluginError, PluginSelectionWarning, UnknownComponentError
from obsnets.registry import resolve_component

PLUGIN = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("encoder_core", "{name}", "{{pkg}}.components:{name}")
"""

COMPONENTS = """
from obsnets import EncoderCore

class {name}(EncoderCore):
    def output_shape(self, input_shape=None):
        return [1]

    def forward(self, inputs):
        return inputs[:, :1]
"""


def add_plugin(fake_plugins, pkg: str, core: str, dist: str | None = None) -> None:
    fake_plugins(pkg, PLUGIN.format(name=core), COMPONENTS.format(name=core), dist=dist)


def statuses() -> dict[str, str]:
    return {p.name: p.status for p in plugins.list_plugins()}


@pytest.mark.parametrize("trust_code", [False, True])
def test_a_disabled_plugins_qualified_name_is_refused_without_importing(
    fake_plugins, monkeypatch, trust_code
):
    add_plugin(fake_plugins, "fake_off", "OffCore")
    add_plugin(fake_plugins, "fake_on", "OnCore")
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_off")
    with pytest.raises(DisabledPluginError) as excinfo:
        resolve_component("fake_off.components:OffCore", "encoder_core", trust_code=trust_code)
    message = str(excinfo.value)
    assert "plugin 'fake_off' (fake-off 1.0) provides it but is disabled" in message
    assert "listed in OBSNETS_DISABLE_PLUGINS" in message
    assert "remove 'fake_off' from OBSNETS_DISABLE_PLUGINS" in message
    assert "fake_off.components" not in sys.modules
    assert resolve_component("fake_on.components:OnCore").__name__ == "OnCore"


def test_a_disabled_plugins_class_imported_by_code_does_not_resolve_by_name(
    fake_plugins, monkeypatch
):
    add_plugin(fake_plugins, "fake_off", "OffCore")
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_off")
    assert statuses()["fake_off"] == "disabled"
    importlib.import_module("fake_off.components")  # the class registers itself
    for name in ("OffCore", "fake_off.components:OffCore"):
        with pytest.raises(DisabledPluginError, match="OBSNETS_DISABLE_PLUGINS"):
            resolve_component(name)
    monkeypatch.delenv(plugins.DISABLE_ENV)
    plugins.reset()
    assert resolve_component("fake_off.components:OffCore").__name__ == "OffCore"


def test_a_plugin_left_out_of_the_load_list_is_refused_with_that_variable(
    fake_plugins, monkeypatch
):
    add_plugin(fake_plugins, "fake_off", "OffCore")
    add_plugin(fake_plugins, "fake_on", "OnCore")
    monkeypatch.setenv(plugins.LOAD_ENV, "fake_on")
    with pytest.raises(DisabledPluginError) as excinfo:
        resolve_component("OffCore")
    assert "not listed in OBSNETS_LOAD_PLUGINS='fake_on'" in str(excinfo.value)
    assert "add 'fake_off' to OBSNETS_LOAD_PLUGINS" in str(excinfo.value)


def test_a_disabled_plugin_inside_a_loaded_plugins_package_blocks_nothing_of_it(
    fake_plugins, monkeypatch
):
    add_plugin(fake_plugins, "fake_base", "BaseCore")
    fake_plugins.existing("fake_extra", "fake_base.plugin", "fake-extra")
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_extra")
    assert statuses() == {"fake_base": "loaded", "fake_extra": "disabled"}
    assert resolve_component("fake_base.components:BaseCore").__name__ == "BaseCore"


@pytest.mark.parametrize("recorded", [True, False])
def test_a_disabled_distributions_other_top_level_packages_are_refused(
    fake_plugins, monkeypatch, tmp_path, recorded
):
    # The distribution installs its plugin module and, beside it, the package holding its
    # components; only top_level.txt tells that the second package is the plugin's too.
    implementation = tmp_path / "fake_split_impl"
    implementation.mkdir()
    (implementation / "__init__.py").write_text("")
    (implementation / "components.py").write_text(COMPONENTS.format(name="SplitCore"))
    top_level = ["fake_split", "fake_split_impl"] if recorded else None
    fake_plugins(
        "fake_split",
        PLUGIN.replace("{{pkg}}", "fake_split_impl").format(name="SplitCore"),
        top_level=top_level,
    )
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_split")
    qualified = "fake_split_impl.components:SplitCore"
    if recorded:
        with pytest.raises(DisabledPluginError, match="provides it but is disabled"):
            resolve_component(qualified, "encoder_core", trust_code=True)
        assert "fake_split_impl.components" not in sys.modules
    else:  # nothing says the package is the plugin's: trusted code may import it
        assert resolve_component(qualified, "encoder_core", trust_code=True).__name__ == (
            "SplitCore"
        )
        del sys.modules["fake_split_impl.components"], sys.modules["fake_split_impl"]


def test_distribution_names_match_as_pip_writes_them(fake_plugins, monkeypatch):
    add_plugin(fake_plugins, "fake_other", "OtherCore", dist="obsnets-other")
    monkeypatch.setenv(plugins.DISABLE_ENV, "Obsnets_Other")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a matching name is not warned about
        assert statuses() == {"fake_other": "disabled"}


@pytest.mark.parametrize("variable", [plugins.DISABLE_ENV, plugins.LOAD_ENV])
def test_an_unknown_plugin_name_warns_with_close_matches(fake_plugins, monkeypatch, variable):
    add_plugin(fake_plugins, "fake_good", "GoodCore", dist="obsnets-good")
    monkeypatch.setenv(variable, "fake_gud, fake_good")
    with pytest.warns(PluginSelectionWarning) as record:
        found = statuses()
    assert len(record) == 1
    message = str(record[0].message)
    assert f"{variable} names 'fake_gud', which is not an installed plugin" in message
    assert "Did you mean 'fake_good'?" in message
    assert "Installed plugins: fake_good (see 'obsnets plugins')" in message
    assert found == {"fake_good": "disabled" if variable == plugins.DISABLE_ENV else "loaded"}


def test_a_name_like_nothing_installed_warns_without_a_guess(fake_plugins, monkeypatch):
    add_plugin(fake_plugins, "fake_good", "GoodCore")
    monkeypatch.setenv(plugins.LOAD_ENV, "zzz_unrelated")
    with pytest.warns(PluginSelectionWarning, match="'zzz_unrelated'") as record:
        statuses()
    assert "Did you mean" not in str(record[0].message)


@pytest.mark.parametrize("value", ["1", "all", "*", "true"])
def test_disable_all_is_not_an_unknown_name(fake_plugins, monkeypatch, value):
    add_plugin(fake_plugins, "fake_good", "GoodCore")
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert statuses() == {"fake_good": "disabled"}


DYNAMIC_PLUGIN = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    name = "".join(["Dyn", "Core"])  # no literal to read: only running it would tell
    register("encoder_core", name, "{pkg}.components:" + name)
"""


def test_an_unknown_plain_name_never_imports_a_disabled_plugin(fake_plugins, monkeypatch):
    add_plugin(fake_plugins, "fake_off", "OffCore")
    add_plugin(fake_plugins, "fake_on", "OnCore")
    fake_plugins("fake_dyn", DYNAMIC_PLUGIN, COMPONENTS.format(name="DynCore"))
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_off,fake_dyn")
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("NoSuchThing", "encoder_core")
    assert type(excinfo.value) is UnknownComponentError
    # Without running a third-party plugin, only a name its source spells out is certain.
    assert str(excinfo.value) == (
        "Unknown encoder_core 'NoSuchThing'. Plugin 'fake_off' (fake-off 1.0) may provide it "
        "but is disabled (listed in OBSNETS_DISABLE_PLUGINS); to use it, remove 'fake_off' "
        "from OBSNETS_DISABLE_PLUGINS. Plugin 'fake_dyn' (fake-dyn 1.0) may provide it but is "
        "disabled (listed in OBSNETS_DISABLE_PLUGINS); to use it, remove 'fake_dyn' from "
        "OBSNETS_DISABLE_PLUGINS."
    )
    with pytest.raises(UnknownComponentError, match=r"Plugin 'fake_dyn' .* may provide it"):
        resolve_component("DynCore")
    with pytest.raises(DisabledPluginError, match=r"plugin 'fake_off' .* provides it"):
        resolve_component("OffCore")
    for pkg in ("fake_off", "fake_dyn"):
        assert not [m for m in sys.modules if m == pkg or m.startswith(f"{pkg}.")]


def test_a_first_party_plugins_names_come_from_the_catalog_without_importing_it(
    fake_plugins, monkeypatch
):
    fake_plugins("fake_visual", DYNAMIC_PLUGIN, dist="obsnets-visual")
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_visual")
    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("NoSuchThing", "backbone")
    assert str(excinfo.value) == (
        "Unknown backbone 'NoSuchThing'. Run 'obsnets list' to see every available name."
    )
    with pytest.raises(DisabledPluginError, match=r"plugin 'fake_visual' .* provides it"):
        resolve_component("ResNet18Conv", "backbone")
    assert "fake_visual.plugin" not in sys.modules and "fake_visual" not in sys.modules
