"""``ConvBase``: base of convolutional backbones (kind ``backbone``)."""

from __future__ import annotations

from typing import ClassVar

import torch

from obsnets.bases.module import Module

__all__ = ["ConvBase"]


class ConvBase(Module, abstract=True):
    """A convolutional feature extractor: image-like ``(B, C, H, W)`` in, feature map out.

    Subclasses build ``self.nets`` (any module mapping the input to the feature map) and
    implement :meth:`output_shape`, e.g. ``[512, ceil(H / 32), ceil(W / 32)]`` for ResNet-18.

    Differs from robomimic: ``forward`` does not recompute ``output_shape`` on every call to
    compare it with the result; the conformance suite (:mod:`obsnets.testing`) checks that
    contract once, for every registered backbone.
    """

    component_kind: ClassVar[str | None] = "backbone"
    nets: torch.nn.Module

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the backbone.

        Args:
            inputs: ``(B, C, H, W)`` images (or ``(B, C, L)`` for 1-D backbones).

        Returns:
            The feature map, ``(B, *output_shape(input_shape))``.
        """
        return self.nets(inputs)
