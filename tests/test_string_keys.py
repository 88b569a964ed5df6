"""Any non-empty string is a key: observation keys, group names and output names (issue 10 §5).

LeRobot names observations ``observation.images.top``; ``nn.ModuleDict`` refuses dots (and
names such as ``train``). Outputs and state_dicts must use the user's key verbatim, strict
loading must work (also when one key is a prefix of another), and saved models must load.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import obsnets
from obsnets.bases import EncoderCore
from obsnets.blocks import KeyModuleDict
from obsnets.encoders import (
    ObservationDecoder,
    ObservationEncoder,
    ObservationGroupEncoder,
    obs_encoder_factory,
)
from obsnets.errors import ConfigError
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP

TOP, WRIST, STATE = "observation.images.top", "observation.images.wrist", "observation.state"
IMAGE = [3, 8, 8]


class DottedKeyCore(EncoderCore):
    """Flatten + Linear."""

    def __init__(self, input_shape, out_dim=4):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


SHAPES = {TOP: IMAGE, WRIST: IMAGE, STATE: [5], "a": [2], "a.b": [3], "train": [1]}
MODALITIES = {"rgb": [TOP, WRIST], "low_dim": [STATE, "a", "a.b", "train"]}
ENCODER_KWARGS = {
    "rgb": {"core_class": DottedKeyCore},
    "low_dim": {"core_class": DottedKeyCore, "core_kwargs": {"out_dim": 2}},
}


def _encoder(seed: int = 0) -> ObservationEncoder:
    torch.manual_seed(seed)
    return obs_encoder_factory(SHAPES, encoder_kwargs=ENCODER_KWARGS, obs_modalities=MODALITIES)


def _obs(batch: int = 3) -> dict[str, torch.Tensor]:
    torch.manual_seed(100)
    return {key: torch.randn(batch, *shape) for key, shape in SHAPES.items()}


def test_encoder_with_dotted_keys_concatenates_each_keys_features_in_order():
    enc = _encoder().eval()
    obs = _obs()
    with torch.no_grad():
        expected = torch.cat([torch.relu(enc.obs_nets[k](obs[k])) for k in SHAPES], dim=-1)
        torch.testing.assert_close(enc(obs), expected, rtol=0, atol=0)
    assert list(enc.obs_nets) == list(SHAPES)
    assert enc.output_shape() == [4 + 4 + 2 + 2 + 2 + 2]


def test_state_dict_uses_the_users_keys_verbatim_and_loads_strictly():
    enc = _encoder()
    state = enc.state_dict()
    assert list(state) == [f"obs_nets.{key}.lin.{p}" for key in SHAPES for p in ("weight", "bias")]
    other = _encoder(seed=1)
    assert not torch.equal(other.obs_nets["a.b"].lin.weight, enc.obs_nets["a.b"].lin.weight)
    result = other.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    obs = _obs()
    with torch.no_grad():
        torch.testing.assert_close(other.eval()(obs), enc.eval()(obs), rtol=0, atol=0)
    # ``a`` is a prefix of ``a.b``: each gets its own tensors
    assert torch.equal(other.obs_nets["a"].lin.weight, state["obs_nets.a.lin.weight"])
    assert torch.equal(other.obs_nets["a.b"].lin.weight, state["obs_nets.a.b.lin.weight"])
    wrong = dict(state)
    wrong["obs_nets.a.b.extra"] = torch.zeros(1)
    with pytest.raises(
        RuntimeError, match=r"Unexpected key\(s\) in state_dict: \"obs_nets\.a\.b\.extra\""
    ):
        other.load_state_dict(wrong, strict=True)
    del wrong["obs_nets.a.b.extra"], wrong["obs_nets.observation.images.top.lin.bias"]
    with pytest.raises(RuntimeError, match=rf'Missing key.*"obs_nets\.{TOP}\.lin\.bias"'):
        other.load_state_dict(wrong, strict=True)


def test_a_key_whose_tensors_collide_with_another_keys_is_named():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Linear(1, 1)

    clash = KeyModuleDict({"a": Holder(), "a.b": nn.Linear(1, 1)}, owner="Test.nets")
    with pytest.raises(
        ConfigError, match=r"Test\.nets: keys 'a\.b' and 'a' both give.*'a\.b\.weight'"
    ):
        clash.state_dict()


def test_share_net_from_and_register_obs_key_accept_dotted_keys():
    enc = ObservationEncoder()
    enc.register_obs_key(TOP, IMAGE, net_class=DottedKeyCore)
    enc.register_obs_key(WRIST, IMAGE, share_net_from=TOP)
    enc.make()
    assert enc.obs_nets[WRIST] is enc.obs_nets[TOP]
    obs = {TOP: torch.rand(2, *IMAGE), WRIST: torch.rand(2, *IMAGE)}
    with torch.no_grad():
        out = enc(obs)
    torch.testing.assert_close(out[:, 4:], torch.relu(enc.obs_nets[TOP](obs[WRIST])))


@pytest.mark.parametrize("bad", ["", 3, None])
def test_empty_or_non_string_keys_are_config_errors_naming_the_key(bad):
    with pytest.raises(ConfigError, match=rf"name must be a non-empty string; got {bad!r}"):
        ObservationEncoder().register_obs_key(bad, [3])
    with pytest.raises(ConfigError, match=rf"keys must be non-empty strings.*got {bad!r}"):
        ObservationDecoder({bad: [2]}, input_feat_dim=3)
    with pytest.raises(ConfigError, match=rf"group names must be non-empty strings; got {bad!r}"):
        ObservationGroupEncoder({bad: {"x": [2]}})
    with pytest.raises(ConfigError, match=rf"output_shapes keys must be non-empty.*got {bad!r}"):
        MIMO_MLP({"obs": {"x": [2]}}, {bad: [2]}, layer_dims=[4])
    with pytest.raises(ConfigError, match=rf"keys must be non-empty strings; got {bad!r}"):
        KeyModuleDict()[bad] = nn.Linear(1, 1)


def test_decoder_outputs_and_heads_use_dotted_output_keys():
    dec = ObservationDecoder({"action.arm": [2], "action.gripper": [1, 1]}, input_feat_dim=3)
    feats = torch.randn(4, 3)
    out = dec(feats)
    assert list(out) == ["action.arm", "action.gripper"]
    torch.testing.assert_close(out["action.arm"], dec.nets["action.arm"](feats))
    assert out["action.gripper"].shape == (4, 1, 1)
    assert list(dec.state_dict()) == [
        "nets.action.arm.weight",
        "nets.action.arm.bias",
        "nets.action.gripper.weight",
        "nets.action.gripper.bias",
    ]


def test_group_encoder_with_dotted_group_names():
    groups = {"obs.main": {STATE: [5]}, "goal.final": {STATE: [5]}}
    torch.manual_seed(0)
    enc = ObservationGroupEncoder(groups, obs_modalities={"low_dim": [STATE]})
    x, g = torch.randn(2, 5), torch.randn(2, 5)
    out = enc(**{"obs.main": {STATE: x}, "goal.final": {STATE: g}})
    torch.testing.assert_close(out, torch.cat([x, g], dim=-1))
    assert list(enc.nets) == ["obs.main", "goal.final"]


def _mimo(seed: int = 0) -> MIMO_MLP:
    torch.manual_seed(seed)
    return MIMO_MLP(
        {"obs": {TOP: IMAGE, STATE: [5]}},
        {"action.arm": [2], "action.gripper": [1]},
        layer_dims=[8],
        encoder_kwargs={"rgb": {"core_class": DottedKeyCore}},
        obs_modalities={"rgb": [TOP], "low_dim": [STATE]},
    )


def test_mimo_round_trip_through_save_pretrained_and_load(tmp_path):
    net = _mimo().eval()
    keys = list(net.state_dict())
    assert f"nets.encoder.nets.obs.obs_nets.{TOP}.lin.weight" in keys
    assert "nets.decoder.nets.action.gripper.bias" in keys
    obsnets.save_pretrained(net, tmp_path)
    loaded = obsnets.load(tmp_path).eval()
    assert list(loaded.state_dict()) == keys
    obs = {"obs": {TOP: torch.rand(2, *IMAGE), STATE: torch.randn(2, 5)}}
    with torch.no_grad():
        expected, got = net(**obs), loaded(**obs)
    assert list(got) == ["action.arm", "action.gripper"]
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=0)


def test_rnn_per_step_aliases_carry_dotted_output_keys():
    torch.manual_seed(0)
    net = RNN_MIMO_MLP(
        {"obs": {STATE: [5]}},
        {"action.arm": [2]},
        mlp_layer_dims=[4],
        rnn_hidden_dim=3,
        rnn_num_layers=1,
        obs_modalities={"low_dim": [STATE]},
    )
    state = net.state_dict()
    assert state["nets.rnn.per_step_net.1.nets.action.arm.weight"] is not None
    assert torch.equal(
        state["nets.rnn.per_step_net.1.nets.action.arm.weight"],
        state["nets.decoder.nets.action.arm.weight"],
    )
    fresh = RNN_MIMO_MLP(
        {"obs": {STATE: [5]}},
        {"action.arm": [2]},
        mlp_layer_dims=[4],
        rnn_hidden_dim=3,
        rnn_num_layers=1,
        obs_modalities={"low_dim": [STATE]},
    )
    fresh.load_state_dict(state, strict=True)
    seq = {"obs": {STATE: torch.randn(2, 4, 5)}}
    with torch.no_grad():
        torch.testing.assert_close(fresh(**seq)["action.arm"], net(**seq)["action.arm"])


def test_dotted_keys_compile_without_graph_breaks_and_export():
    net = _mimo().eval()
    obs = {TOP: torch.rand(2, *IMAGE), STATE: torch.randn(2, 5)}
    eager = net(obs=obs)
    torch._dynamo.reset()
    try:
        compiled = torch.compile(net, backend="aot_eager", fullgraph=True)(obs=obs)
    finally:
        torch._dynamo.reset()
    exported = torch.export.export(net, (), {"obs": obs}).module()(obs=obs)
    for key in ("action.arm", "action.gripper"):
        torch.testing.assert_close(compiled[key], eager[key])
        torch.testing.assert_close(exported[key], eager[key])
