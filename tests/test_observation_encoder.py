"""ObservationEncoder, ObservationDecoder and ObservationGroupEncoder: numbers, order, errors."""

from __future__ import annotations

import copy
from collections import OrderedDict

import pytest
import torch
from torch import nn

from obsnets.bases import EncoderCore, Randomizer
from obsnets.blocks import MLP
from obsnets.encoders import (
    ObservationDecoder,
    ObservationEncoder,
    ObservationGroupEncoder,
)
from obsnets.errors import (
    ConfigError,
    InvalidKwargsError,
    ShapeError,
    UnknownComponentError,
)


class EncTestLinearCore(EncoderCore):
    """Flatten + Linear: a small core nameable by string."""

    def __init__(self, input_shape, out_dim=5):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


class EncTestLangCore(EncoderCore):
    """A core conditioned on a language embedding (like VisualCoreLanguageConditioned)."""

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.lin = nn.Linear(self.input_shape[0], 2)

    def output_shape(self, input_shape=None):
        return [2]

    def forward(self, inputs, lang_emb=None):
        return self.lin(inputs) * lang_emb.sum(-1, keepdim=True)


class EncTestAffineRandomizer(Randomizer):
    """forward_in adds ``a``; forward_out computes ``x * a + a`` (so out-order matters)."""

    def __init__(self, input_shape, a=1.0, log=None):
        super().__init__()
        self.input_shape = list(input_shape)
        self.a = a
        self.log = log if log is not None else []

    def forward_in(self, inputs):
        self.log.append(("in", self.a))
        return inputs + self.a

    def forward_out(self, inputs):
        self.log.append(("out", self.a))
        return inputs * self.a + self.a

    def output_shape_in(self, input_shape=None):
        return list(input_shape)

    def output_shape_out(self, input_shape=None):
        return list(input_shape)


class EncTestShapeRandomizer(Randomizer):
    """Changes shapes: ``trim_in`` drops trailing input features; ``out`` = drop or double."""

    def __init__(self, input_shape, trim_in=0, out="same"):
        super().__init__()
        self.trim_in, self.out = trim_in, out

    def forward_in(self, inputs):
        return inputs[..., : inputs.shape[-1] - self.trim_in]

    def forward_out(self, inputs):
        if self.out == "drop":
            return inputs[:, :-1]
        if self.out == "double":
            return torch.cat([inputs, inputs], dim=-1)
        return inputs

    def output_shape_in(self, input_shape=None):
        return [*input_shape[:-1], input_shape[-1] - self.trim_in]

    def output_shape_out(self, input_shape=None):
        d = input_shape[-1]
        return [{"drop": d - 1, "double": 2 * d, "same": d}[self.out]]


class EncTestRepeatRandomizer(Randomizer):
    """Sample-major batch folding: N copies with offsets 0..N-1; forward_out averages."""

    def __init__(self, input_shape, n=3):
        super().__init__()
        self.n = n

    def forward_in(self, inputs):
        offsets = torch.arange(self.n, dtype=inputs.dtype).view(
            1, self.n, *[1] * (inputs.dim() - 1)
        )
        return (inputs.unsqueeze(1) + offsets).reshape(-1, *inputs.shape[1:])

    def forward_out(self, inputs):
        return inputs.reshape(-1, self.n, *inputs.shape[1:]).mean(dim=1)

    def output_shape_in(self, input_shape=None):
        return list(input_shape)

    def output_shape_out(self, input_shape=None):
        return list(input_shape)


def _obs(batch=4, seed=0, **shapes):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(batch, *s, generator=g) for k, s in shapes.items()}


# -- ObservationEncoder: numbers ----------------------------------------------------------------


