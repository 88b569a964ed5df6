"""save_pretrained / load: JSON config + safetensors, rebuilt through the registry."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import obsnets
from obsnets import (
    MLP,
    AmbiguousNameError,
    ConfigError,
    NetworkBase,
    ObsnetsError,
    PluginLoadError,
    UnknownComponentError,
)
from obsnets.registry import ComponentEntry, qualified_name_of
from obsnets.saving import CONFIG_FILE, WEIGHTS_FILE, PluginVersionWarning, load, save_pretrained


class TwoHeadNet(NetworkBase):
    """A small network whose trunk is registered twice (as robomimic-compatible modules are)."""

    def __init__(self, input_dim, hidden=(8,), activation=nn.Tanh, heads=None):
        super().__init__()
        self.trunk = MLP(input_dim, 6, layer_dims=hidden, activation=activation)
        self.nets = nn.ModuleDict({"trunk": self.trunk})  # alias: same tensors, two keys
        self.heads = nn.ModuleDict({k: nn.Linear(6, d) for k, d in (heads or {}).items()})

    def output_shape(self, input_shape=None):
        return {k: [h.out_features] for k, h in self.heads.items()}

    def forward(self, x):
        features = self.trunk(x)
        return {k: head(features) for k, head in self.heads.items()}


def _model():
    torch.manual_seed(0)
    return TwoHeadNet(4, hidden=(8, 8), activation=nn.Tanh, heads={"a": 2, "b": 3})


def test_round_trip_rebuilds_by_name_and_reproduces_outputs(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["component"]["name"] == "TwoHeadNet"
    assert config["component"]["kwargs"] == {
        "input_dim": 4,
        "hidden": [8, 8],
        "activation": "torch.nn.Tanh",
        "heads": {"a": 2, "b": 3},
    }
    assert "obsnets" in config["requires"]
    assert config["weights"]["tied"] == {
        "nets.trunk._model.0.weight": "trunk._model.0.weight",
        "nets.trunk._model.0.bias": "trunk._model.0.bias",
        "nets.trunk._model.2.weight": "trunk._model.2.weight",
        "nets.trunk._model.2.bias": "trunk._model.2.bias",
        "nets.trunk._model.4.weight": "trunk._model.4.weight",
        "nets.trunk._model.4.bias": "trunk._model.4.bias",
    }
    loaded = obsnets.saving.load(tmp_path)
    assert type(loaded) is TwoHeadNet and isinstance(loaded.trunk._model[1], nn.Tanh)
    x = torch.randn(5, 4)
    for key, value in model(x).items():
        torch.testing.assert_close(loaded(x)[key], value, rtol=0, atol=0)
    assert loaded.nets["trunk"] is loaded.trunk
    assert TwoHeadNet.from_pretrained(tmp_path).heads["b"].out_features == 3
    with pytest.raises(ConfigError, match="holds a TwoHeadNet, not a MLP"):
        MLP.from_pretrained(tmp_path)


def test_corrupted_tensor_is_named(tmp_path):
    save_pretrained(_model(), tmp_path)
    raw = bytearray((tmp_path / WEIGHTS_FILE).read_bytes())
    raw[-3] ^= 0xFF  # flip bits inside the last tensor's data
    (tmp_path / WEIGHTS_FILE).write_bytes(bytes(raw))
    with pytest.raises(ObsnetsError, match=r"Tensor .* checksum .* corrupted"):
        load(tmp_path)


def test_weights_of_another_model_are_named(tmp_path):
    save_pretrained(_model(), tmp_path / "a")
    torch.manual_seed(1)
    save_pretrained(TwoHeadNet(4, hidden=(8, 8), heads={"a": 2, "b": 4}), tmp_path / "b")
    (tmp_path / "a" / WEIGHTS_FILE).write_bytes((tmp_path / "b" / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ObsnetsError, match=r"'heads.b.weight' .* is float32 \[4, 6\]"):
        load(tmp_path / "a")


def test_missing_plugin_names_the_distribution(tmp_path):
    save_pretrained(_model(), tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["requires"]["obsnets-notinstalled"] = "0.1.0"
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(PluginLoadError, match="pip install obsnets-notinstalled"):
        load(tmp_path)


def test_version_mismatch_warns(tmp_path):
    save_pretrained(_model(), tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["requires"]["obsnets"] = "0.0.1"
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.warns(PluginVersionWarning, match="saved with obsnets 0.0.1"):
        load(tmp_path)


def test_unsaveable_argument_is_a_clear_error(tmp_path):
    class HoldsModule(NetworkBase):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def output_shape(self, input_shape=None):
            return [1]

    with pytest.raises(ConfigError, match=r"HoldsModule.inner"):
        save_pretrained(HoldsModule(nn.Linear(2, 2)), tmp_path)
    with pytest.raises(ConfigError, match="not a registered obsnets component"):
        save_pretrained(nn.Linear(2, 2), tmp_path)


def test_not_a_saved_model(tmp_path):
    with pytest.raises(ConfigError, match="No saved obsnets model"):
        load(tmp_path)


def test_inspect_cli(tmp_path, run_cli):
    # TwoHeadNet lives in this test module, so inspect (which only reads files) is enough.
    save_pretrained(_model(), tmp_path)
    result = run_cli("inspect", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "TwoHeadNet  (network" in result.stdout
    assert "obsnets" in result.stdout and "aliases" in result.stdout
    assert "activation = 'torch.nn.Tanh'" in result.stdout


class NamedCoreNet(NetworkBase):
    """Builds a nested encoder core from a plain name (as configs name backbones and pools)."""

    def __init__(self, input_dim, core_class="SharedNameCore"):
        super().__init__()
        self.core = obsnets.build_component(
            core_class, {"input_shape": [input_dim]}, kind="encoder_core"
        )

    def output_shape(self, input_shape=None):
        return self.core.output_shape()

    def forward(self, x):
        return self.core(x)


class SharedNameCore(obsnets.EncoderCore):
    """The provider a model is saved with."""

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.linear = nn.Linear(input_shape[0], 3)

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, inputs):
        return self.linear(inputs)


def _second_provider():
    # Defined in a function: same plain name, another qualified name (another provider).
    class SharedNameCore(obsnets.EncoderCore):
        def __init__(self, input_shape):
            super().__init__(input_shape)
            self.linear = nn.Linear(input_shape[0], 3)

        def output_shape(self, input_shape=None):
            return [3]

        def forward(self, inputs):
            return -self.linear(inputs)

    return SharedNameCore


def test_nested_plain_names_load_the_saved_class_after_a_second_provider_appears(
    isolated_registry, tmp_path
):
    torch.manual_seed(0)
    model = NamedCoreNet(4)
    save_pretrained(model, tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["component"]["kwargs"] == {"input_dim": 4}  # the default name is not in it
    recorded = {c["name"]: c for c in config["components"]}
    assert recorded["SharedNameCore"] == {
        "kind": "encoder_core",
        "name": "SharedNameCore",
        "qualified_name": qualified_name_of(SharedNameCore),
    }

    impostor = _second_provider()
    with pytest.raises(AmbiguousNameError) as excinfo:
        NamedCoreNet(4)
    message = str(excinfo.value)
    assert f"{qualified_name_of(SharedNameCore)!r}" in message
    assert f"{qualified_name_of(impostor)!r}" in message
    assert "qualified name" in message and "OBSNETS_DISABLE_PLUGINS=" in message

    loaded = load(tmp_path)
    assert type(loaded.core) is SharedNameCore
    x = torch.randn(5, 4)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)

    # The saved provider gone: the other class of that name is never substituted.
    isolated_registry.remove("encoder_core", qualified_name_of(SharedNameCore))
    assert obsnets.resolve_component("SharedNameCore") is impostor
    with pytest.raises(UnknownComponentError) as excinfo:
        load(tmp_path)
    assert f"saved as {qualified_name_of(SharedNameCore)!r}" in str(excinfo.value)


def test_ambiguity_error_names_the_plugin_to_disable(isolated_registry):
    isolated_registry.add(
        ComponentEntry("pool", "DupPool", "dup_a:DupPool", "obsnets-dup-a", "dup_a:DupPool", "dupa")
    )
    isolated_registry.add(
        ComponentEntry("pool", "DupPool", "dup_b:DupPool", "obsnets-dup-b", "dup_b:DupPool", "dupb")
    )
    with pytest.raises(AmbiguousNameError) as excinfo:
        obsnets.resolve_component("DupPool", "pool")
    message = str(excinfo.value)
    assert "'dup_a:DupPool'  (pool, from obsnets-dup-a, plugin 'dupa')" in message
    assert "'dup_b:DupPool'  (pool, from obsnets-dup-b, plugin 'dupb')" in message
    assert "e.g. 'dup_a:DupPool' instead of 'DupPool'" in message
    assert "OBSNETS_DISABLE_PLUGINS=dupb" in message


class DropoutNet(NetworkBase):
    """Computes different numbers in train and eval mode."""

    def __init__(self, input_dim, dropout=0.5):
        super().__init__()
        self.mlp = MLP(input_dim, 3, layer_dims=(16,), dropouts=(dropout,))

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, x):
        return self.mlp(x)


def test_load_returns_the_model_in_eval_mode(tmp_path):
    torch.manual_seed(0)
    model = DropoutNet(4).train()
    save_pretrained(model, tmp_path)
    x = torch.randn(6, 4)
    train_out = model(x)
    model.eval()
    eval_out = model(x)
    assert not torch.allclose(train_out, eval_out)
    for loaded in (load(tmp_path), DropoutNet.from_pretrained(tmp_path)):
        assert not any(m.training for m in loaded.modules())
        torch.testing.assert_close(loaded(x), eval_out, rtol=0, atol=0)
