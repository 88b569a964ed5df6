"""Plugin discovery with faked distributions: loading, errors, disable and allow lists."""

from __future__ import annotations

import argparse
import sys
import warnings

import pytest
import torch

from obsnets import EncoderCore, build_component, hookspecs, plugins
from obsnets.cli import plugins_command
from obsnets.encoders.factory import default_encoder_kwargs
from obsnets.errors import PluginLoadError, UnknownComponentError
from obsnets.plugins import PluginHookWarning
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
        "obsnets_add_hookspecs",
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


# -- one plugin cannot take the others down ------------------------------------------------------

RAISING_HOOKS = """
from obsnets import hookimpl

@hookimpl
def obsnets_network_built(network, name, kwargs):
    raise RuntimeError("network hook bug")

@hookimpl
def obsnets_encoder_defaults(modality):
    raise RuntimeError("defaults hook bug")
"""

WATCHING_HOOKS = """
from obsnets import hookimpl

SEEN = []

@hookimpl
def obsnets_network_built(network, name, kwargs):
    SEEN.append(name)

@hookimpl
def obsnets_encoder_defaults(modality):
    if modality == "fake_modality":
        return {{"core_class": "WatchedCore", "core_kwargs": {{"gain": 2}}}}
    return None
"""


class IsolationCore(EncoderCore):
    def output_shape(self, input_shape=None):
        return list(self.input_shape)

    def forward(self, inputs):
        return inputs


