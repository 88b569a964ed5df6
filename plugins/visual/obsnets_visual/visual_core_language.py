"""``VisualCoreLanguageConditioned``: a VisualCore whose backbone takes a language embedding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.errors import ShapeError
from obsnets_visual.visual_core import VisualCore, _DefaultName

__all__ = ["VisualCoreLanguageConditioned"]

DEFAULT_FILM_BACKBONE = _DefaultName("ResNet18ConvFiLM")


class VisualCoreLanguageConditioned(VisualCore):
    """:class:`VisualCore` for backbones called as ``backbone(images, lang_emb)``.

    The default backbone is :class:`ResNet18ConvFiLM` (FiLM after every residual block);
    pass ``backbone_kwargs={"lang_emb_dim": E}`` for embeddings other than 768-d. The pool,
    flatten and projection run on the backbone's output as in :class:`VisualCore`; the
    modules and state_dict keys are the same.

    Args:
        input_shape: Image shape ``(C, H, W)``.
        backbone_class: Backbone name or class; its ``forward`` takes ``(inputs, lang_emb)``.
        pool_class: See :class:`VisualCore`.
        backbone_kwargs: See :class:`VisualCore`.
        pool_kwargs: See :class:`VisualCore`.
        flatten: See :class:`VisualCore`.
        feature_dimension: See :class:`VisualCore`.
        core_class: See :class:`VisualCore`.
        core_kwargs: See :class:`VisualCore`.
        backbone_norm: See :class:`VisualCore`.
        norm_num_groups: See :class:`VisualCore`.
        channels_last: See :class:`VisualCore`.
        normalize_input: See :class:`VisualCore`.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        backbone_class: str | type = DEFAULT_FILM_BACKBONE,
        pool_class: str | type | None = "SpatialSoftmax",
        backbone_kwargs: Mapping[str, Any] | None = None,
        pool_kwargs: Mapping[str, Any] | None = None,
        flatten: bool = True,
        feature_dimension: int | None = 64,
        core_class: str | type | None = None,
        core_kwargs: Mapping[str, Any] | None = None,
        backbone_norm: str = "batch",
        norm_num_groups: int | None = None,
        channels_last: bool = False,
        normalize_input: bool = False,
    ) -> None:
        super().__init__(
            input_shape,
            backbone_class=backbone_class,
            pool_class=pool_class,
            backbone_kwargs=backbone_kwargs,
            pool_kwargs=pool_kwargs,
            flatten=flatten,
            feature_dimension=feature_dimension,
            core_class=core_class,
            core_kwargs=core_kwargs,
            backbone_norm=backbone_norm,
            norm_num_groups=norm_num_groups,
            channels_last=channels_last,
            normalize_input=normalize_input,
        )

    def forward(self, inputs: torch.Tensor, lang_emb: torch.Tensor | None = None) -> torch.Tensor:
        """Encode images conditioned on a language embedding.

        Args:
            inputs: ``(B, *input_shape)``.
            lang_emb: ``(B, E)``; required.

        Returns:
            ``(B, *output_shape())``.
        """
        inputs = self._prepare_inputs(inputs)
        if lang_emb is None:
            name = type(self).__name__
            raise ShapeError(f"{name}.forward needs lang_emb of shape (B, E); got None.")
        features = self.backbone(inputs, lang_emb)
        return self.nets[1:](features)
