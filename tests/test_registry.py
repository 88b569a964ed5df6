"""The registry: auto-registration, names, ambiguity, collisions, errors, pickling."""

from __future__ import annotations

import importlib
import pickle
import sys
import textwrap

import pytest
import torch

import obsnets
from obsnets import (
    AmbiguousNameError,
    ComponentCollisionError,
    EncoderCore,
    InvalidKwargsError,
    UnknownComponentError,
    build_component,
    resolve_component,
)
from obsnets.errors import ComponentKindError
from obsnets.registry import ComponentEntry, qualified_name_of


class PicklableCore(EncoderCore):
    """Module-level so it pickles by reference."""

    def __init__(self, input_shape, gain=1.5):
        super().__init__(input_shape)
        self.gain = gain
        self.linear = torch.nn.Linear(input_shape[0], 2)

    def output_shape(self, input_shape=None):
        return [2]

    def forward(self, inputs):
        return self.linear(inputs) * self.gain


def test_subclass_defined_in_a_test_registers_and_builds(isolated_registry):
    class DoublingCore(EncoderCore):
        def __init__(self, input_shape, factor=2.0):
            super().__init__(input_shape)
            self.factor = factor

        def output_shape(self, input_shape=None):
            return list(self.input_shape)

        def forward(self, inputs):
            return inputs * self.factor

    assert resolve_component("DoublingCore", "encoder_core") is DoublingCore
    core = build_component("DoublingCore", {"input_shape": [3], "factor": 3.0})
    out = core(torch.ones(2, 3))
    assert torch.equal(out, torch.full((2, 3), 3.0))
    entry = isolated_registry.lookup("DoublingCore")
    assert entry.kind == "encoder_core"
    assert entry.provider is None and "test_registry" in entry.provider_label


def test_abstract_bases_are_not_registered(isolated_registry):
    class MiddleBase(EncoderCore, abstract=True):
        pass

    assert not isolated_registry.find("MiddleBase")
    assert not isolated_registry.find("EncoderCore")


