"""``CausalSelfAttention``: multi-head self-attention in which each step sees only the past."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.functional import scaled_dot_product_attention, softmax

from obsnets.bases.module import Module
from obsnets.errors import ShapeError
from obsnets.validation import check_int, check_probability
from obsnets_transformer._checks import check_heads

__all__ = ["CausalSelfAttention", "masked_softmax_attention"]


def masked_softmax_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, dropout: nn.Module
) -> torch.Tensor:
    """Scaled dot-product attention written out: scores, mask, softmax, dropout, values.

    Args:
        q: Queries ``(B, H, T, Dh)``.
        k: Keys ``(B, H, T, Dh)``.
        v: Values ``(B, H, T, Dh)``.
        mask: ``(1, 1, T, T)``; positions where it is 0 get no attention.
        dropout: Applied to the attention weights ``(B, H, T, T)``.

    Returns:
        ``(B, H, T, Dh)``.
    """
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))  # (B, H, T, T)
    scores = scores.masked_fill(mask == 0, float("-inf"))
    weights: torch.Tensor = dropout(softmax(scores, dim=-1))
    return weights @ v


class CausalSelfAttention(Module):
    """Causal multi-head self-attention with robomimic's layers and state_dict keys.

    ``nets.qkv`` (bias-free ``Linear(D, 3D)``, split into queries, keys and values in that
    order), ``num_heads`` heads of size ``D / num_heads``, causal attention, ``nets.output``
    (``Linear(D, D)``) and ``nets.output_dropout``. The lower-triangular ``mask`` buffer
    ``(1, 1, context_length, context_length)`` is kept in the state_dict so robomimic
    checkpoints load; the causal structure itself is fixed.

    While ``nets.attn_dropout`` is an ``nn.Dropout`` the attention runs through PyTorch's
    fused ``scaled_dot_product_attention(is_causal=True)`` (the same function; its dropout
    draws differ from robomimic's in train mode). Replace ``nets.attn_dropout`` with another
    module and the attention is written out (:func:`masked_softmax_attention`) with that
    module applied to the attention weights.

    Args:
        embed_dim: Embedding size ``D``.
        num_heads: Number of heads (divides ``D``).
        context_length: Longest sequence ``L``.
        attn_dropout: Dropout probability on the attention weights.
        output_dropout: Dropout probability on the output.

    Shapes: ``(B, T, D) -> (B, T, D)`` for any ``T <= context_length``.

    Differs from robomimic: wrong settings or inputs raise obsnets errors naming the fix
    (robomimic asserted).
    """

    mask: torch.Tensor

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        context_length: int,
        attn_dropout: float = 0.1,
        output_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.embed_dim = check_int(owner, "embed_dim", embed_dim, low=1)
        self.num_heads = check_int(owner, "num_heads", num_heads, low=1)
        self.context_length = check_int(owner, "context_length", context_length, low=1)
        check_heads(owner, self.embed_dim, self.num_heads)
        self.nets = nn.ModuleDict()
        self.nets["qkv"] = nn.Linear(self.embed_dim, 3 * self.embed_dim, bias=False)
        self.nets["attn_dropout"] = nn.Dropout(
            check_probability(owner, "attn_dropout", attn_dropout)
        )
        self.nets["output_dropout"] = nn.Dropout(
            check_probability(owner, "output_dropout", output_dropout)
        )
        self.nets["output"] = nn.Linear(self.embed_dim, self.embed_dim)
        length = self.context_length
        self.register_buffer(
            "mask", torch.tril(torch.ones(length, length)).view(1, 1, length, length)
        )

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[T, D]``: the input's shape ``(T, D)``."""
        if input_shape is None or len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}.output_shape needs the input shape (T, D); got "
                f"{input_shape!r}."
            )
        return list(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over ``x`` ``(B, T, D)``, each step to itself and earlier steps."""
        if x.dim() != 3 or x.shape[-1] != self.embed_dim or x.shape[1] > self.context_length:
            raise ShapeError(
                f"{type(self).__name__} expects (B, T, {self.embed_dim}) with T <= "
                f"{self.context_length} (context_length); got {tuple(x.shape)}."
            )
        batch, steps, dim = x.shape
        heads = self.num_heads
        nets = self.nets
        q, k, v = nets["qkv"](x).chunk(3, dim=-1)  # 3 x (B, T, D)
        # (B, T, D) -> (B, H, T, D / H)
        q, k, v = (t.view(batch, steps, heads, dim // heads).transpose(1, 2) for t in (q, k, v))
        dropout = nets["attn_dropout"]
        if type(dropout) is nn.Dropout:
            p = dropout.p if dropout.training else 0.0
            y = scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = masked_softmax_attention(q, k, v, self.mask[..., :steps, :steps], dropout)
        y = y.transpose(1, 2).reshape(batch, steps, dim)  # (B, H, T, D / H) -> (B, T, D)
        out: torch.Tensor = nets["output_dropout"](nets["output"](y))
        return out
