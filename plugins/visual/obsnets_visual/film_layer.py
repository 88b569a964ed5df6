"""``FiLMLayer``: feature-wise linear modulation of a feature map by a language embedding."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from obsnets.bases import ConvBase
from obsnets.errors import ShapeError
from obsnets_visual._checks import as_shape, check_input, describe

__all__ = ["FiLMLayer"]


class FiLMLayer(ConvBase):
    """``ReLU((1 + gamma) * x + beta)`` with ``(beta, gamma)`` projected from an embedding.

    ``lang_proj = Linear(lang_emb_dim, 2 * channels)``; the first ``channels`` outputs are
    ``beta``, the next ``channels`` are ``gamma`` (Perez et al., 2018; robomimic's order).

    Args:
        lang_emb_dim: Size ``E`` of the conditioning embedding.
        channels: Channels ``C`` of the feature map it modulates.
    """

    def __init__(self, lang_emb_dim: int, channels: int) -> None:
        super().__init__()
        self.lang_emb_dim = int(lang_emb_dim)
        self.channels = int(channels)
        self.lang_proj = nn.Linear(self.lang_emb_dim, 2 * self.channels)
        self.relu = nn.ReLU()

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The input shape ``[C, H, W]`` (modulation keeps it)."""
        shape = as_shape("FiLMLayer", input_shape)
        if not shape or shape[0] != self.channels:
            raise ShapeError(
                f"FiLMLayer expects input shape ({self.channels}, H, W), got {describe(shape)}."
            )
        return shape

    def forward(self, x: torch.Tensor, lang_emb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Modulate a feature map.

        Args:
            x: Feature map ``(B, C, H, W)``.
            lang_emb: Embedding ``(B, E)``.

        Returns:
            ``(B, C, H, W)``.
        """
        check_input("FiLMLayer", x, (self.channels, "H", "W"))
        check_input("FiLMLayer (lang_emb)", lang_emb, (self.lang_emb_dim,))
        if lang_emb.shape[0] != x.shape[0]:
            raise ShapeError(
                f"FiLMLayer got batch {x.shape[0]} for x but {lang_emb.shape[0]} for lang_emb."
            )
        params = self.lang_proj(lang_emb).view(x.shape[0], 2 * self.channels, 1, 1)
        beta, gamma = params[:, : self.channels], params[:, self.channels :]  # (B, C, 1, 1)
        return self.relu((1 + gamma) * x + beta)
