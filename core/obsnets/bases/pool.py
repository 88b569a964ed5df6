"""``PoolBase``: base of pooling modules that reduce a feature map (kind ``pool``)."""

from __future__ import annotations

from typing import ClassVar

from obsnets.bases.module import Module

__all__ = ["PoolBase"]


class PoolBase(Module, abstract=True):
    """Reduces a backbone's feature map ``(B, C, H, W)`` to a smaller representation.

    ``VisualCore`` and ``ScanCore`` resolve their ``pool_class`` within this kind and pass the
    backbone's output shape as the pool's ``input_shape`` keyword argument.

    robomimic made SpatialSoftmax a ``ConvBase``; obsnets gives pools their own kind so a config
    slot that expects a pool cannot receive a backbone.
    """

    component_kind: ClassVar[str | None] = "pool"