def test_low_dim_keys_pass_through_flattened_in_registration_order_without_activation():
    enc = ObservationEncoder()
    enc.register_obs_key("b", [3])
    enc.register_obs_key("a", [2, 2])
    enc.make()
    obs = _obs(b=[3], a=[2, 2], extra=[7])
    out = enc(obs)
    # negative values survive: the ReLU feature activation applies only to keys with a net
    expected = torch.cat([obs["b"], obs["a"].reshape(4, 4)], dim=-1)
    assert torch.equal(out, expected)
    assert (out < 0).any()
    assert enc.output_shape() == [7]


def test_core_named_by_string_equals_manual_composition_and_kwargs_are_not_mutated():
    enc = ObservationEncoder(feature_activation=nn.ReLU)
    kwargs = {"out_dim": 6}
    enc.register_obs_key("img", [2, 3, 4], net_class="EncTestLinearCore", net_kwargs=kwargs)
    enc.register_obs_key("pos", [3])
    enc.make()
    assert kwargs == {"out_dim": 6}
    core = enc.obs_nets["img"]
    assert isinstance(core, EncTestLinearCore) and core.input_shape == [2, 3, 4]
    obs = _obs(img=[2, 3, 4], pos=[3])
    expected = torch.cat([torch.relu(core.lin(obs["img"].flatten(1))), obs["pos"]], dim=-1)
    torch.testing.assert_close(enc(obs), expected, rtol=0, atol=0)
    assert enc.output_shape() == [9]
    assert "obs_nets.img.lin.weight" in enc.state_dict()


@pytest.mark.parametrize(
    ("activation", "fn"),
    [(None, lambda x: x), ("Tanh", torch.tanh), (nn.Sigmoid, torch.sigmoid)],
)
def test_feature_activation_choices(activation, fn):
    enc = ObservationEncoder(feature_activation=activation)
    enc.register_obs_key("x", [4], net_class=EncTestLinearCore)  # a class object works too
    enc.make()
    obs = _obs(x=[4])
    core = enc.obs_nets["x"]
    torch.testing.assert_close(enc(obs), fn(core.lin(obs["x"])))


def test_randomizers_run_in_order_and_forward_out_in_reverse():
    log = []
    r1 = EncTestAffineRandomizer([4], a=2.0, log=log)
    r2 = EncTestAffineRandomizer([4], a=3.0, log=log)
    enc = ObservationEncoder(feature_activation=None)
    enc.register_obs_key("x", [4], net_class="EncTestLinearCore", randomizers=[r1, r2])
    enc.make()
    x = _obs(x=[4])["x"]
    out = enc({"x": x})
    assert log == [("in", 2.0), ("in", 3.0), ("out", 3.0), ("out", 2.0)]
    y = enc.obs_nets["x"].lin(x + 2.0 + 3.0)
    expected = (y * 3.0 + 3.0) * 2.0 + 2.0
    torch.testing.assert_close(out, expected)


def test_net_input_shape_follows_the_randomizer_chain_and_output_shape_matches_forward():
    # the net sees (5 - 1 - 2) features; out: "double" runs before "drop" (reverse order),
    # so the key yields 2 * 4 - 1 = 7 features, not (4 - 1) * 2 = 6
    rands = [
        EncTestShapeRandomizer([5], trim_in=1, out="drop"),
        EncTestShapeRandomizer([4], trim_in=2, out="double"),
    ]
    enc = ObservationEncoder()
    enc.register_obs_key(
        "x", [5], net_class="EncTestLinearCore", net_kwargs={"out_dim": 4}, randomizers=rands
    )
    enc.make()
    assert enc.obs_nets["x"].input_shape == [2]
    out = enc(_obs(x=[5]))
    assert enc.key_output_shape("x") == [7]
    assert list(out.shape) == [4, *enc.output_shape()] == [4, 7]


def test_batch_folding_randomizer_averages_the_net_over_copies():
    enc = ObservationEncoder(feature_activation=nn.ReLU)
    enc.register_obs_key(
        "x", [3], net_class="EncTestLinearCore", randomizer=EncTestRepeatRandomizer([3])
    )
    enc.make()
    x = _obs(x=[3])["x"]
    core = enc.obs_nets["x"]
    expected = torch.stack([torch.relu(core.lin(x + i)) for i in range(3)], dim=1).mean(1)
    torch.testing.assert_close(enc({"x": x}), expected)


