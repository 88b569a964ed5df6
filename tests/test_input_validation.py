"""Bad constructor arguments and bad runtime inputs get obsnets errors that say what to fix.

Constructor arguments are checked from the annotations before ``__init__`` allocates anything
(:mod:`obsnets.validation`); forward checks only what is cheap (types, shapes, dtypes, batch
sizes) and turns torch's own refusals (a dtype clash, a distribution with NaN parameters) into
errors naming the observation key.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from torch.distributions import Distribution

from obsnets import build_component, resolve_component
from obsnets.blocks import MLP, RNN_Base
from obsnets.encoders import ObservationEncoder
from obsnets.errors import ConfigError, InvalidKwargsError, ObsnetsError, ShapeError
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP
from obsnets.validation import MAX_PARAMETERS, check_arguments

OBS = {"eef_pos": [3], "object": [5]}
ACTOR = {"obs_shapes": OBS, "ac_dim": 2, "mlp_layer_dims": [8]}


def _obs(batch=2, dtype=torch.float32, **shapes):
    return {k: torch.randn(batch, *s, dtype=dtype) for k, s in (shapes or OBS).items()}


# -- constructor arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"input_dim": 2.5}, InvalidKwargsError, r"MLP: argument 'input_dim' must be an int.*2\.5"),
        ({"input_dim": True}, InvalidKwargsError, r"'input_dim'.*got True \(bool\)"),
        ({"input_dim": 1e9}, InvalidKwargsError, r"'input_dim' must be an int"),
        ({"input_dim": math.nan}, InvalidKwargsError, r"'input_dim' must be an int"),
        ({"input_dim": 10**9}, ConfigError, r"'input_dim' must be an int in \[1, 65536\]"),
        ({"input_dim": 0}, ConfigError, r"'input_dim' must be an int in \[1, 65536\]"),
        ({"input_dim": None}, InvalidKwargsError, r"'input_dim' is required and cannot be None"),
        ({"layer_dims": [4, "8"]}, InvalidKwargsError, r"'layer_dims\[1\]' must be an int"),
        ({"layer_dims": 4}, InvalidKwargsError, r"'layer_dims' must be a list"),
        ({"dropouts": [math.nan]}, ConfigError, r"'dropouts\[0\]' must be a finite number"),
        ({"dropouts": [1.0]}, ConfigError, r"'dropouts\[0\]' is a dropout probability"),
        ({"normalization": 1}, InvalidKwargsError, r"'normalization' must be true or false"),
        ({"layer_func": [1]}, InvalidKwargsError, r"'layer_func' must be a callable or a name"),
        ({"layer_func_kwargs": {"obs": 1}}, InvalidKwargsError, r"layer_func 'Linear' cannot"),
        ({"activation": "Linear"}, InvalidKwargsError, r"activation 'Linear' cannot be called"),
    ],
)
def test_mlp_arguments_are_checked_before_building(kwargs, error, pattern):
    arguments = {"input_dim": 3, "output_dim": 2, "layer_dims": [4], **kwargs}
    if "dropouts" in kwargs:
        arguments["layer_dims"] = [4] * len(kwargs["dropouts"])
    with pytest.raises(error, match=pattern):
        MLP(**arguments)


def test_sizes_that_could_not_be_allocated_are_refused_before_allocation(monkeypatch):
    def no_allocation(*args, **kwargs):
        raise AssertionError("a layer was allocated")

    monkeypatch.setattr(torch.nn.Linear, "__init__", no_allocation)
    monkeypatch.setattr(torch.nn.LSTM, "__init__", no_allocation)
    with pytest.raises(ConfigError, match=r"layer 0 \(60000 x 60000 weights\).*at most"):
        MLP(input_dim=60000, output_dim=60000)
    with pytest.raises(ConfigError, match=r"'rnn_num_layers' must be an int in \[1, 4096\]"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4, rnn_num_layers=10**12)
    with pytest.raises(ConfigError, match="RNN_Base: an LSTM with rnn_num_layers=4096"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4096, rnn_num_layers=4096)
    assert MAX_PARAMETERS < 60000 * 60000  # the refused layer really is over the limit


def test_shapes_are_bounded_in_size_and_count():
    with pytest.raises(ConfigError, match=r"obs_shapes\['image'\]' describes 3,000,000,000"):
        build_component("ActorNetwork", {**ACTOR, "obs_shapes": {"image": [3, 50000, 20000]}})
    with pytest.raises(InvalidKwargsError, match=r"obs_shapes\['eef_pos'\]\[0\]' must be an int"):
        build_component("ActorNetwork", {**ACTOR, "obs_shapes": {"eef_pos": [3.5]}})
    with pytest.raises(InvalidKwargsError, match=r"'obs_shapes' maps 'eef_pos' to None"):
        build_component("ActorNetwork", {**ACTOR, "obs_shapes": {"eef_pos": None}})
    with pytest.raises(InvalidKwargsError, match=r"'obs_shapes' must be a dict"):
        build_component("ActorNetwork", {**ACTOR, "obs_shapes": [3]})


def test_floats_must_be_finite_and_in_range():
    kwargs = {"input_shape": [8, 4, 4], "num_kp": 4}
    for bad in (math.nan, math.inf, -math.inf, 1e300):
        with pytest.raises(ConfigError, match="'temperature' must be a finite number"):
            build_component("SpatialSoftmax", {**kwargs, "temperature": bad})
    with pytest.raises(ConfigError, match=r"'noise_std' must be a number >= 0"):
        build_component("SpatialSoftmax", {**kwargs, "noise_std": -0.1})
    with pytest.raises(InvalidKwargsError, match=r"'temperature' must be a number; got True"):
        build_component("SpatialSoftmax", {**kwargs, "temperature": True})


def test_rnn_kwargs_are_checked_with_the_valid_keys_named():
    with pytest.raises(ConfigError, match=r"'num_layers'.*Valid keys: bias, dropout, bidir"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4, rnn_num_layers=1, rnn_kwargs={"num_layers": 2})
    with pytest.raises(InvalidKwargsError, match=r"rnn_kwargs\['bidirectional'\]"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4, rnn_num_layers=1, rnn_kwargs={"bidirectional": 1})
    rnn = RNN_Base(3, 4, 1, rnn_kwargs={"bidirectional": True, "dropout": 0.0, "bias": False})
    assert rnn.output_shape([5, 3]) == [5, 8]


def test_valid_arguments_still_build_and_numpy_values_count_as_ints():
    mlp = MLP(np.int64(3), 2, layer_dims=(4,), dropouts=[0.1])
    assert mlp.output_shape() == [2]
    assert mlp.init_arguments["input_dim"] == 3
    check_arguments(MLP, {"input_dim": 3, "output_dim": 2, "layer_dims": torch.Size([4])})


@pytest.mark.parametrize(
    ("name", "kwargs", "pattern"),
    [
        (
            "CropRandomizer",
            {"input_shape": [3, 8, 8], "crop_height": 0, "crop_width": 4},
            r"argument 'crop_height' must be an int >= 1; got 0",
        ),
        (
            "CausalSelfAttention",
            {"embed_dim": 8, "num_heads": 2.5, "context_length": 4},
            r"argument 'num_heads' must be an int >= 1; got 2\.5 \(float\)",
        ),
        (
            "CausalSelfAttention",
            {"embed_dim": 8, "num_heads": 2, "context_length": 4, "attn_dropout": 1.0},
            r"'attn_dropout' is a dropout probability",
        ),
        ("GMMActorNetwork", {**ACTOR, "num_modes": 0}, r"argument 'num_modes' must be an int"),
        ("ActionValueNetwork", {**ACTOR, "ac_dim": 0}, r"argument 'ac_dim' must be an int"),
        ("GaussianPrior", {"latent_dim": 0}, r"argument 'latent_dim' must be an int"),
    ],
)
def test_a_subclass_forwarding_kwargs_keeps_the_base_checks(name, kwargs, pattern):
    # The annotations of a subclass taking **kwargs say nothing, so the base's own
    # __init__ is what refuses the value.
    if name == "CausalSelfAttention":  # a block of obsnets-transformer, not a component
        base = getattr(importlib.import_module("obsnets_transformer"), name)
    else:
        base = resolve_component(name)

    class Forwarding(base, abstract=True):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    with pytest.raises(ObsnetsError, match=pattern):
        Forwarding(**kwargs)


# -- runtime inputs -------------------------------------------------------------------------


def _encoder():
    enc = ObservationEncoder()
    enc.register_obs_key("eef_pos", [3])
    enc.register_obs_key(
        "image",
        [3, 8, 8],
        net_class="VisualCore",
        net_kwargs={
            "input_shape": [3, 8, 8],
            "backbone_class": "ShallowConv",
            "pool_class": "SpatialMeanPool",
            "feature_dimension": 4,
        },
    )
    enc.make()
    return enc.eval()


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda o: {**o, "image": o["image"].numpy()}, r"'image' must be a torch.Tensor.*numpy"),
        (lambda o: {**o, "eef_pos": o["eef_pos"].tolist()}, r"'eef_pos'.*got a list.*as_tensor"),
        (
            lambda o: {**o, "image": (o["image"] * 255).to(torch.uint8)},
            r"'image'.*x.float\(\) / 255",
        ),
        (lambda o: {**o, "image": o["image"][:1]}, r"'image' has batch size 1 but 'eef_pos' has 2"),
        (lambda o: {**o, "image": o["image"].double()}, r"'image' has dtype torch.float64 but"),
        (lambda o: {**o, "eef_pos": o["eef_pos"].long()}, r"'eef_pos'.*dtype torch.int64"),
    ],
)
def test_encoder_names_the_key_of_a_bad_input(change, pattern):
    inputs = {"eef_pos": torch.randn(2, 3), "image": torch.rand(2, 3, 8, 8)}
    with pytest.raises(ShapeError, match=pattern):
        _encoder()(change(inputs))


def test_float64_inputs_into_a_float32_network_name_the_keys_and_the_fix():
    enc = _encoder()
    with pytest.raises(ShapeError, match=r"ObservationEncoder: the network is torch.float32 but"):
        enc({"eef_pos": torch.randn(2, 3).double(), "image": torch.rand(2, 3, 8, 8).double()})
    net = MIMO_MLP({"obs": OBS}, {"action": [2]}, layer_dims=[4])
    with pytest.raises(ShapeError, match=r"obs\['eef_pos'\] is torch.float64.*model.to"):
        net(obs=_obs(dtype=torch.float64))
    rnn = RNN_MIMO_MLP({"obs": OBS}, {"action": [2]}, [4], rnn_hidden_dim=4, rnn_num_layers=1)
    with pytest.raises(ShapeError, match=r"RNN_MIMO_MLP: the network is torch.float32"):
        rnn(obs={k: v.unsqueeze(1) for k, v in _obs(dtype=torch.float64).items()})
    assert net.double()(obs=_obs(dtype=torch.float64))["action"].dtype == torch.float64


@pytest.mark.parametrize("name", ["ActorNetwork", "GaussianActorNetwork", "GMMActorNetwork"])
def test_batch_size_zero_gives_empty_outputs(name):
    net = build_component(name, ACTOR).eval()
    assert net(obs_dict=_obs(batch=0)).shape == (0, 2)
    assert _encoder()({"eef_pos": torch.zeros(0, 3), "image": torch.zeros(0, 3, 8, 8)}).shape == (
        0,
        7,
    )


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("GaussianActorNetwork", math.nan),
        ("GaussianActorNetwork", math.inf),
        ("GMMActorNetwork", math.nan),
        ("GMMActorNetwork", -math.inf),
        # inf into an LSTM saturates (tanh(inf) = 1) and the mixture stays finite: NaN only
        ("RNNGMMActorNetwork", math.nan),
    ],
)
def test_non_finite_observations_into_a_distribution_name_the_key(name, bad, monkeypatch):
    # torch's distribution argument checks are on by default; torch.export and torch.compile
    # in earlier tests of the same process can leave them off, so set the default here.
    monkeypatch.setattr(Distribution, "_validate_args", True)
    kwargs = {**ACTOR, "rnn_hidden_dim": 4, "rnn_num_layers": 1} if "RNN" in name else ACTOR
    net = build_component(name, kwargs).train()
    inputs = _obs()
    inputs["object"][1, 2] = bad
    if "RNN" in name:
        inputs = {k: v.unsqueeze(1) for k, v in inputs.items()}
    if math.isnan(bad):
        with pytest.raises(ShapeError, match=r"observation obs_dict\['object'\] holds NaN or inf"):
            net.forward_train(obs_dict=inputs)
        return
    # inf poisons the distribution only when it meets weights of both signs (inf - inf); when
    # it saturates instead (clamped means, softplus scales), the distribution stays valid.
    try:
        dist = net.forward_train(obs_dict=inputs)
    except ShapeError as exc:
        assert "observation obs_dict['object'] holds NaN or inf" in str(exc)
    else:
        assert torch.isfinite(dist.sample()).all()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"mean_limits": [1.0]}, r"mean_limits must be \[low, high\] with low < high; got \[1.0\]"),
        ({"mean_limits": [2.0, -2.0]}, r"mean_limits must be \[low, high\]"),
        ({"std_limits": [0.0, 1.0]}, r"std_limits\[0\] is the smallest standard deviation"),
        ({"init_last_fc_weight": -1.0}, r"init_last_fc_weight is the bound .* above 0; got -1.0"),
    ],
)
def test_gaussian_policy_limits_are_checked(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_component("GaussianActorNetwork", {**ACTOR, **kwargs})


def test_vae_output_ranges_need_two_bounds():
    kwargs = {
        "input_shapes": {"action": [2]},
        "output_shapes": {"action": [2]},
        "encoder_layer_dims": [4],
        "decoder_layer_dims": [4],
        "latent_dim": 2,
        "output_ranges": {"action": []},
    }
    with pytest.raises(
        ConfigError, match=r"output_ranges\['action'\] must be \(low, high\); got \[\]"
    ):
        build_component("VAE", kwargs)


@pytest.mark.parametrize(
    ("config", "pattern"),
    [
        (3, "A config must be a mapping"),
        ({"network": 3}, "'network' must name a network"),
        ({"network": "MIMO_MLP", "kwargs": [1]}, "'kwargs' must be a mapping"),
        ({5: 1, "network": "MIMO_MLP"}, "unknown key"),
    ],
)
def test_malformed_configs_are_config_errors(config, pattern):
    from obsnets.config import build_from_config

    with pytest.raises(ConfigError, match=pattern):
        build_from_config(config)


def test_encoder_core_checks_the_input_shape_it_is_given():
    from obsnets.bases import EncoderCore

    class UncheckedCore(EncoderCore, abstract=True):  # passes its argument on unannotated
        def __init__(self, input_shape):
            super().__init__(input_shape)

        def output_shape(self, input_shape=None):
            return self.input_shape

    with pytest.raises(InvalidKwargsError, match=r"UncheckedCore: argument 'input_shape\[0\]'"):
        UncheckedCore(["A"])
    with pytest.raises(
        ConfigError, match=r"UncheckedCore: argument 'input_shape' must not be empty"
    ):
        UncheckedCore([])
    assert UncheckedCore((3, 4)).input_shape == [3, 4]


def test_a_non_string_kwarg_key_is_named_not_crashed_on():
    from obsnets.config import build_from_config

    with pytest.raises(InvalidKwargsError) as excinfo:
        build_from_config({"network": "MLP", "kwargs": {1: 2, "input_dim": 3, "output_dim": 2}})
    assert str(excinfo.value).startswith("network MLP got unexpected keyword argument(s) 1.")
    with pytest.raises(ConfigError, match=r"rnn_kwargs has key\(s\) 3 that a GRU does not"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4, rnn_num_layers=1, rnn_type="GRU", rnn_kwargs={3: 1})
    with pytest.raises(ConfigError, match=r"key\(s\) 'nm_layers' that an LSTM does not"):
        RNN_Base(input_dim=3, rnn_hidden_dim=4, rnn_num_layers=1, rnn_kwargs={"nm_layers": 1})


def test_close_matches_compare_non_string_names_as_text():
    from obsnets.errors import close_matches, suggestion

    assert close_matches(1, ["1", "10", "x"]) == ["1", "10"]
    assert suggestion(12, ["input_dim", "12a"]) == " Did you mean '12a'?"
    assert suggestion(None, ["input_dim"]) == ""


@pytest.mark.parametrize("kwargs", [[], 0, "", False])
def test_falsy_kwargs_that_are_not_a_mapping_are_config_errors(kwargs):
    from obsnets.config import build_from_config

    with pytest.raises(ConfigError) as excinfo:
        build_from_config({"network": "MLP", "kwargs": kwargs})
    assert str(excinfo.value) == (
        "Config 'kwargs' must be a mapping (a JSON object) of the network's arguments; got "
        f"{type(kwargs).__name__}."
    )


def test_an_init_accepting_more_than_its_signature_records_no_arguments():
    import functools

    from obsnets.bases import EncoderCore

    def lenient(init):
        @functools.wraps(init)  # the signature shown is init's, without ``extra``
        def wrapper(self, *args, extra=None, **kwargs):
            init(self, *args, **kwargs)

        return wrapper

    class LenientCore(EncoderCore, abstract=True):
        @lenient
        def __init__(self, input_shape, gain: float = 1.0):
            super().__init__(input_shape)

        def output_shape(self, input_shape=None):
            return list(self.input_shape)

    assert LenientCore([3], gain=2.0).init_arguments == {"input_shape": [3], "gain": 2.0}
    core = LenientCore([3], extra=1)  # built: its arguments are unknown, so none are recorded
    assert not hasattr(core, "init_arguments")


@pytest.mark.parametrize(
    ("value", "keywords", "error", "message"),
    [
        ([1.0], {}, ConfigError, "Net: b must be [low, high] with low < high; got [1.0]."),
        ((), {"expected": "(low, high)"}, ConfigError, "Net: b must be (low, high); got []."),
        (3.0, {}, ConfigError, "Net: b must be [low, high] with low < high; got 3.0."),
        ("ab", {}, ConfigError, "Net: b must be [low, high] with low < high; got 'ab'."),
        (
            (2.0, 2.0),
            {},
            ConfigError,
            "Net: b must be [low, high] with low < high; got [2.0, 2.0], where low < high does "
            "not hold.",
        ),
        (
            [0, 1],
            {"positive": True},
            ConfigError,
            "Net: b[0] is the lower bound and must be above 0; got 0.",
        ),
        (
            [-1.0, 1.0],
            {"positive": True, "low_is": "the smallest scale"},
            ConfigError,
            "Net: b[0] is the smallest scale and must be above 0; got -1.0.",
        ),
        ([float("nan"), 1.0], {}, ConfigError, "Net: argument 'b[0]' must be a finite number"),
        ([0.0, "1"], {}, InvalidKwargsError, "Net: argument 'b[1]' must be a number; got"),
    ],
)
def test_check_bounds_refuses_anything_but_two_ordered_numbers(value, keywords, error, message):
    from obsnets.validation import check_bounds

    with pytest.raises(error) as info:
        check_bounds("Net", "b", value, **keywords)
    assert str(info.value).startswith(message)


def test_check_bounds_returns_floats():
    from obsnets.validation import check_bounds

    assert check_bounds("Net", "b", (1, 3)) == (1.0, 3.0)
    assert check_bounds("Net", "b", [0.5, 2], positive=True) == (0.5, 2.0)
    assert all(type(x) is float for x in check_bounds("Net", "b", (1, 3)))
