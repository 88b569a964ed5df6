"""``GPT_Backbone``: a stack of causal transformer blocks and a final LayerNorm."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from obsnets.bases.module import Module
from obsnets.errors import ShapeError
from obsnets.validation import check_int
from obsnets_transformer.activations import build_activation
from obsnets_transformer.self_attention_block import SelfAttentionBlock

__all__ = ["GPT_Backbone"]


def _init_weights(module: nn.Module) -> None:
    # robomimic's (and minGPT's) initialisation
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class GPT_Backbone(Module):
    """The GPT transformer of robomimic: ``nets.transformer`` (blocks) then ``nets.output_ln``.

    Linear weights start as N(0, 0.02) with zero biases, LayerNorms as (1, 0), as in robomimic.

    Args:
        embed_dim: Embedding size ``D``.
        context_length: Longest sequence ``L``.
        attn_dropout: Dropout probability on attention weights, per block.
        block_output_dropout: Dropout probability on each block's outputs.
        num_layers: Number of :class:`SelfAttentionBlock` s.
        num_heads: Attention heads per block (divides ``D``).
        activation: ``"relu"``, ``"gelu"`` or ``"geglu"``.

    Shapes: ``(B, T, D) -> (B, T, D)`` for any ``T <= L``.

    Differs from robomimic: sequences shorter than ``context_length`` are accepted (robomimic
    required ``T == L``); :meth:`output_shape` works (robomimic's read a missing attribute);
    an unknown activation is a :class:`~obsnets.errors.ConfigError` naming the choices.
    """

    def __init__(
        self,
        embed_dim: int,
        context_length: int,
        attn_dropout: float = 0.1,
        block_output_dropout: float = 0.1,
        num_layers: int = 6,
        num_heads: int = 8,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.embed_dim = check_int(owner, "embed_dim", embed_dim, low=1)
        self.context_length = check_int(owner, "context_length", context_length, low=1)
        self.num_layers = check_int(owner, "num_layers", num_layers, low=1)
        build_activation(owner, activation)  # fail here, not in the first block
        self.nets = nn.ModuleDict()
        self.nets["transformer"] = nn.Sequential(
            *[
                SelfAttentionBlock(
                    embed_dim=embed_dim,
                    num_heads=num_heads,
                    context_length=context_length,
                    attn_dropout=attn_dropout,
                    output_dropout=block_output_dropout,
                    activation=activation,
                )
                for _ in range(self.num_layers)
            ]
        )
        self.nets["output_ln"] = nn.LayerNorm(embed_dim)
        self.apply(_init_weights)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[T, D]`` for inputs of shape ``(T, D)``."""
        if input_shape is None or len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}.output_shape needs the input shape (T, D); got "
                f"{input_shape!r}."
            )
        return [int(input_shape[0]), self.embed_dim]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run every block, then the final LayerNorm, on ``inputs`` ``(B, T, D)``."""
        if (
            inputs.dim() != 3
            or inputs.shape[-1] != self.embed_dim
            or not 1 <= inputs.shape[1] <= self.context_length
        ):
            raise ShapeError(
                f"{type(self).__name__} expects (B, T, {self.embed_dim}) with 1 <= T <= "
                f"{self.context_length} (context_length); got {tuple(inputs.shape)}."
            )
        out: torch.Tensor = self.nets["output_ln"](self.nets["transformer"](inputs))
        return out
