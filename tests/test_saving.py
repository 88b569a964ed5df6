"""save_pretrained / load: JSON config + safetensors, rebuilt through the registry."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import obsnets
from obsnets import MLP, ConfigError, NetworkBase, ObsnetsError, PluginLoadError
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