def test_qualified_name_resolves_and_settles_ambiguity(isolated_registry, tmp_path, monkeypatch):
    source = textwrap.dedent(
        """
        from obsnets import EncoderCore

        class PicklableCore(EncoderCore):
            def output_shape(self, input_shape=None):
                return [1]

            def forward(self, inputs):
                return inputs[:, :1]
        """
    )
    (tmp_path / "other_provider_mod.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    other = importlib.import_module("other_provider_mod").PicklableCore

    with pytest.raises(AmbiguousNameError) as excinfo:
        resolve_component("PicklableCore")
    message = str(excinfo.value)
    assert "2 providers" in message
    assert qualified_name_of(PicklableCore) in message
    assert "other_provider_mod:PicklableCore" in message
    assert resolve_component("other_provider_mod:PicklableCore") is other
    assert resolve_component(qualified_name_of(PicklableCore)) is PicklableCore
    sys.modules.pop("other_provider_mod", None)


def test_qualified_name_imports_a_users_module_only_with_trust(
    isolated_registry, tmp_path, monkeypatch
):
    (tmp_path / "users_cores_mod.py").write_text(
        "from obsnets import EncoderCore\n"
        "class UsersCore(EncoderCore):\n"
        "    def output_shape(self, input_shape=None):\n"
        "        return [1]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "users_cores_mod" not in sys.modules
    with pytest.raises(UnknownComponentError, match="trust_code=True"):
        resolve_component("users_cores_mod:UsersCore", "encoder_core")
    assert "users_cores_mod" not in sys.modules
    cls = resolve_component("users_cores_mod:UsersCore", "encoder_core", trust_code=True)
    assert cls.__name__ == "UsersCore"
    with pytest.raises(ComponentKindError, match="is an encoder_core, not a backbone"):
        resolve_component("users_cores_mod:UsersCore", "backbone")
    sys.modules.pop("users_cores_mod", None)


def test_reload_does_not_collide(isolated_registry, tmp_path, monkeypatch):
    (tmp_path / "reloaded_mod.py").write_text(
        "from obsnets import EncoderCore\n"
        "class ReloadedCore(EncoderCore):\n"
        "    def output_shape(self, input_shape=None):\n"
        "        return [1]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reloaded_mod")
    first = module.ReloadedCore
    module = importlib.reload(module)
    assert module.ReloadedCore is not first
    assert resolve_component("ReloadedCore") is module.ReloadedCore
    assert len(isolated_registry.find("ReloadedCore")) == 1
    sys.modules.pop("reloaded_mod", None)


def test_two_providers_of_one_qualified_name_collide(isolated_registry):
    entry = ComponentEntry("backbone", "Clash", "clash_mod:Clash", "dist-a", "clash_mod:Clash")
    isolated_registry.add(entry)
    with pytest.raises(ComponentCollisionError) as excinfo:
        isolated_registry.add(
            ComponentEntry("backbone", "Clash", "clash_mod:Clash", "dist-b", "clash_mod:Clash")
        )
    assert "dist-a" in str(excinfo.value) and "dist-b" in str(excinfo.value)


def test_unknown_name_suggests_close_matches(isolated_registry):
    class SpecialRGBCore(EncoderCore):
        def output_shape(self, input_shape=None):
            return [1]

    with pytest.raises(UnknownComponentError) as excinfo:
        resolve_component("SpecialRgbCor", "encoder_core")
    assert "Did you mean 'SpecialRGBCore'" in str(excinfo.value)
    assert isinstance(excinfo.value, LookupError)


def test_unknown_first_party_name_names_the_pip_install(isolated_registry, monkeypatch):
    monkeypatch.setattr(
        "obsnets.catalog.FIRST_PARTY_COMPONENTS", {"obsnets-notinstalled": ("GhostCore",)}
    )
    with pytest.raises(UnknownComponentError, match="pip install obsnets-notinstalled"):
        resolve_component("GhostCore")


def test_kind_restricts_lookup(isolated_registry):
    class KindCheckedCore(EncoderCore):
        def output_shape(self, input_shape=None):
            return [1]

    with pytest.raises(ComponentKindError, match="'KindCheckedCore' is an encoder_core, not a"):
        resolve_component("KindCheckedCore", "backbone")
    assert resolve_component("KindCheckedCore", "encoder_core") is KindCheckedCore


def test_strict_kwargs_name_component_and_valid_parameters():
    with pytest.raises(InvalidKwargsError) as excinfo:
        build_component(PicklableCore, {"input_shape": [3], "gian": 2.0})
    message = str(excinfo.value)
    assert "PicklableCore" in message and "'gian'" in message
    assert "Did you mean 'gain'" in message and "input_shape, gain" in message
    assert isinstance(excinfo.value, TypeError)
    with pytest.raises(InvalidKwargsError, match=r"missing required argument.*input_shape"):
        build_component(PicklableCore, {})


def test_registered_class_and_instance_pickle():
    torch.manual_seed(0)
    core = PicklableCore([3])
    assert pickle.loads(pickle.dumps(PicklableCore)) is PicklableCore
    clone = pickle.loads(pickle.dumps(core))
    x = torch.randn(4, 3)
    assert torch.equal(clone(x), core(x))


def test_list_components_globs(isolated_registry):
    class GlobAlphaCore(EncoderCore):
        def output_shape(self, input_shape=None):
            return [1]

    class GlobBetaCore(EncoderCore):
        def output_shape(self, input_shape=None):
            return [1]

    names = [e.name for e in obsnets.list_components("encoder_core", "Glob*Core")]
    assert names == ["GlobAlphaCore", "GlobBetaCore"]
    assert obsnets.is_component("GlobAlphaCore")
    assert not obsnets.is_component("GlobGammaCore")


def test_subclasses_torch_generates_are_not_registered(isolated_registry):
    import torch.nn.utils.parametrize as parametrize

    class ScaledCore(EncoderCore):
        def __init__(self, input_shape):
            super().__init__(input_shape)
            self.scale = torch.nn.Parameter(torch.ones(input_shape))

        def output_shape(self, input_shape=None):
            return list(self.input_shape)

    class Double(torch.nn.Module):
        def forward(self, weight):
            return weight * 2

    core = ScaledCore([3])
    parametrize.register_parametrization(core, "scale", Double())
    proxy = type("ScaledCore", (ScaledCore,), {"__module__": "abc"})  # as torch.compile does
    assert type(core).__name__ == "ParametrizedScaledCore"
    assert not isolated_registry.find("ParametrizedScaledCore")
    assert [e.qualified_name for e in isolated_registry.find("ScaledCore")] == [
        qualified_name_of(ScaledCore)
    ]
    assert resolve_component("ScaledCore") is ScaledCore and proxy is not ScaledCore