def test_share_net_from_shares_parameters_not_randomizers():
    enc = ObservationEncoder()
    rand = EncTestAffineRandomizer([4], a=1.0)
    enc.register_obs_key("left", [4], net_class="EncTestLinearCore", randomizers=rand)
    enc.register_obs_key("right", [4], share_net_from="left")
    enc.make()
    left, right = enc.obs_nets["left"], enc.obs_nets["right"]
    assert right is left
    assert right.lin.weight is left.lin.weight and right.lin.bias is left.lin.bias
    assert len(enc.obs_randomizers["left"]) == 1 and len(enc.obs_randomizers["right"]) == 0
    keys = enc.state_dict().keys()
    assert {"obs_nets.left.lin.weight", "obs_nets.right.lin.weight"} <= set(keys)
    obs = _obs(left=[4], right=[4])
    out = enc(obs)
    y_left = torch.relu(left.lin(obs["left"] + 1.0)) * 1.0 + 1.0
    y_right = torch.relu(left.lin(obs["right"]))
    torch.testing.assert_close(out, torch.cat([y_left, y_right], dim=-1))
    assert len({id(p) for p in enc.parameters()}) == 2  # one weight, one bias


def test_prebuilt_net_and_lang_conditioned_core():
    mlp = MLP(input_dim=3, output_dim=2, layer_dims=(4,))
    enc = ObservationEncoder(feature_activation=None)
    enc.register_obs_key("proprio", [3], net=mlp)
    enc.register_obs_key("img", [3], net_class="EncTestLangCore")
    enc.register_obs_key("lang_emb", [5])
    enc.make()
    obs = _obs(proprio=[3], img=[3], lang_emb=[5])
    out = enc(obs)
    lang_core = enc.obs_nets["img"]
    expected = torch.cat(
        [mlp(obs["proprio"]), lang_core.lin(obs["img"]) * obs["lang_emb"].sum(-1, keepdim=True)],
        dim=-1,
    )
    torch.testing.assert_close(out, expected)  # lang_emb conditions but is not a feature
    assert enc.output_shape() == [4]


def test_lang_conditioned_core_without_lang_key_is_an_error():
    enc = ObservationEncoder()
    enc.register_obs_key("img", [3], net_class="EncTestLangCore")
    with pytest.raises(ConfigError, match="lang_emb"):
        enc.make()


def test_repr_names_keys_randomizers_nets_and_output_shape():
    enc = ObservationEncoder()
    enc.register_obs_key(
        "cam", [4], net_class="EncTestLinearCore", randomizers=[EncTestAffineRandomizer([4])]
    )
    enc.register_obs_key("cam2", [4], share_net_from="cam")
    text_before = repr(enc)
    enc.make()
    text = repr(enc)
    assert "EncTestLinearCore (built by make())" in text_before
    for part in (
        "name=cam",
        "shape=[4]",
        "EncTestAffineRandomizer",
        "EncTestLinearCore(",
        "sharing_from=cam",
        "feature_activation=ReLU",
        "output_shape=[10]",
    ):
        assert part in text, part


# -- ObservationEncoder: errors ------------------------------------------------------------------


def _made_encoder():
    enc = ObservationEncoder()
    enc.register_obs_key("pos", [3])
    enc.register_obs_key("img", [2, 2], net_class="EncTestLinearCore")
    enc.make()
    return enc


def test_missing_key_names_the_key_and_registered_keys():
    enc = _made_encoder()
    with pytest.raises(ShapeError, match=r"'img' is missing.*\['pos', 'img'\].*\['pos'\]"):
        enc({"pos": torch.zeros(2, 3)})


