"""MIMO_MLP and RNN_MIMO_MLP: numbers against manual computation, stepping, shapes, errors."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from obsnets.bases import EncoderCore
from obsnets.blocks import MLP
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP

GROUPS = OrderedDict(
    obs=OrderedDict(pos=[3], obj=[2, 2]),
    goal=OrderedDict(obj=[2, 2]),
)
HEADS = OrderedDict(action=[4], grid=[2, 3])
LOW = {"low_dim": ["pos", "obj"]}  # 'obj' is 2-D: unlisted, it would need a modality


class MimoTestCore(EncoderCore):
    """Flatten + Linear to 3 features."""

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), 3)

    def output_shape(self, input_shape=None):
        return [3]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


def _inputs(batch=5, steps=None, groups=GROUPS, seed=0):
    g = torch.Generator().manual_seed(seed)
    lead = (batch,) if steps is None else (batch, steps)
    return {
        group: {k: torch.randn(*lead, *s, generator=g) for k, s in shapes.items()}
        for group, shapes in groups.items()
    }


def _manual_mlp(linears, x, act):
    for lin in linears:
        x = act(x @ lin.weight.T + lin.bias)
    return x


# -- MIMO_MLP ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("activation", "fn"), [(nn.ReLU, torch.relu), ("Tanh", torch.tanh)])
def test_mimo_mlp_equals_manual_computation(activation, fn):
    net = MIMO_MLP(GROUPS, HEADS, layer_dims=[8, 6], activation=activation, obs_modalities=LOW)
    inputs = _inputs()
    out = net(**inputs)
    feats = torch.cat(
        [
            inputs["obs"]["pos"],
            inputs["obs"]["obj"].reshape(5, 4),
            inputs["goal"]["obj"].reshape(5, 4),
        ],
        dim=-1,
    )
    linears = [m for m in net.nets["mlp"]._model if isinstance(m, nn.Linear)]
    hidden = _manual_mlp(linears, feats, fn)  # activation after the last layer too
    dec = net.nets["decoder"].nets
    torch.testing.assert_close(out["action"], hidden @ dec["action"].weight.T + dec["action"].bias)
    torch.testing.assert_close(out["grid"], dec["grid"](hidden).reshape(5, 2, 3))
    assert net.output_shape() == {"action": [4], "grid": [2, 3]}
    assert list(net.state_dict()) == [
        "nets.mlp._model.0.weight",
        "nets.mlp._model.0.bias",
        "nets.mlp._model.2.weight",
        "nets.mlp._model.2.bias",
        "nets.decoder.nets.action.weight",
        "nets.decoder.nets.action.bias",
        "nets.decoder.nets.grid.weight",
        "nets.decoder.nets.grid.bias",
    ]


def test_mimo_mlp_with_empty_layer_dims_decodes_encoder_features_directly():
    net = MIMO_MLP(GROUPS, HEADS, layer_dims=[], obs_modalities=LOW)
    assert "mlp" not in net.nets
    assert net.nets["decoder"].input_feat_dim == 11
    inputs = _inputs()
    feats = net.nets["encoder"](**inputs)
    torch.testing.assert_close(net(**inputs)["action"], net.nets["decoder"].nets["action"](feats))


def test_mimo_mlp_encodes_images_with_named_cores_and_layer_func_by_name():
    net = MIMO_MLP(
        {"obs": {"cam": [1, 2, 2], "pos": [3]}},
        {"action": [2]},
        layer_dims=[4],
        layer_func="Linear",
        encoder_kwargs={"rgb": {"core_class": "MimoTestCore"}},
        obs_modalities={"rgb": ["cam"]},
    )
    core = net.nets["encoder"].nets["obs"].obs_nets["cam"]
    assert "nets.encoder.nets.obs.obs_nets.cam.lin.weight" in net.state_dict()
    x = _inputs(groups={"obs": {"cam": [1, 2, 2], "pos": [3]}})
    feats = torch.cat([torch.relu(core.lin(x["obs"]["cam"].flatten(1))), x["obs"]["pos"]], -1)
    hidden = torch.relu(net.nets["mlp"]._model[0](feats))
    torch.testing.assert_close(net(**x)["action"], net.nets["decoder"].nets["action"](hidden))


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"layer_dims": [8, 0]}, ConfigError, r"'layer_dims\[1\]' must be an int in \[1, 65536\]"),
        ({"layer_dims": [8, 2.5]}, InvalidKwargsError, r"'layer_dims\[1\]' must be an int"),
        ({"layer_dims": 8}, InvalidKwargsError, "'layer_dims' must be a list"),
        ({"output_shapes": {}}, ConfigError, "at least one output"),
        ({"input_obs_group_shapes": {}}, ConfigError, "group names"),
    ],
)
def test_mimo_mlp_config_errors(kwargs, error, pattern):
    args = {
        "input_obs_group_shapes": GROUPS,
        "output_shapes": HEADS,
        "layer_dims": [4],
        "obs_modalities": LOW,
        **kwargs,
    }
    with pytest.raises(error, match=pattern):
        MIMO_MLP(**args)


def test_mimo_mlp_missing_group_and_bad_shape_errors():
    net = MIMO_MLP(GROUPS, HEADS, layer_dims=[4], obs_modalities=LOW)
    inputs = _inputs()
    with pytest.raises(InvalidKwargsError, match="'goal' is missing"):
        net(obs=inputs["obs"])
    inputs["obs"]["pos"] = torch.zeros(5, 4)
    with pytest.raises(ShapeError, match=r"'pos'.*\(B, 3\)"):
        net(**inputs)


def test_mimo_mlp_repr_uses_the_to_string_hook():
    class Labelled(MIMO_MLP):
        def _to_string(self):
            return "label=test"

    text = repr(Labelled(GROUPS, HEADS, layer_dims=[4], obs_modalities=LOW))
    assert text.startswith("Labelled(\n  label=test") and "mlp=MLP(" in text and "decoder=" in text


# -- RNN_MIMO_MLP --------------------------------------------------------------------------------


RNN_GROUPS = OrderedDict(obs=OrderedDict(pos=[3], vel=[2]))


def _rnn(rnn_type="LSTM", per_step=True, dims=(8,), **kwargs):
    torch.manual_seed(0)
    return RNN_MIMO_MLP(
        RNN_GROUPS,
        HEADS,
        mlp_layer_dims=list(dims),
        rnn_hidden_dim=6,
        rnn_num_layers=2,
        rnn_type=rnn_type,
        per_step=per_step,
        **kwargs,
    )


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
@pytest.mark.parametrize("dims", [(8,), ()])
def test_forward_step_stepped_T_times_equals_forward_over_the_sequence(rnn_type, dims):
    net = _rnn(rnn_type, dims=dims).eval()
    seq = _inputs(batch=3, steps=4, groups=RNN_GROUPS)
    full, final = net(return_state=True, **seq)
    state = net.get_rnn_init_state(3, "cpu")
    for t in range(4):
        step = {"obs": {k: v[:, t] for k, v in seq["obs"].items()}}
        out, state = net.forward_step(state, **step)
        for head in HEADS:
            torch.testing.assert_close(out[head], full[head][:, t], rtol=1e-5, atol=1e-6)
    for got, want in zip(
        state if rnn_type == "LSTM" else (state,), final if rnn_type == "LSTM" else (final,)
    ):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert full["grid"].shape == (3, 4, 2, 3)


def test_forward_step_with_none_state_starts_from_zeros():
    net = _rnn().eval()
    step = {"obs": {"pos": torch.randn(2, 3), "vel": torch.randn(2, 2)}}
    a, _ = net.forward_step(None, **step)
    b, _ = net.forward_step(net.get_rnn_init_state(2, "cpu"), **step)
    torch.testing.assert_close(a["action"], b["action"])


def test_sequence_equals_manual_lstm_mlp_decoder():
    net = _rnn().eval()
    seq = _inputs(batch=2, steps=3, groups=RNN_GROUPS)
    feats = torch.cat([seq["obs"]["pos"], seq["obs"]["vel"]], dim=-1)  # (B, T, 5)
    rnn_out, _ = net.nets["rnn"].nets(feats)
    hidden = torch.relu(net.nets["mlp"]._model[0](rnn_out))
    expected = net.nets["decoder"].nets["action"](hidden)
    torch.testing.assert_close(net(**seq)["action"], expected)


def test_per_step_false_returns_the_last_step_and_its_output_shape_has_no_time():
    per_step = _rnn(per_step=True).eval()
    last = _rnn(per_step=False).eval()
    state = {k: v for k, v in per_step.state_dict().items() if "per_step_net" not in k}
    last.load_state_dict(state, strict=True)
    seq = _inputs(batch=2, steps=4, groups=RNN_GROUPS)
    out = last(**seq)
    ref = per_step(**seq)
    torch.testing.assert_close(out["grid"], ref["grid"][:, -1])
    assert out["grid"].shape == (2, 2, 3)
    assert last.output_shape() == {"action": [4], "grid": [2, 3]}
    assert per_step.output_shape({"obs": {"pos": [4, 3], "vel": [4, 2]}}) == {
        "action": [4, 4],
        "grid": [4, 2, 3],
    }
    step_out, _ = last.forward_step(None, obs={k: v[:, 0] for k, v in seq["obs"].items()})
    assert step_out["action"].shape == (2, 4)


def test_per_step_output_shape_needs_time_dimension():
    with pytest.raises(ShapeError, match="time dimension"):
        _rnn().output_shape()
    with pytest.raises(ShapeError, match="same T"):
        _rnn().output_shape({"obs": {"pos": [4, 3], "vel": [5, 2]}})


def test_state_dict_has_robomimics_per_step_aliases_sharing_tensors():
    net = _rnn()
    sd = net.state_dict()
    keys = list(sd)
    assert keys[:4] == [
        "nets.mlp._model.0.weight",
        "nets.mlp._model.0.bias",
        "nets.decoder.nets.action.weight",
        "nets.decoder.nets.action.bias",
    ]
    assert (
        sd["nets.rnn.per_step_net.0._model.0.weight"].data_ptr()
        == sd["nets.mlp._model.0.weight"].data_ptr()
    )
    assert "nets.rnn.per_step_net.1.nets.grid.bias" in sd and "nets.rnn.nets.weight_hh_l1" in sd
    no_mlp = _rnn(dims=()).state_dict()
    assert "nets.rnn.per_step_net.nets.action.weight" in no_mlp


def test_rnn_kwargs_none_bidirectional_and_init_state_shapes():
    assert isinstance(_rnn(rnn_kwargs=None).nets["rnn"].nets, nn.LSTM)
    bi = _rnn(rnn_kwargs={"bidirectional": True})
    assert bi.nets["mlp"]._model[0].in_features == 12
    h, c = bi.get_rnn_init_state(3, "cpu")
    assert h.shape == c.shape == (4, 3, 6)
    assert _rnn("GRU").get_rnn_init_state(2, "cpu").shape == (2, 2, 6)
    out = bi(**_inputs(batch=2, steps=3, groups=RNN_GROUPS))
    assert out["action"].shape == (2, 3, 4)


def test_mlp_hidden_layers_use_mlp_activation():
    # robomimic always used ReLU between hidden layers; obsnets uses mlp_activation there too
    net = _rnn(dims=(8, 7), mlp_activation=nn.Tanh)
    layers = list(net.nets["mlp"]._model)
    assert [type(m) for m in layers] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh]
    assert isinstance(net.nets["mlp"], MLP)


@pytest.mark.parametrize(
    ("inputs", "error", "pattern"),
    [
        (
            {"obs": {"pos": torch.zeros(2, 3), "vel": torch.zeros(2, 2)}},
            ShapeError,
            r"obs\['pos'\] must be \(B, T, 3\); got shape \(2, 3\)",
        ),
        (
            {"obs": {"pos": torch.zeros(2, 4, 3), "vel": torch.zeros(2, 5, 2)}},
            ShapeError,
            r"leading \(B, T\)",
        ),
        ({"obs": {"pos": torch.zeros(2, 4, 3)}}, ShapeError, r"obs\['vel'\].*missing"),
        ({"goal": {}}, InvalidKwargsError, "'obs' is missing"),
    ],
)
def test_rnn_input_validation(inputs, error, pattern):
    with pytest.raises(error, match=pattern):
        _rnn()(**inputs)


def test_forward_step_rejects_sequences():
    with pytest.raises(ShapeError, match=r"must be \(B, 3\)"):
        _rnn().forward_step(None, obs={"pos": torch.zeros(2, 1, 3), "vel": torch.zeros(2, 1, 2)})


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"rnn_hidden_dim": 0}, ConfigError, r"'rnn_hidden_dim' must be an int in \[1, 65536\]"),
        ({"rnn_num_layers": 1.5}, InvalidKwargsError, "'rnn_num_layers' must be an int"),
        ({"rnn_num_layers": True}, InvalidKwargsError, r"'rnn_num_layers'.*got True \(bool\)"),
        (
            {"rnn_num_layers": 10**12},
            ConfigError,
            r"'rnn_num_layers' must be an int in \[1, 4096\]",
        ),
        ({"rnn_type": "lstm"}, ConfigError, "Did you mean 'LSTM'"),
        ({"rnn_kwargs": [1]}, InvalidKwargsError, "'rnn_kwargs' must be a dict"),
    ],
)
def test_rnn_config_errors(kwargs, error, pattern):
    args = {
        "input_obs_group_shapes": RNN_GROUPS,
        "output_shapes": HEADS,
        "mlp_layer_dims": [4],
        "rnn_hidden_dim": 4,
        "rnn_num_layers": 1,
        **kwargs,
    }
    with pytest.raises(error, match=pattern):
        RNN_MIMO_MLP(**args)
