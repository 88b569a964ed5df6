"""An ObservationEncoder assembled with register_obs_key + make() saves and loads back whole.

Its keys are recorded as the constructor argument ``obs_keys`` (derived from the live
encoder when saving reads ``init_arguments``); a module that cannot be written as a
registered class plus arguments is refused at save time, naming the key.
"""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch import nn

from obsnets import (
    MLP,
    ConfigError,
    EncoderCore,
    InvalidKwargsError,
    ObsnetsError,
    Randomizer,
    UnknownComponentError,
)
from obsnets.encoders import ObservationEncoder, obs_encoder_factory
from obsnets.saving import CONFIG_FILE, load, save_pretrained


class SavedEncTestCore(EncoderCore):
    """Flatten + Linear, nameable by string."""

    def __init__(self, input_shape, out_dim=5):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


class SavedEncTestShift(Randomizer):
    """Drops the first ``cut`` entries of the last dimension; adds ``offset`` on the way out."""

    def __init__(self, input_shape, cut=1, offset=0.5):
        super().__init__()
        self.input_shape, self.cut, self.offset = list(input_shape), cut, offset

    def output_shape_in(self, input_shape=None):
        return [*self.input_shape[:-1], self.input_shape[-1] - self.cut]

    def output_shape_out(self, input_shape=None):
        return list(input_shape)

    def _forward_in(self, inputs):
        return inputs[..., self.cut :]

    def _forward_in_eval(self, inputs):
        return inputs[..., self.cut :]

    def _forward_out(self, inputs):
        return inputs + self.offset

    def _forward_out_eval(self, inputs):
        return inputs + self.offset


class PlainLinear(nn.Linear):
    """A torch module with an output_shape, but no recorded constructor arguments."""

    def output_shape(self, input_shape=None):
        return [self.out_features]


DOTTED = "observation.images.top"


def _assembled(seed=0):
    """Every kind of key: a named core behind a randomizer, a built MLP, sharing, pass-through."""
    torch.manual_seed(seed)
    enc = ObservationEncoder(feature_activation=nn.Tanh)
    enc.register_obs_key(
        DOTTED,
        [2, 3, 4],
        net_class="SavedEncTestCore",
        net_kwargs={"out_dim": 6},
        randomizers=SavedEncTestShift(input_shape=[2, 3, 4], cut=1, offset=0.25),
    )
    enc.register_obs_key("proprio", [7], net=MLP(input_dim=7, output_dim=3, layer_dims=(5,)))
    enc.register_obs_key("proprio.copy", [7], share_net_from="proprio")
    enc.register_obs_key("gripper", [2])
    enc.make()
    return enc


def _obs(batch_size=3):
    return {
        DOTTED: torch.randn(batch_size, 2, 3, 4),
        "proprio": torch.randn(batch_size, 7),
        "proprio.copy": torch.randn(batch_size, 7),
        "gripper": torch.randn(batch_size, 2),
    }


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key, value in sa.items():
        assert value.dtype == sb[key].dtype and torch.equal(value, sb[key]), key


def test_an_assembled_encoder_saves_and_loads_with_equal_outputs(tmp_path):
    enc = _assembled()
    save_pretrained(enc, tmp_path)
    loaded = load(tmp_path)
    assert type(loaded) is ObservationEncoder and not loaded.training
    _same_state(enc, loaded)
    assert isinstance(loaded.obs_nets[DOTTED], SavedEncTestCore)
    assert loaded.obs_nets[DOTTED].input_shape == [2, 3, 3]  # after the randomizer's cut
    assert isinstance(loaded.obs_nets["proprio"], MLP)
    assert loaded.obs_nets["gripper"] is None
    (shift,) = loaded.obs_randomizers[DOTTED]
    assert (shift.cut, shift.offset) == (1, 0.25)
    assert loaded.feature_activation is nn.Tanh
    obs = _obs()
    with torch.no_grad():
        expected = enc.eval()(obs)
        torch.testing.assert_close(loaded(obs), expected, rtol=0, atol=0)
    # The numbers, key by key: (6,) core + (3,) MLP + (3,) shared MLP + (2,) pass-through.
    net = enc.obs_nets[DOTTED]
    torch.testing.assert_close(
        expected[:, :6], torch.tanh(net(obs[DOTTED][..., 1:])) + 0.25, rtol=0, atol=0
    )
    mlp = enc.obs_nets["proprio"]
    torch.testing.assert_close(expected[:, 9:12], torch.tanh(mlp(obs["proprio.copy"])))
    torch.testing.assert_close(expected[:, 12:], obs["gripper"], rtol=0, atol=0)


