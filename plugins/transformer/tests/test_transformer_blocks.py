"""Attention, blocks, GPT backbone, activations and position encodings: numbers and behaviour."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError, ShapeError
from obsnets_transformer import (
    GEGLU,
    CausalSelfAttention,
    GPT_Backbone,
    PositionalEncoding,
    SelfAttentionBlock,
)
from obsnets_transformer.causal_self_attention import masked_softmax_attention


def _attention(context: int = 5) -> CausalSelfAttention:
    torch.manual_seed(0)
    attention = CausalSelfAttention(16, 4, context, attn_dropout=0.0, output_dropout=0.0)
    nn.init.normal_(attention.nets["qkv"].weight, std=0.5)  # peaked, far from uniform
    return attention.eval()


def test_fused_attention_equals_the_written_out_masked_softmax() -> None:
    attention = _attention()
    x = torch.randn(3, 5, 16)
    fused = attention(x)
    attention.nets["attn_dropout"] = nn.Identity()  # not nn.Dropout: the written-out path
    plain = attention(x)
    torch.testing.assert_close(fused, plain, atol=1e-6, rtol=1e-5)
    # and the written-out path is softmax(q k^T / sqrt(d) + causal mask) v, by hand
    q, k, v = attention.nets["qkv"](x).chunk(3, dim=-1)
    q, k, v = (t.view(3, 5, 4, 4).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / 2.0
    scores = scores + torch.triu(torch.full((5, 5), float("-inf")), diagonal=1)
    by_hand = (scores.softmax(-1) @ v).transpose(1, 2).reshape(3, 5, 16)
    torch.testing.assert_close(plain, attention.nets["output"](by_hand), atol=1e-6, rtol=1e-5)


def test_attention_is_causal_and_accepts_shorter_sequences() -> None:
    attention = _attention(context=6)
    x = torch.randn(2, 6, 16)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 16)  # only the future of step 3 changes
    full, other = attention(x), attention(changed)
    torch.testing.assert_close(full[:, :4], other[:, :4], atol=0, rtol=0)
    assert not torch.allclose(full[:, 4:], other[:, 4:])
    torch.testing.assert_close(attention(x[:, :3]), full[:, :3], atol=1e-6, rtol=1e-5)


def test_a_replaced_attention_dropout_module_is_run() -> None:
    attention = _attention()
    calls: list[tuple[int, ...]] = []

    class Halve(nn.Module):
        def forward(self, weights: torch.Tensor) -> torch.Tensor:
            calls.append(tuple(weights.shape))
            return weights * 0.5

    x = torch.randn(2, 5, 16)
    attention.nets["attn_dropout"] = nn.Identity()
    whole = attention(x)
    attention.nets["attn_dropout"] = Halve()
    halved = attention(x)
    assert calls == [(2, 4, 5, 5)]  # (B, H, T, T) attention weights
    bias = attention.nets["output"].bias
    torch.testing.assert_close(halved - bias, 0.5 * (whole - bias), atol=1e-6, rtol=1e-5)


def test_attention_dropout_is_active_in_train_mode_only() -> None:
    attention = CausalSelfAttention(16, 4, 5, attn_dropout=0.5, output_dropout=0.0)
    x = torch.randn(2, 5, 16)
    attention.eval()
    torch.testing.assert_close(attention(x), attention(x), atol=0, rtol=0)
    attention.train()
    torch.manual_seed(1)
    first = attention(x)
    torch.manual_seed(2)
    assert not torch.allclose(first, attention(x))


def test_masked_softmax_attention_never_attends_to_masked_steps() -> None:
    q, k, v = torch.randn(1, 1, 3, 2), torch.randn(1, 1, 3, 2), torch.randn(1, 1, 3, 2)
    mask = torch.tril(torch.ones(3, 3)).view(1, 1, 3, 3)
    out = masked_softmax_attention(q, k, v, mask, nn.Identity())
    torch.testing.assert_close(out[0, 0, 0], v[0, 0, 0])  # step 0 sees only itself


def test_geglu_gates_the_second_half_and_keeps_the_first() -> None:
    x = torch.tensor([[2.0, -3.0, 1.0, 0.5]])  # value (2, -3), gate (1, 0.5)
    gelu = [0.5 * g * (1 + math.erf(g / math.sqrt(2))) for g in (1.0, 0.5)]
    torch.testing.assert_close(GEGLU()(x), torch.tensor([[2.0 * gelu[0], -3.0 * gelu[1]]]))
    with pytest.raises(ShapeError, match="even"):
        GEGLU()(torch.ones(2, 3))


@pytest.mark.parametrize(("activation", "width"), [("gelu", 64), ("relu", 64), ("geglu", 128)])
def test_block_mlp_width_follows_the_activation(activation: str, width: int) -> None:
    block = SelfAttentionBlock(16, 2, 4, activation=activation)
    assert block.nets["mlp"][0].out_features == width
    assert block.nets["mlp"][2].in_features == 64
    assert block(torch.randn(2, 4, 16)).shape == (2, 4, 16)


def test_block_is_pre_norm_residual() -> None:
    torch.manual_seed(0)
    block = SelfAttentionBlock(8, 2, 3, attn_dropout=0.0, output_dropout=0.0).eval()
    x = torch.randn(2, 3, 8)
    nets = block.nets
    h = x + nets["attention"](nets["ln1"](x))
    torch.testing.assert_close(block(x), h + nets["mlp"](nets["ln2"](h)), atol=0, rtol=0)


def test_sinusoidal_encoding_interleaves_sine_and_cosine() -> None:
    encoding = PositionalEncoding(6)(torch.tensor([[0.0, 1.0, 7.0]]))
    assert encoding.shape == (1, 3, 6)
    for t, position in enumerate((0.0, 1.0, 7.0)):
        for i in range(3):
            angle = position / 10000 ** (2 * i / 6)
            assert encoding[0, t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert encoding[0, t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert PositionalEncoding(6)(torch.zeros(1, 2, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(ConfigError, match="even embed_dim"):
        PositionalEncoding(5)


def test_gpt_backbone_initialises_as_robomimic() -> None:
    torch.manual_seed(0)
    gpt = GPT_Backbone(embed_dim=64, context_length=4, num_layers=2, num_heads=4)
    weights = torch.cat([m.weight.flatten() for m in gpt.modules() if isinstance(m, nn.Linear)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(
        torch.all(m.bias == 0)
        for m in gpt.modules()
        if isinstance(m, nn.Linear) and m.bias is not None
    )
    norms = [m for m in gpt.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == 5 and all(
        torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms
    )
    mask = gpt.nets["transformer"][0].nets["attention"].mask
    assert torch.equal(mask, torch.tril(torch.ones(4, 4)).view(1, 1, 4, 4))


def test_gpt_backbone_output_shape_and_length_limits() -> None:
    gpt = GPT_Backbone(embed_dim=8, context_length=4, num_layers=1, num_heads=2).eval()
    assert gpt.output_shape([3, 8]) == [3, 8]
    assert gpt(torch.randn(2, 3, 8)).shape == (2, 3, 8)
    with pytest.raises(ShapeError, match=r"T <= 4 \(context_length\); got \(2, 5, 8\)"):
        gpt(torch.randn(2, 5, 8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"num_heads": 3},
            r"heads \(3\) must divide the embedding dimension \(8\).*\[1, 2, 4, 8\]",
        ),
        ({"activation": "gleu"}, r"unknown transformer_activation 'gleu'.*'geglu'"),
        (
            {"attn_dropout": 1.0},
            r"'attn_dropout' is a dropout probability and must lie in \[0, 1\)",
        ),
        ({"num_layers": 0}, r"'num_layers' must be an int in \[1, 4096\]; got 0"),
    ],
)
def test_gpt_backbone_rejects_bad_settings(kwargs: dict, message: str) -> None:
    settings = {"embed_dim": 8, "context_length": 4, "num_layers": 1, "num_heads": 2} | kwargs
    with pytest.raises(ConfigError, match=message):
        GPT_Backbone(**settings)
