"""A model its saved config does not rebuild is refused at save time, before anything is written."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import obsnets
from obsnets import MLP, ConfigError, NetworkBase, ObservationDecoder, ObservationEncoder
from obsnets.saving import load, save_pretrained


class TiedHeads(NetworkBase):
    """Two heads of one size, optionally sharing their weight."""

    def __init__(self, tie=False):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 3)
        if tie:
            self.b.weight = self.a.weight

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, x):
        return self.a(x) + self.b(x)


class DrawsAtInit(NetworkBase):
    """Consumes the global random generator while it is built."""

    def __init__(self, width=3):
        super().__init__()
        self.scale = float(torch.rand(()))
        self.linear = nn.Linear(width, width)

    def output_shape(self, input_shape=None):
        return [3]


def _decoder():
    torch.manual_seed(0)
    return ObservationDecoder({"a": [3], "b": [2]}, input_feat_dim=8)


def _refused(model, tmp_path, *fragments):
    target = tmp_path / "model"
    with pytest.raises(ConfigError) as excinfo:
        save_pretrained(model, target)
    message = str(excinfo.value)
    assert f"Not saving {type(model).__name__}" in message and "Nothing was written" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_submodule_replaced_by_another_class_is_refused(tmp_path):
    model = _decoder()
    model.nets["a"] = MLP(input_dim=8, output_dim=3, layer_dims=(5,))
    _refused(model, tmp_path, "module 'nets.a' is a MLP, in the rebuilt one a Linear")


def test_parameters_added_or_removed_after_construction_are_refused(tmp_path):
    model = _decoder()
    model.extra = nn.Parameter(torch.zeros(2))
    _refused(model, tmp_path, "state_dict entry 'extra' is not in the rebuilt one")
    model = _decoder()
    model.nets["b"].bias = None
    _refused(model, tmp_path, "the rebuilt one has state_dict entry 'nets.b.bias'")


def test_a_reshaped_layer_is_refused(tmp_path):
    model = _decoder()
    model.nets["b"] = nn.Linear(8, 5)
    _refused(model, tmp_path, "'nets.b.weight' has shape [5, 8], in the rebuilt one [2, 8]")


def test_parameters_tied_after_construction_are_refused(tmp_path):
    model = TiedHeads()
    model.b.weight = model.a.weight
    _refused(model, tmp_path, "entries sharing one tensor differ")
    # Tied by the constructor: saved once, loaded tied.
    torch.manual_seed(0)
    model = TiedHeads(tie=True)
    save_pretrained(model, tmp_path / "tied")
    loaded = load(tmp_path / "tied")
    assert loaded.b.weight is loaded.a.weight
    x = torch.randn(2, 4)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_an_observation_encoder_assembled_by_register_obs_key_saves(tmp_path):
    torch.manual_seed(0)
    encoder = ObservationEncoder(feature_activation=nn.ReLU)
    encoder.register_obs_key(
        name="proprio", shape=[12], net=MLP(input_dim=12, output_dim=32, layer_dims=(16,))
    )
    encoder.make()
    save_pretrained(encoder, tmp_path)
    loaded = load(tmp_path)
    assert isinstance(loaded.obs_nets["proprio"], MLP)
    x = {"proprio": torch.randn(3, 12)}
    torch.testing.assert_close(loaded(x), encoder.eval()(x), rtol=0, atol=0)


def test_an_observation_encoder_whose_sharing_was_undone_is_refused(tmp_path):
    encoder = ObservationEncoder(feature_activation=nn.ReLU)
    encoder.register_obs_key(name="left", shape=[12], net=MLP(input_dim=12, output_dim=2))
    encoder.register_obs_key(name="right", shape=[12], share_net_from="left")
    encoder.make()
    encoder.obs_nets["right"] = MLP(input_dim=12, output_dim=2)  # registered as shared
    _refused(encoder, tmp_path, "entries sharing one tensor differ")


def test_a_config_that_does_not_build_is_refused(tmp_path):
    model = _decoder()
    model.init_arguments["input_feat_dim"] = 0  # as if recorded wrongly
    _refused(model, tmp_path, "would not load back", "input_feat_dim")


def test_the_check_does_not_draw_from_the_global_random_generator(tmp_path):
    torch.manual_seed(0)
    model = DrawsAtInit()
    state = torch.get_rng_state()
    save_pretrained(model, tmp_path)
    assert torch.equal(torch.get_rng_state(), state)
    loaded = load(tmp_path)
    _same = {k: torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items()}
    assert all(_same.values()), _same


def test_an_edited_model_of_the_same_structure_saves(tmp_path):
    model = _decoder()
    model.nets["a"] = nn.Linear(8, 3)  # same class and shapes: the config still describes it
    with torch.no_grad():
        model.nets["a"].weight.fill_(0.5)
    obsnets.save_pretrained(model, tmp_path)
    x = torch.randn(2, 8)
    loaded = load(tmp_path)
    for key, value in model(x).items():
        torch.testing.assert_close(loaded(x)[key], value, rtol=0, atol=0)