def test_wrong_shape_names_key_expected_and_received():
    enc = _made_encoder()
    with pytest.raises(ShapeError, match=r"'pos' must have shape \(B, 3\); got .*\(2, 4\)"):
        enc({"pos": torch.zeros(2, 4), "img": torch.zeros(2, 2, 2)})


def test_use_before_make_and_after_make_errors():
    enc = ObservationEncoder()
    enc.register_obs_key("pos", [3])
    with pytest.raises(ConfigError, match="make"):
        enc({"pos": torch.zeros(1, 3)})
    with pytest.raises(ConfigError, match="make"):
        enc.output_shape()
    enc.make()
    with pytest.raises(ConfigError, match="already called"):
        enc.make()
    with pytest.raises(ConfigError, match="before make"):
        enc.register_obs_key("late", [1])
    with pytest.raises(ConfigError, match="no observation key"):
        ObservationEncoder().make()


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"name": "pos", "shape": [3]}, ConfigError, "already registered"),
        (
            {"name": "x", "shape": [3], "net_class": "EncTestLinearCore", "net": MLP(3, 2)},
            ConfigError,
            "only one of net_class, net and share_net_from",
        ),
        (
            {"name": "x", "shape": [3], "net_class": "EncTestLinearCore", "share_net_from": "pos"},
            ConfigError,
            "only one of",
        ),
        ({"name": "x", "shape": [3], "share_net_from": "poss"}, ConfigError, "Did you mean 'pos'"),
        ({"name": "x", "shape": [3], "net_kwargs": {"out_dim": 2}}, ConfigError, "no net_class"),
        (
            {"name": "x", "shape": [3], "net_class": "EncTestLinearCor"},
            UnknownComponentError,
            "EncTestLinearCore",
        ),
        ({"name": "x", "shape": [3], "net_class": "MLP"}, UnknownComponentError, "net="),
        ({"name": "x", "shape": [3], "net_class": MLP}, ConfigError, "EncoderCore subclass"),
        (
            {
                "name": "x",
                "shape": [3],
                "net_class": "EncTestLinearCore",
                "net_kwargs": {"outdim": 2},
            },
            InvalidKwargsError,
            "out_dim",
        ),
        ({"name": "x", "shape": [3], "net": nn.Linear(3, 2)}, ConfigError, "output_shape"),
        ({"name": "x", "shape": [0]}, ShapeError, "positive"),
        ({"name": "x", "shape": "3"}, ShapeError, "positive ints"),
        ({"name": "x", "shape": [3], "randomizers": [nn.ReLU()]}, ConfigError, "Randomizer"),
        (
            {
                "name": "x",
                "shape": [3],
                "randomizer": EncTestAffineRandomizer([3]),
                "randomizers": [EncTestAffineRandomizer([3])],
            },
            ConfigError,
            "both randomizer= and",
        ),
    ],
)
def test_register_obs_key_errors(kwargs, error, pattern):
    enc = ObservationEncoder()
    enc.register_obs_key("pos", [3])
    with pytest.raises(error, match=pattern):
        enc.register_obs_key(**kwargs)


def test_unknown_feature_activation_is_a_config_error():
    with pytest.raises(ConfigError, match="feature_activation"):
        ObservationEncoder(feature_activation="Relu6x")


def test_train_eval_mode_reaches_randomizers():
    rand = EncTestAffineRandomizer([3])
    enc = ObservationEncoder()
    enc.register_obs_key("x", [3], randomizers=rand)
    enc.make()
    enc.eval()
    assert not rand.training
    enc.train()
    assert rand.training


# -- ObservationDecoder ----------------------------------------------------------------------------


