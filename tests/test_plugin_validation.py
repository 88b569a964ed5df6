"""pluggy's validation of a plugin's hooks: a misspelled hook name or wrong arguments fail that
plugin alone, named, with the hook names that look like it."""

from __future__ import annotations

import argparse
import sys

import pluggy
import pytest

from obsnets import build_component, hookspecs, plugins
from obsnets.cli import plugins_command
from obsnets.errors import PluginLoadError
from obsnets.plugin_validation import register_checked
from obsnets.registry import resolve_component

GOOD = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("encoder_core", "GoodCore", "{pkg}.components:GoodCore")
"""

GOOD_COMPONENTS = """
from obsnets import EncoderCore

class GoodCore(EncoderCore):
    def output_shape(self, input_shape=None):
        return list(self.input_shape)

    def forward(self, inputs):
        return inputs
"""

MISSPELLED = """
from obsnets import hookimpl

SEEN = []

@hookimpl
def obsnets_register_componets(register):
    register("encoder_core", "TypoCore", "{pkg}.components:TypoCore")

@hookimpl
def obsnets_network_built(network, name, kwargs):
    SEEN.append(name)
"""


def test_a_misspelled_hook_fails_its_plugin_alone(fake_plugins, capsys):
    fake_plugins("fake_typo", MISSPELLED)
    fake_plugins("fake_good", GOOD, GOOD_COMPONENTS)
    infos = {p.name: p for p in plugins.list_plugins()}
    typo = infos["fake_typo"]
    assert typo.status == "failed" and isinstance(typo.error, PluginLoadError)
    assert "Plugin 'fake_typo' implements hook 'obsnets_register_componets'" in typo.reason
    assert "Did you mean 'obsnets_register_components'?" in typo.reason
    assert infos["fake_good"].status == "loaded"
    build_component("GoodCore", {"input_shape": [2]})
    assert sys.modules["fake_typo.plugin"].SEEN == []  # none of the failed plugin's hooks run
    plugins_command.run(argparse.Namespace(json=False))
    out = capsys.readouterr().out
    assert "fake_typo  (fake-typo 1.0)  [failed]" in out and "obsnets_register_componets" in out


def test_an_optional_unknown_hook_is_accepted(fake_plugins):
    fake_plugins(
        "fake_future",
        GOOD
        + """
@hookimpl(optionalhook=True)
def obsnets_hook_of_a_newer_obsnets(value):
    return value
""",
        GOOD_COMPONENTS,
    )
    assert {p.name: p.status for p in plugins.list_plugins()}["fake_future"] == "loaded"
    assert resolve_component("GoodCore").__name__ == "GoodCore"


def test_wrong_hook_arguments_fail_the_plugin_with_the_spec_named(fake_plugins):
    fake_plugins(
        "fake_args",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(registrar):
            pass
        """,
    )
    info = {p.name: p for p in plugins.list_plugins()}["fake_args"]
    assert info.status == "failed"
    assert "does not match obsnets' hook spec" in info.reason and "registrar" in info.reason


def test_register_plugin_refuses_a_misspelled_hook(fake_plugins):
    class Typo:
        @hookspecs.hookimpl
        def obsnets_network_bulit(self, network, name, kwargs):
            pass

    with pytest.raises(PluginLoadError, match="Did you mean 'obsnets_network_built'"):
        plugins.register_plugin(Typo(), "runtime_typo")
    assert "runtime_typo" not in {p.name for p in plugins.list_plugins()}
    assert not plugins.get_plugin_manager().has_plugin("runtime_typo")


DEFINES_A_HOOK = """
import sys

from obsnets import hookimpl
from obsnets.hookspecs import hookspec


@hookspec
def fake_acme_register_skills(register):
    '''A hook of this plugin's own, for other plugins to implement.'''


@hookimpl
def obsnets_add_hookspecs(plugin_manager):
    plugin_manager.add_hookspecs(sys.modules[__name__])
"""

IMPLEMENTS_IT = """
from obsnets import hookimpl


@hookimpl
def fake_acme_register_skills(register):
    register("grasp")
"""


def test_a_plugin_may_implement_a_hook_another_plugin_defines_whatever_their_order(
    fake_plugins,
):
    # discovered first: its hook is unknown until the defining plugin adds its specs
    fake_plugins("fake_aaa_user", IMPLEMENTS_IT)
    fake_plugins("fake_zzz_definer", DEFINES_A_HOOK)
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_aaa_user"].status == "loaded", infos["fake_aaa_user"].reason
    assert infos["fake_zzz_definer"].status == "loaded"
    skills = []
    plugins.get_plugin_manager().hook.fake_acme_register_skills(register=skills.append)
    assert skills == ["grasp"]


def test_without_the_defining_plugin_the_hook_is_unknown(fake_plugins):
    fake_plugins("fake_aaa_user", IMPLEMENTS_IT)
    user = {p.name: p for p in plugins.list_plugins()}["fake_aaa_user"]
    assert user.status == "failed"
    assert "implements hook 'fake_acme_register_skills'" in user.reason
    assert "for a plugin that may not be installed" in user.reason


def test_a_plugin_registered_at_runtime_adds_its_specs_before_its_names_are_checked(
    fake_plugins, tmp_path
):
    fake_plugins("fake_aaa_user", IMPLEMENTS_IT)
    plugins.list_plugins()
    (tmp_path / "fake_runtime_definer.py").write_text(DEFINES_A_HOOK)
    import importlib

    definer = importlib.import_module("fake_runtime_definer")
    plugins.register_plugin(definer, "fake_runtime_definer")
    try:
        skills = []
        plugins.get_plugin_manager().hook.fake_acme_register_skills(register=skills.append)
        assert skills == []  # the user plugin failed at discovery, before the spec existed
    finally:
        plugins.unregister_plugin("fake_runtime_definer")


def test_register_checked_refuses_a_taken_name_and_a_plugin_registered_twice():
    class First:
        def __repr__(self):
            return "<First>"

    class Second:
        def __repr__(self):
            return "<Second>"

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    first = First()
    register_checked(manager, first, "acme")
    with pytest.raises(PluginLoadError) as excinfo:
        register_checked(manager, Second(), "acme")
    assert str(excinfo.value) == (
        "Plugin name 'acme' is already taken by <First>; choose another name for <Second>."
    )
    with pytest.raises(PluginLoadError) as excinfo:
        register_checked(manager, first, "acme2")
    assert str(excinfo.value) == (
        "Cannot register <First> as plugin 'acme2': it is already registered as 'acme'. "
        "Unregister it first, or keep that name."
    )
    assert manager.list_name_plugin() == [("acme", first)]
