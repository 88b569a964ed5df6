"""``SelfAttentionBlock``: one pre-norm transformer block (causal attention, then an MLP)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from obsnets.bases.module import Module
from obsnets.errors import ShapeError
from obsnets.validation import check_int, check_probability
from obsnets_transformer.activations import build_activation, mlp_width_multiplier
from obsnets_transformer.causal_self_attention import CausalSelfAttention

__all__ = ["SelfAttentionBlock"]


class SelfAttentionBlock(Module):
    """``x + attention(ln1(x))``, then ``x + mlp(ln2(x))``, with robomimic's state_dict keys.

    ``nets.attention`` is a :class:`CausalSelfAttention`; ``nets.mlp`` is
    ``Linear(D, 4D * m) -> activation -> Linear(4D, D) -> Dropout`` with ``m = 2`` for the
    gated ``geglu`` (its first linear produces value and gate) and 1 otherwise; ``nets.ln1``
    and ``nets.ln2`` are LayerNorms.

    Args:
        embed_dim: Embedding size ``D``.
        num_heads: Attention heads (divides ``D``).
        context_length: Longest sequence.
        attn_dropout: Dropout probability on the attention weights.
        output_dropout: Dropout probability on the attention and MLP outputs.
        activation: ``"relu"``, ``"gelu"`` or ``"geglu"``, or an activation module.

    Shapes: ``(B, T, D) -> (B, T, D)``, ``T <= context_length``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        context_length: int,
        attn_dropout: float = 0.1,
        output_dropout: float = 0.1,
        activation: str | nn.Module = "gelu",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.embed_dim = check_int(owner, "embed_dim", embed_dim, low=1)
        act = (
            activation if isinstance(activation, nn.Module) else build_activation(owner, activation)
        )
        self.nets = nn.ModuleDict()
        self.nets["attention"] = CausalSelfAttention(
            embed_dim=embed_dim,
            num_heads=num_heads,
            context_length=context_length,
            attn_dropout=attn_dropout,
            output_dropout=output_dropout,
        )
        self.nets["mlp"] = nn.Sequential(
            nn.Linear(embed_dim, 4 * embed_dim * mlp_width_multiplier(act)),
            act,
            nn.Linear(4 * embed_dim, embed_dim),
            nn.Dropout(check_probability(owner, "output_dropout", output_dropout)),
        )
        self.nets["ln1"] = nn.LayerNorm(embed_dim)
        self.nets["ln2"] = nn.LayerNorm(embed_dim)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[T, D]``: the input's shape ``(T, D)``."""
        if input_shape is None or len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}.output_shape needs the input shape (T, D); got "
                f"{input_shape!r}."
            )
        return list(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block on ``x`` ``(B, T, D)``."""
        nets = self.nets
        x = x + nets["attention"](nets["ln1"](x))
        return x + nets["mlp"](nets["ln2"](x))