def test_decoder_heads_equal_manual_linear_and_keep_leading_dims():
    dec = ObservationDecoder(OrderedDict(pos=(3,), grid=(2, 3)), input_feat_dim=5)
    assert list(dec.state_dict()) == [
        "nets.pos.weight",
        "nets.pos.bias",
        "nets.grid.weight",
        "nets.grid.bias",
    ]
    feats = torch.randn(4, 5)
    out = dec(feats)
    torch.testing.assert_close(out["pos"], feats @ dec.nets["pos"].weight.T + dec.nets["pos"].bias)
    torch.testing.assert_close(out["grid"], dec.nets["grid"](feats).reshape(4, 2, 3))
    seq = dec(torch.randn(2, 7, 5))
    assert seq["grid"].shape == (2, 7, 2, 3)
    assert dec.output_shape() == {"pos": [3], "grid": [2, 3]}
    with pytest.raises(ShapeError, match=r"\(\.\.\., 5\); got .*\(4, 6\)"):
        dec(torch.randn(4, 6))
    with pytest.raises(ConfigError, match="input_feat_dim"):
        ObservationDecoder({"a": (1,)}, input_feat_dim=0)


# -- ObservationGroupEncoder ----------------------------------------------------------------------


def test_group_encoder_concatenates_in_group_order_and_ignores_extra_or_none_groups():
    groups = OrderedDict(obs=OrderedDict(pos=[3], vel=[2]), goal=OrderedDict(pos=[3]))
    enc = ObservationGroupEncoder(groups)
    obs, goal = _obs(pos=[3], vel=[2]), _obs(seed=1, pos=[3])
    out = enc(goal=goal, obs=obs, subgoal=None, other={"z": torch.zeros(4, 1)})
    expected = torch.cat([obs["pos"], obs["vel"], goal["pos"]], dim=-1)
    assert torch.equal(out, expected)
    assert enc.output_shape() == [8]
    assert list(enc.nets) == ["obs", "goal"]


def test_group_encoder_missing_or_none_group_is_a_clear_error():
    enc = ObservationGroupEncoder({"obs": {"pos": [3]}, "goal": {"pos": [3]}})
    obs = _obs(pos=[3])
    with pytest.raises(InvalidKwargsError, match=r"group 'goal' is missing.*\['obs', 'goal'\]"):
        enc(obs=obs)
    with pytest.raises(InvalidKwargsError, match="group 'goal' is None"):
        enc(obs=obs, goal=None)


@pytest.mark.parametrize(
    "groups",
    [{}, {"obs": {}}, {"obs": [3]}, {"obs": {"pos": [3, -1]}}],
)
def test_group_encoder_rejects_malformed_group_shapes(groups):
    # a shape of the wrong type ({"obs": [3]}) is a wrong argument type: InvalidKwargsError
    with pytest.raises((ConfigError, ShapeError, InvalidKwargsError)):
        ObservationGroupEncoder(groups)


def test_group_encoder_passes_modalities_and_encoder_kwargs_down():
    kwargs = {"rgb": {"core_class": "EncTestLinearCore", "core_kwargs": {"out_dim": 2}}}
    saved = copy.deepcopy(kwargs)
    enc = ObservationGroupEncoder(
        {"obs": {"cam": [2, 2, 2], "pos": [3]}},
        encoder_kwargs=kwargs,
        obs_modalities={"rgb": ["cam"]},
    )
    assert kwargs == saved
    inner = enc.nets["obs"]
    assert isinstance(inner.obs_nets["cam"], EncTestLinearCore) and inner.obs_nets["pos"] is None
    assert enc.output_shape() == [5]


def test_forward_follows_a_replaced_obs_nets_container():
    # torch's DataParallel replicas (and users) may swap the whole obs_nets container; the
    # per-key plan made in make() must then follow the new modules, not the old ones
    enc = _made_encoder()
    obs = {"pos": torch.randn(2, 3), "img": torch.randn(2, 2, 2)}
    enc.obs_nets = copy.deepcopy(enc.obs_nets)
    with torch.no_grad():
        enc.obs_nets["img"].lin.weight.zero_()
        enc.obs_nets["img"].lin.bias.fill_(-1.0)
    assert torch.equal(enc(obs)[:, 3:], torch.zeros(2, 5))  # relu(-1) from the new core