def test_shared_networks_stay_shared_after_loading(tmp_path):
    save_pretrained(_assembled(), tmp_path)
    loaded = load(tmp_path)
    assert loaded.obs_nets["proprio.copy"] is loaded.obs_nets["proprio"]
    with torch.no_grad():
        loaded.obs_nets["proprio"]._model[0].weight.add_(1.0)
    state = loaded.state_dict()
    assert torch.equal(
        state["obs_nets.proprio.copy._model.0.weight"], state["obs_nets.proprio._model.0.weight"]
    )
    # Stored once; the shared entry is an alias.
    saved = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert saved["weights"]["tied"]["obs_nets.proprio.copy._model.0.weight"] == (
        "obs_nets.proprio._model.0.weight"
    )


def test_the_state_dict_keeps_robomimic_keys_with_dotted_observation_keys(tmp_path):
    enc = _assembled()
    keys = set(enc.state_dict())
    assert {
        f"obs_nets.{DOTTED}.lin.weight",
        "obs_nets.proprio._model.0.weight",
        "obs_nets.proprio.copy._model.2.bias",
    } <= keys
    save_pretrained(enc, tmp_path)
    saved = json.loads((tmp_path / CONFIG_FILE).read_text())
    stored = set(saved["weights"]["tensors"]) | set(saved["weights"]["tied"])
    assert stored == keys
    assert list(saved["component"]["kwargs"]["obs_keys"]) == [
        DOTTED,
        "proprio",
        "proprio.copy",
        "gripper",
    ]


def test_init_arguments_describe_every_key_as_registered():
    enc = _assembled()
    arguments = enc.init_arguments
    assert arguments["feature_activation"] is nn.Tanh
    assert arguments["obs_keys"] == {
        DOTTED: {
            "shape": [2, 3, 4],
            "net_class": SavedEncTestCore,
            "net_kwargs": {"out_dim": 6, "input_shape": [2, 3, 3]},
            "randomizers": [
                {
                    "class": SavedEncTestShift,
                    "kwargs": {"input_shape": [2, 3, 4], "cut": 1, "offset": 0.25},
                }
            ],
        },
        "proprio": {
            "shape": [7],
            "net": {"class": MLP, "kwargs": {"input_dim": 7, "output_dim": 3, "layer_dims": (5,)}},
        },
        "proprio.copy": {"shape": [7], "share_net_from": "proprio"},
        "gripper": {"shape": [2]},
    }
    arguments["obs_keys"]["proprio"]["net"]["kwargs"]["output_dim"] = 99  # a copy
    assert enc.init_arguments["obs_keys"]["proprio"]["net"]["kwargs"]["output_dim"] == 3
    assert enc.obs_nets["proprio"].init_arguments["output_dim"] == 3


def test_obs_keys_builds_what_register_obs_key_builds():
    enc = _assembled(seed=3)
    torch.manual_seed(3)
    rebuilt = ObservationEncoder(**enc.init_arguments)
    _same_state(enc, rebuilt)  # same modules, same keys, same initialisation order
    assert repr(rebuilt) == repr(enc)
    obs = _obs()
    torch.testing.assert_close(rebuilt.eval()(obs), enc.eval()(obs), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="already built"):
        rebuilt.register_obs_key("late", [1])


def test_a_randomizer_replaced_by_a_registered_one_saves_as_replaced(tmp_path):
    enc = _assembled()
    enc.obs_randomizers[DOTTED][0] = SavedEncTestShift(input_shape=[2, 3, 4], cut=1, offset=-2.0)
    save_pretrained(enc, tmp_path)
    loaded = load(tmp_path)
    assert loaded.obs_randomizers[DOTTED][0].offset == -2.0
    obs = _obs()
    torch.testing.assert_close(loaded(obs), enc.eval()(obs), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("register", "path"),
    [
        (
            lambda enc: enc.register_obs_key("observation.state", [4], net=PlainLinear(4, 3)),
            "ObservationEncoder.obs_keys['observation.state']['net']",
        ),
        (
            lambda enc: enc.register_obs_key(
                "proprio",
                [4],
                net=MLP(input_dim=4, output_dim=3),
                randomizers=[SavedEncTestShift([4], cut=0), _UnregisteredRandomizer()],
            ),
            "ObservationEncoder.obs_keys['proprio']['randomizers'][1]",
        ),
    ],
    ids=["torch-module-net", "unregistered-randomizer"],
)
def test_a_module_that_cannot_be_recorded_is_refused_naming_the_key(tmp_path, register, path):
    enc = ObservationEncoder()
    register(enc)
    enc.make()
    target = tmp_path / "model"
    with pytest.raises(ConfigError) as excinfo:
        save_pretrained(enc, target)
    message = str(excinfo.value)
    for fragment in (path, "registered obsnets component", "net_class/net_kwargs", "Nothing"):
        assert fragment in message, (fragment, message)
    assert not target.exists()


class _UnregisteredRandomizer(nn.Module):
    """Has the randomizer methods, but is no registered component."""

    def output_shape_in(self, input_shape=None):
        return list(input_shape)

    def output_shape_out(self, input_shape=None):
        return list(input_shape)

    def forward_in(self, inputs):
        return inputs

    def forward_out(self, inputs):
        return inputs


