"""Basic blocks: MLP, RNN_Base, Sequential, Parameter, Squeeze, Unsqueeze."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets import (
    MLP,
    ConfigError,
    Parameter,
    RNN_Base,
    Sequential,
    ShapeError,
    Squeeze,
    Unsqueeze,
)


def test_mlp_layer_order_keys_and_numbers():
    torch.manual_seed(0)
    mlp = MLP(
        4,
        3,
        layer_dims=(8, 6),
        activation=nn.Tanh,
        dropouts=(0.0, 0.5),
        normalization=True,
        output_activation=nn.Sigmoid,
    )
    kinds = [type(m).__name__ for m in mlp._model]
    assert kinds == [
        "Linear",
        "LayerNorm",
        "Tanh",
        "Linear",
        "LayerNorm",
        "Tanh",
        "Dropout",
        "Linear",
        "Sigmoid",
    ]
    assert "_model.0.weight" in mlp.state_dict()
    mlp.eval()
    x = torch.randn(5, 4)
    m = mlp._model
    expected = torch.sigmoid(m[7](torch.tanh(m[4](m[3](torch.tanh(m[1](m[0](x))))))))
    torch.testing.assert_close(mlp(x), expected)
    assert mlp.output_shape() == [3] and mlp.output_shape([7, 4]) == [7, 3]


def test_mlp_accepts_torch_class_names_and_rejects_bad_ones():
    mlp = MLP(2, 2, layer_dims=(3,), activation="torch.nn.ELU", layer_func="Linear")
    assert isinstance(mlp._model[1], nn.ELU)
    with pytest.raises(ConfigError, match="Did you mean 'ReLU'"):
        MLP(2, 2, layer_dims=(3,), activation="Reluu")
    with pytest.raises(ConfigError, match="one dropout probability per hidden layer"):
        MLP(2, 2, layer_dims=(3, 3), dropouts=(0.1,))
    with pytest.raises(ShapeError, match="last dimension is 2"):
        MLP(2, 2).output_shape([5])


def test_mlp_layer_func_kwargs_only_on_hidden_layers():
    mlp = MLP(3, 2, layer_dims=(4,), layer_func_kwargs={"bias": False})
    assert mlp._model[0].bias is None and mlp._model[2].bias is not None


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_rnn_forward_step_matches_sequence(rnn_type):
    torch.manual_seed(0)
    per_step = MLP(16, 3, layer_dims=(8,))
    rnn = RNN_Base(5, 16, 2, rnn_type=rnn_type, per_step_net=per_step)
    x = torch.randn(4, 6, 5)
    full, final = rnn(x, return_state=True)
    assert full.shape == (4, 6, 3) and rnn.output_shape([6, 5]) == [6, 3]
    state = rnn.get_rnn_init_state(4, x.device)
    steps = []
    for t in range(6):
        out, state = rnn.forward_step(x[:, t], state)
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps, 1), full)
    if rnn_type == "LSTM":
        torch.testing.assert_close(state[0], final[0])
        torch.testing.assert_close(state[1], final[1])
    else:
        torch.testing.assert_close(state, final)


def test_rnn_init_state_and_bidirectional_output_shape():
    rnn = RNN_Base(3, 16, 3, rnn_kwargs={"bidirectional": True})
    h, c = rnn.get_rnn_init_state(2, "cpu")
    assert h.shape == c.shape == (6, 2, 16) and not h.any()
    out = rnn(torch.randn(2, 4, 3))
    assert list(out.shape[1:]) == rnn.output_shape([4, 3]) == [4, 32]  # robomimic said 48
    gru = RNN_Base(3, 7, 1, rnn_type="GRU")
    assert gru.get_rnn_init_state(5, "cpu").shape == (1, 5, 7)


def test_rnn_errors():
    with pytest.raises(ConfigError, match="Did you mean 'LSTM'"):
        RNN_Base(3, 4, 1, rnn_type="lstm")
    with pytest.raises(ShapeError, match=r"\(B, T, D\)"):
        RNN_Base(3, 4, 1)(torch.zeros(2, 3))


def test_sequential_chains_shapes_and_freezes():
    seq = Sequential(MLP(4, 6), MLP(6, 2))
    assert seq.output_shape([4]) == [2]
    seq.freeze()
    seq.train()
    assert not seq.training and not any(p.requires_grad for p in seq.parameters())
    with pytest.raises(ConfigError, match="has no output_shape"):
        Sequential(nn.ReLU())
    plain = Sequential(nn.ReLU(), has_output_shape=False)
    with pytest.raises(ConfigError):
        plain.output_shape([1])


def test_parameter_returns_its_tensor():
    p = Parameter(torch.tensor([1.0, 2.0]))
    assert p() is p.param and p.output_shape() == [2] and p.param.requires_grad


@pytest.mark.parametrize(
    ("dim", "shape"), [(-1, [3, 4]), (1, [3, 4]), (2, [3, 4]), (-2, [3, 4]), (0 + 3, [3, 4])]
)
def test_unsqueeze_output_shape_matches_forward(dim, shape):
    module = Unsqueeze(dim)
    assert list(module(torch.zeros(2, *shape)).shape[1:]) == module.output_shape(shape)


@pytest.mark.parametrize(("dim", "shape"), [(-1, [3, 1]), (1, [1, 4]), (2, [3, 1]), (-2, [1, 5])])
def test_squeeze_output_shape_matches_forward(dim, shape):
    module = Squeeze(dim)
    assert list(module(torch.zeros(2, *shape)).shape[1:]) == module.output_shape(shape)