def test_a_raising_network_built_hook_is_reported_and_skipped(fake_plugins, capsys):
    fake_plugins("fake_watch", WATCHING_HOOKS)
    fake_plugins("fake_raisehook", RAISING_HOOKS)  # registered last: pluggy calls it first
    with pytest.warns(PluginHookWarning, match=r"'fake_raisehook'.*network hook bug"):
        core = build_component(IsolationCore, {"input_shape": [3]})
    assert torch.equal(core(torch.ones(2, 3)), torch.ones(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once, then skipped
        build_component("IsolationCore", {"input_shape": [2]})
    assert sys.modules["fake_watch.plugin"].SEEN == ["IsolationCore", "IsolationCore"]
    info = {p.name: p for p in plugins.list_plugins()}["fake_raisehook"]
    assert "network hook bug" in info.hook_errors["obsnets_network_built"]
    plugins_command.run(argparse.Namespace(json=False))
    assert "obsnets_network_built: RuntimeError: network hook bug" in capsys.readouterr().out


def test_a_raising_encoder_defaults_hook_lets_the_next_plugin_answer(fake_plugins):
    fake_plugins("fake_watch", WATCHING_HOOKS)
    fake_plugins("fake_raisehook", RAISING_HOOKS)
    with pytest.warns(PluginHookWarning, match=r"'fake_raisehook'.*obsnets_encoder_defaults"):
        answer = default_encoder_kwargs("fake_modality")
    assert answer == {"core_class": "WatchedCore", "core_kwargs": {"gain": 2}}


SECOND_CLAIMS_FIRSTS_CLASS = """
from obsnets import hookimpl

@hookimpl
def obsnets_register_components(register):
    register("encoder_core", "SecondOwnCore", "fake_second.components:SecondOwnCore")
    register("encoder_core", "FakeGoodCore", "fake_first.components:FakeGoodCore")
"""


@pytest.mark.parametrize("owner_first", [True, False])
def test_a_plugin_claiming_another_plugins_class_fails_alone(fake_plugins, owner_first):
    add_owner = lambda: fake_plugins("fake_first", GOOD_PLUGIN, GOOD_COMPONENTS)  # noqa: E731
    if owner_first:
        add_owner()
    fake_plugins("fake_second", SECOND_CLAIMS_FIRSTS_CLASS)
    if not owner_first:
        add_owner()
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_first"].status == "loaded"
    assert infos["fake_first"].components == [("encoder_core", "FakeGoodCore")]
    assert infos["fake_second"].status == "failed"
    assert "fake-first" in infos["fake_second"].reason
    assert plugins.registry.lookup("FakeGoodCore").provider == "fake-first"
    assert not plugins.registry.find("SecondOwnCore")  # none of the loser's declarations kept


def test_a_plugin_claiming_a_core_class_leaves_the_core_intact(fake_plugins):
    fake_plugins(
        "fake_thief",
        """
        from obsnets import hookimpl

        @hookimpl
        def obsnets_register_components(register):
            register("network", "MIMO_MLP", "obsnets.mimo.mimo_mlp:MIMO_MLP")
        """,
    )
    fake_plugins.existing("core", "obsnets.plugin", "obsnets")  # discovered after the thief
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["core"].status == "loaded" and infos["fake_thief"].status == "failed"
    entry = plugins.registry.lookup("MIMO_MLP", "network")
    assert entry.provider == "obsnets" and entry.plugin == "core"
    assert resolve_component("MIMO_MLP").__module__ == "obsnets.mimo.mimo_mlp"


INTERRUPTING_ONCE = """
import pathlib
from obsnets import hookimpl

FLAG = pathlib.Path({flag!r})

def _interrupt_once():
    if not FLAG.exists():
        FLAG.write_text("interrupted")
        raise KeyboardInterrupt

{at_import}

@hookimpl
def obsnets_register_components(register):
    {in_hook}
    register("encoder_core", "LateCore", "{{pkg}}.components:LateCore")
"""


@pytest.mark.parametrize("where", ["import", "hook"])
def test_an_interrupted_discovery_completes_at_the_next_lookup(fake_plugins, tmp_path, where):
    source = INTERRUPTING_ONCE.format(
        flag=str(tmp_path / "flag"),
        at_import="_interrupt_once()" if where == "import" else "",
        in_hook="_interrupt_once()" if where == "hook" else "",
    )
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins("fake_ctrlc", source, GOOD_COMPONENTS.replace("FakeGoodCore", "LateCore"))
    with pytest.raises(KeyboardInterrupt):
        resolve_component("FakeGoodCore")
    assert resolve_component("LateCore").__name__ == "LateCore"
    assert resolve_component("FakeGoodCore").__name__ == "FakeGoodCore"
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_ctrlc"].status == infos["fake_good"].status == "loaded"


@pytest.mark.parametrize("where", ["import", "hook"])
def test_system_exit_from_a_plugin_fails_only_that_plugin(fake_plugins, where):
    exiting = (
        "raise SystemExit(7)\n"
        if where == "import"
        else "from obsnets import hookimpl\n\n"
        "@hookimpl\ndef obsnets_register_components(register):\n    raise SystemExit(7)\n"
    )
    fake_plugins("fake_exit", exiting)
    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    assert resolve_component("FakeGoodCore").__name__ == "FakeGoodCore"
    infos = {p.name: p for p in plugins.list_plugins()}
    assert infos["fake_exit"].status == "failed" and "SystemExit: 7" in infos["fake_exit"].reason


def test_a_second_distribution_under_a_taken_plugin_name_fails_alone(fake_plugins, capsys):
    fake_plugins("fake_first", GOOD_PLUGIN, GOOD_COMPONENTS, dist="obsnets-first")
    fake_plugins("fake_second", GOOD_PLUGIN.replace("FakeGoodCore", "FakeSecondCore"))
    fake_plugins.existing("fake_first", "fake_second.plugin", "obsnets-second")
    found = plugins.list_plugins()
    assert [(p.name, p.distribution, p.status) for p in found] == [
        ("fake_first", "obsnets-first", "loaded"),
        ("fake_first", "obsnets-second", "failed"),
        ("fake_second", "fake-second", "loaded"),
    ]
    assert isinstance(found[1].error, PluginLoadError)
    assert found[1].reason == (
        "its name is taken: PluginLoadError: Plugin name 'fake_first' is declared by two "
        "distributions: obsnets-first (kept under that name) and obsnets-second (not "
        "loaded). Uninstall one of them, or rename the entry point in one distribution's "
        "[project.entry-points.obsnets]."
    )
    assert plugins.get_plugin_manager().get_plugin("fake_first") is sys.modules["fake_first.plugin"]
    assert resolve_component("FakeGoodCore").__module__ == "fake_first.components"
    plugins_command.run(argparse.Namespace(json=False))
    assert "fake_first  (obsnets-second 1.0)  [failed]" in capsys.readouterr().out


def test_register_plugin_raises_when_its_declaration_fails(fake_plugins):
    class RaisingPlugin:
        @hookspecs.hookimpl
        def obsnets_register_components(self, register):
            raise ValueError("cannot declare")

    class CollidingPlugin:
        @hookspecs.hookimpl
        def obsnets_register_components(self, register):
            register("encoder_core", "FakeGoodCore", "fake_good.components:FakeGoodCore")

    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    with pytest.raises(PluginLoadError) as excinfo:
        plugins.register_plugin(RaisingPlugin(), "raising")
    assert str(excinfo.value) == (
        "Plugin 'raising': declaring its components failed: ValueError: cannot declare"
    )
    assert isinstance(excinfo.value.__cause__, ValueError)
    with pytest.raises(
        PluginLoadError, match=r"declared by two providers: fake-good .* and my-dist"
    ):
        plugins.register_plugin(CollidingPlugin(), "colliding", distribution="my-dist")
    # Neither is left registered; the installed plugin keeps its component.
    assert [p.name for p in plugins.list_plugins()] == ["fake_good"]
    assert not plugins.get_plugin_manager().has_plugin("raising")
    assert [e.provider for e in plugins.registry.find("FakeGoodCore")] == ["fake-good"]


def test_register_plugin_refuses_a_name_an_installed_plugin_has(fake_plugins, monkeypatch):
    class RuntimePlugin:
        @hookspecs.hookimpl
        def obsnets_register_components(self, register):
            pass

    fake_plugins("fake_good", GOOD_PLUGIN, GOOD_COMPONENTS)
    fake_plugins("fake_off", GOOD_PLUGIN.replace("FakeGoodCore", "FakeOffCore"))
    monkeypatch.setenv(plugins.DISABLE_ENV, "fake_off")
    for name, dist in (("fake_good", "fake-good"), ("fake_off", "fake-off")):
        with pytest.raises(PluginLoadError) as excinfo:
            plugins.register_plugin(RuntimePlugin(), name)
        assert str(excinfo.value) == (
            f"Plugin name {name!r} is already taken by the installed plugin {name!r} ({dist}); "
            f"register this one under another name."
        )
    assert {p.name: p.status for p in plugins.list_plugins()} == {
        "fake_good": "loaded",
        "fake_off": "disabled",
    }


def test_the_catalog_lists_exactly_what_each_installed_first_party_plugin_declares():
    # The catalog is written out so that no plugin module is imported to read it; this keeps
    # it in step with the declarations (the core's are obsnets.plugin.COMPONENTS).
    from obsnets.catalog import FIRST_PARTY_COMPONENTS
    from obsnets.plugin import COMPONENTS
    from obsnets.registry import registry

    assert FIRST_PARTY_COMPONENTS["obsnets"] == tuple(COMPONENTS)
    declared: dict[str, set[str]] = {}
    for entry in registry.entries():
        if entry.plugin is not None and entry.provider in FIRST_PARTY_COMPONENTS:
            declared.setdefault(entry.provider, set()).add(entry.name)
    assert "obsnets" in declared
    for distribution, names in declared.items():
        assert names == set(FIRST_PARTY_COMPONENTS[distribution]), distribution
