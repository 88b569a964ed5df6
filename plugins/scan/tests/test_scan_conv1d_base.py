"""Conv1dBase: per-layer lists or broadcast scalars, strict kwargs, exact output shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import obsnets
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_scan import Conv1dBase


def test_registered_as_backbone():
    assert obsnets.resolve_component("Conv1dBase", kind="backbone") is Conv1dBase
    assert isinstance(Conv1dBase(), obsnets.ConvBase)


def test_defaults_are_robomimics_layers_and_keys():
    net = Conv1dBase()
    convs = [net.nets.conv0, net.nets.conv1, net.nets.conv2]
    assert [c.out_channels for c in convs] == [32, 64, 64]
    assert [c.kernel_size for c in convs] == [(8,), (4,), (2,)]
    assert [c.stride for c in convs] == [(4,), (2,), (1,)]
    assert [c.in_channels for c in convs] == [1, 32, 64]
    assert all(isinstance(getattr(net.nets, f"act{i}"), nn.ReLU) for i in range(3))
    assert net.n_layers == 3
    assert list(net.state_dict()) == [
        f"nets.conv{i}.{p}" for i in range(3) for p in ("weight", "bias")
    ]
    assert net.output_shape([1, 120]) == [64, 12]


def test_scalars_broadcast_to_every_layer():
    net = Conv1dBase(input_channel=2, out_channels=[8, 16], kernel_size=3, stride=1, padding=1)
    assert [net.nets.conv0.kernel_size, net.nets.conv1.kernel_size] == [(3,), (3,)]
    assert [net.nets.conv0.padding, net.nets.conv1.padding] == [(1,), (1,)]
    x = torch.randn(2, 2, 20)
    assert net(x).shape == (2, 16, 20)
    single = Conv1dBase(out_channels=4, kernel_size=5, stride=2)
    assert single.n_layers == 1
    assert single.output_shape([1, 21]) == [4, 9]


@pytest.mark.parametrize(
    "kwargs, length",
    [
        ({}, 120),
        ({}, 37),
        ({"padding": [1, 2, 0], "dilation": [1, 2, 1]}, 50),
        ({"out_channels": [4, 4], "kernel_size": [3, 3], "stride": 1, "padding": "same"}, 17),
        ({"out_channels": [4], "kernel_size": [3], "stride": [1], "padding": "valid"}, 9),
    ],
)
def test_output_shape_equals_real_output(kwargs, length):
    net = Conv1dBase(input_channel=3, **kwargs)
    out = net(torch.randn(2, 3, length))
    assert list(out.shape[1:]) == net.output_shape([3, length])


def test_activation_by_name_or_none():
    assert isinstance(Conv1dBase(activation="ELU").nets.act0, nn.ELU)
    assert isinstance(Conv1dBase(activation="torch.nn.Tanh").nets.act2, nn.Tanh)
    for none in (None, "None"):
        net = Conv1dBase(activation=none)
        assert [name for name, _ in net.nets.named_children()] == ["conv0", "conv1", "conv2"]
        # Without activation the stack is affine: f(2x) - f(0) == 2 (f(x) - f(0)).
        x = torch.randn(1, 1, 60)
        zero = net(torch.zeros_like(x))
        torch.testing.assert_close(net(2 * x) - zero, 2 * (net(x) - zero), rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match=r"Conv1dBase.*relux"):
        Conv1dBase(activation="relux")


def test_mismatched_list_lengths_raise():
    with pytest.raises(ConfigError, match=r"out_channels has 3, kernel_size has 2"):
        Conv1dBase(kernel_size=[8, 4])
    with pytest.raises(ConfigError, match="at least one layer"):
        Conv1dBase(out_channels=[], kernel_size=[], stride=[])


def test_unknown_conv_kwarg_names_valid_ones():
    with pytest.raises(InvalidKwargsError, match=r"'paddin'.*Did you mean 'padding'.*dilation"):
        Conv1dBase(paddin=[1, 1, 1])
    with pytest.raises(InvalidKwargsError, match="'in_channels'"):
        Conv1dBase(in_channels=3)
    # Through the registry the same strictness applies.
    with pytest.raises(InvalidKwargsError):
        obsnets.build_component("Conv1dBase", {"kernal_size": [1, 1, 1]}, kind="backbone")


def test_wrong_input_shapes_raise_shape_errors():
    net = Conv1dBase(input_channel=2)
    with pytest.raises(
        ShapeError, match=r"Conv1dBase expects input of shape \(B, 2, L\), got \(4, 1, 120\)"
    ):
        net(torch.randn(4, 1, 120))
    with pytest.raises(
        ShapeError, match=r"Conv1dBase expects input shape \(2, L\), got \(1, 120\)"
    ):
        net.output_shape([1, 120])
    with pytest.raises(ShapeError, match="too short"):
        net.output_shape([2, 5])