def test_an_encoder_from_the_factory_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    enc = obs_encoder_factory(
        {"image": [2, 3, 4], "eef_pos": [3]},
        encoder_kwargs={
            "rgb": {
                "core_class": "SavedEncTestCore",
                "core_kwargs": {"out_dim": 4},
                "obs_randomizer_class": "SavedEncTestShift",
                "obs_randomizer_kwargs": {"cut": 2},
            }
        },
        obs_modalities={"rgb": ["image"], "low_dim": ["eef_pos"]},
    )
    save_pretrained(enc, tmp_path)
    loaded = load(tmp_path)
    _same_state(enc, loaded)
    obs = {"image": torch.randn(2, 2, 3, 4), "eef_pos": torch.randn(2, 3)}
    torch.testing.assert_close(loaded(obs), enc.eval()(obs), rtol=0, atol=0)


def test_an_encoder_registered_but_not_made_is_refused(tmp_path):
    enc = ObservationEncoder()
    enc.register_obs_key("proprio", [4], net=MLP(input_dim=4, output_dim=3))
    with pytest.raises(ConfigError, match="Not saving ObservationEncoder"):
        save_pretrained(enc, tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    ("obs_keys", "error", "fragments"),
    [
        ([{"shape": [3]}], InvalidKwargsError, ["'obs_keys' must be a dict", "list"]),
        ({"a": [3]}, InvalidKwargsError, ["'obs_keys['a']' must be a dict", "[3]"]),
        ({"a": {"shape": [3], "net_kwarg": {}}}, ConfigError, ["'net_kwarg'", "net_kwargs"]),
        ({"a": {"net_class": "SavedEncTestCore"}}, ConfigError, ["obs_keys['a'] has no 'shape'"]),
        (
            {"a": {"shape": [3], "net": MLP(input_dim=3, output_dim=2)}},
            ConfigError,
            ["obs_keys['a']['net'] must be a mapping", "register_obs_key(net=..."],
        ),
        (
            {"a": {"shape": [3], "randomizers": {"class": "SavedEncTestShift"}}},
            ConfigError,
            ["obs_keys['a']['randomizers'] must be a list"],
        ),
        (
            {"a": {"shape": [3], "net": {"kwargs": {}}}},
            ConfigError,
            ["obs_keys['a']['net'] has no 'class'"],
        ),
        (
            {"a": {"shape": [3], "net": {"class": "MLP", "kwargs": [1]}}},
            ConfigError,
            ["obs_keys['a']['net']['kwargs'] must be a mapping"],
        ),
        (
            {"a": {"shape": [3], "net": {"class": "NoSuchNetAnywhere"}}},
            UnknownComponentError,
            ["NoSuchNetAnywhere"],
        ),
        (
            {"a": {"shape": [3], "net": {"class": "MLP", "kwargs": {"input_dims": 3}}}},
            InvalidKwargsError,
            ["input_dims", "input_dim"],
        ),
        (
            {"a": {"shape": [3], "randomizers": [{"class": "MLP"}]}},
            UnknownComponentError,
            ["MLP"],
        ),
        ({"a": {"shape": [0]}}, ObsnetsError, ["'a'", "positive ints"]),
        (
            {"a": {"shape": [3], "net_class": "SavedEncTestCore", "net_kwargs": 5}},
            ConfigError,
            ["'a'", "net_kwargs must be a mapping", "int"],
        ),
        (
            {"a": {"shape": [3]}, "b": {"shape": [3], "share_net_from": ["a"]}},
            ConfigError,
            ["'b'", "share_net_from must be the name of a registered key", "['a']"],
        ),
        (
            {"a": {"shape": [3], "net": {"class": "MLP", "kwargs": {1: 2}}}},
            ConfigError,
            ["obs_keys['a']['net']['kwargs'] must be keyed by argument names", "[1]"],
        ),
        ({}, ConfigError, ["no observation key is registered"]),
    ],
)
def test_malformed_obs_keys_are_clear_errors(obs_keys, error, fragments):
    with pytest.raises(error) as excinfo:
        ObservationEncoder(obs_keys=obs_keys)
    for fragment in fragments:
        assert fragment in str(excinfo.value), (fragment, str(excinfo.value))


def test_loading_does_not_import_a_module_named_in_obs_keys(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    package = tmp_path / "code"
    package.mkdir()
    (package / "enc_i_hostile.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    )
    monkeypatch.syspath_prepend(str(package))
    model = tmp_path / "model"
    save_pretrained(_assembled(), model)
    config = json.loads((model / CONFIG_FILE).read_text())
    config["component"]["kwargs"]["obs_keys"]["proprio"]["net"]["class"] = "enc_i_hostile:MLP"
    (model / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ObsnetsError, match="enc_i_hostile"):
        load(model)
    assert not marker.exists()
    assert "enc_i_hostile" not in sys.modules
