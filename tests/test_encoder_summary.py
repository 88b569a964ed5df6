"""summarize / format_summary / example_inputs (what ``obsnets build --summary`` prints)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets.bases import EncoderCore, Randomizer
from obsnets.encoders import (
    ObservationDecoder,
    ObservationEncoder,
    ObservationGroupEncoder,
    example_inputs,
    format_summary,
    summarize,
)
from obsnets.encoders.summary import random_observations
from obsnets.errors import ConfigError, InvalidKwargsError
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP


class SummaryTestCore(EncoderCore):
    def __init__(self, input_shape, out_dim=3):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


class SummaryTestNoise(Randomizer):
    def __init__(self, input_shape):
        super().__init__()

    def forward_in(self, inputs):
        return inputs

    def forward_out(self, inputs):
        return inputs

    def output_shape_in(self, input_shape=None):
        return list(input_shape)

    def output_shape_out(self, input_shape=None):
        return list(input_shape)


def _encoder():
    enc = ObservationEncoder()
    enc.register_obs_key(
        "cam", [1, 2, 2], net_class="SummaryTestCore", randomizers=SummaryTestNoise([1, 2, 2])
    )
    enc.register_obs_key("cam2", [1, 2, 2], share_net_from="cam")
    enc.register_obs_key("pos", [3])
    enc.make()
    return enc


def test_encoder_rows_describe_each_key_and_count_shared_parameters_once():
    rows = summarize(_encoder())
    by_name = {r.name: r for r in rows}
    cam, cam2, pos, total = by_name["cam"], by_name["cam2"], by_name["pos"], rows[-1]
    assert (cam.kind, cam.randomizers, cam.net, cam.input_shape, cam.output_shape, cam.params) == (
        "obs_key",
        ["SummaryTestNoise"],
        "SummaryTestCore",
        [1, 2, 2],
        [3],
        4 * 3 + 3,
    )
    assert cam.path == "obs_nets.cam"
    assert (cam2.shared_from, cam2.params, cam2.randomizers) == ("cam", 0, [])
    assert (pos.net, pos.output_shape, pos.params) == (None, [3], 0)
    assert (total.kind, total.params, total.output_shape) == ("total", 15, [9])
    text = format_summary(rows)
    assert "SummaryTestNoise -> SummaryTestCore" in text and "(shared from cam)" in text
    assert text.splitlines()[-1].split()[-1] == "15"


def test_mimo_rows_cover_groups_mlp_decoder_and_add_up_to_the_total():
    net = MIMO_MLP(
        {"obs": {"cam": [1, 2, 2], "pos": [3]}, "goal": {"pos": [3]}},
        {"action": [2]},
        layer_dims=[5],
        encoder_kwargs={"rgb": {"core_class": "SummaryTestCore"}},
        obs_modalities={"rgb": ["cam"], "low_dim": ["pos"]},
    )
    rows = summarize(net)
    keys = [(r.group, r.name, r.modality) for r in rows if r.kind == "obs_key"]
    assert keys == [("obs", "cam", "rgb"), ("obs", "pos", "low_dim"), ("goal", "pos", "low_dim")]
    modules = {r.name: r for r in rows if r.kind == "module"}
    assert set(modules) == {"nets.mlp", "nets.decoder"}
    assert modules["nets.mlp"].params == (9 * 5 + 5) and modules["nets.mlp"].output_shape == [5]
    assert modules["nets.decoder"].output_shape == {"action": [2]}
    total = rows[-1]
    assert total.params == sum(p.numel() for p in net.parameters())
    assert sum(r.params for r in rows[:-1]) == total.params
    assert rows[0].path == "nets.encoder.nets.obs.obs_nets.cam"
    assert rows[0].as_dict()["group"] == "obs"


def test_rnn_rows_do_not_count_the_per_step_aliases_twice():
    net = RNN_MIMO_MLP(
        {"obs": {"pos": [3]}}, {"action": [2]}, [4], rnn_hidden_dim=5, rnn_num_layers=1
    )
    rows = summarize(net)
    modules = {r.name: r.params for r in rows if r.kind == "module"}
    lstm = sum(p.numel() for p in net.nets["rnn"].nets.parameters())
    assert modules == {"nets.mlp": 5 * 4 + 4, "nets.decoder": 4 * 2 + 2, "nets.rnn": lstm}
    assert rows[-1].params == sum(modules.values())


def test_plain_module_is_summarised_by_children():
    rows = summarize(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert [(r.name, r.params) for r in rows] == [("0", 9), ("1", 0), ("total", 9)]


@pytest.mark.parametrize("kind", ["encoder", "decoder", "group", "mimo", "rnn", "rnn_last"])
def test_example_inputs_run_the_network(kind):
    shapes = {"cam": [1, 2, 2], "pos": [3]}
    enc_kwargs = {
        "encoder_kwargs": {"rgb": {"core_class": "SummaryTestCore"}},
        "obs_modalities": {"rgb": ["cam"]},
    }
    net = {
        "encoder": _encoder,
        "decoder": lambda: ObservationDecoder({"a": [2, 2]}, input_feat_dim=4),
        "group": lambda: ObservationGroupEncoder(
            {"obs": shapes, "goal": {"pos": [3]}}, **enc_kwargs
        ),
        "mimo": lambda: MIMO_MLP({"obs": shapes}, {"a": [2]}, [4], **enc_kwargs),
        "rnn": lambda: RNN_MIMO_MLP({"obs": shapes}, {"a": [2]}, [4], 5, 1, **enc_kwargs),
        "rnn_last": lambda: RNN_MIMO_MLP(
            {"obs": shapes}, {"a": [2]}, [], 5, 1, per_step=False, **enc_kwargs
        ),
    }[kind]()
    inputs = example_inputs(net, batch_size=3, sequence_length=4)
    out = net(**inputs)
    if kind in ("encoder", "group"):
        assert list(out.shape) == [3, *net.output_shape()]
    elif kind == "rnn":
        assert out["a"].shape == (3, 4, 2)
        assert inputs["obs"]["cam"].shape == (3, 4, 1, 2, 2)
    else:
        first = next(iter(out.values()))
        assert first.shape[0] == 3
    again = example_inputs(net, batch_size=3, sequence_length=4)
    first_in = next(iter(inputs.values()))
    again_in = next(iter(again.values()))
    if isinstance(first_in, dict):
        first_in, again_in = next(iter(first_in.values())), next(iter(again_in.values()))
    assert torch.equal(first_in, again_in)  # seeded: the same inputs each time


def test_example_inputs_for_policy_style_subclasses():
    class SummaryTestQ(MIMO_MLP):
        def __init__(self):
            self.obs_shapes = {"pos": [3]}
            self.goal_shapes = {"target": [2]}
            self.ac_dim = 2
            super().__init__(
                {"obs": {"pos": [3], "action": [2]}, "goal": {"target": [2]}}, {"q": [1]}, [4]
            )

        def forward(self, obs_dict, acts, goal_dict=None):
            return MIMO_MLP.forward(self, obs={**obs_dict, "action": acts}, goal=goal_dict)["q"]

    net = SummaryTestQ()
    inputs = example_inputs(net, batch_size=2)
    assert set(inputs) == {"obs_dict", "acts", "goal_dict"}
    assert inputs["acts"].abs().max() <= 1
    assert net(**inputs).shape == (2, 1)


def test_example_inputs_uses_the_networks_own_method_or_explains():
    class WithOwn(nn.Module):
        def example_inputs(self, batch_size):
            return {"x": torch.zeros(batch_size, 2)}

    assert example_inputs(WithOwn(), batch_size=4)["x"].shape == (4, 2)
    with pytest.raises(ConfigError, match=r"define Linear.example_inputs\(batch_size\)"):
        example_inputs(nn.Linear(2, 2))

    class NeedsMore(MIMO_MLP):
        def forward(self, obs_dict, horizon):
            return obs_dict

    net = NeedsMore({"obs": {"pos": [3]}}, {"a": [1]}, [2])
    with pytest.raises(ConfigError, match="'horizon'"):
        example_inputs(net)


def test_random_observations_draw_images_uniform_and_the_rest_normal_in_key_order():
    shapes = {"img": [3, 2, 2], "pos": [4]}
    obs = random_observations(shapes, 2, seed=7)
    generator = torch.Generator().manual_seed(7)
    want_img = torch.rand(2, 3, 2, 2, generator=generator)  # first key first, one stream
    want_pos = torch.randn(2, 4, generator=generator)
    assert list(obs) == ["img", "pos"]
    assert torch.equal(obs["img"], want_img)
    assert torch.equal(obs["pos"], want_pos)
    assert obs["pos"].device == torch.device("cpu")
    history = random_observations(shapes, 2, 5)
    assert history["img"].shape == (2, 5, 3, 2, 2)
    assert history["pos"].shape == (2, 5, 4)
    assert history["img"].min() >= 0 and history["img"].max() <= 1
    assert history["pos"].min() < 0  # normal, not uniform


def test_random_observations_continue_a_given_generator_and_follow_a_modules_device():
    shared = torch.Generator().manual_seed(3)
    first = random_observations({"a": [2]}, 3, generator=shared)
    second = random_observations({"b": [2]}, 3, generator=shared)
    both = random_observations({"a": [2], "b": [2]}, 3, seed=3)
    assert torch.equal(first["a"], both["a"])
    assert torch.equal(second["b"], both["b"])
    on_cpu = random_observations({"a": [2]}, 1, device=nn.Linear(2, 2))
    assert on_cpu["a"].device == torch.device("cpu")
    assert random_observations({"a": [2]}, 1, device=nn.ReLU())["a"].device.type == "cpu"


def test_random_observations_refuse_bad_sizes_by_name():
    with pytest.raises(ConfigError) as caught:
        random_observations({"a": [2]}, 0)
    assert (
        str(caught.value)
        == "random_observations: argument 'batch_size' must be an int >= 1; got 0."
    )
    with pytest.raises(InvalidKwargsError, match=r"^random_observations: argument 'steps' must"):
        random_observations({"a": [2]}, 2, steps=True)


def test_example_inputs_refuse_a_sequence_length_below_one():
    net = RNN_MIMO_MLP({"obs": {"pos": [3]}}, {"a": [2]}, [4], 5, 1)
    with pytest.raises(ConfigError) as caught:
        example_inputs(net, sequence_length=0)
    assert str(caught.value) == (
        "example_inputs: argument 'sequence_length' must be an int >= 1; got 0."
    )
