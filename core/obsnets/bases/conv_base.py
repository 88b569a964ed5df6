"""``ConvBase``: base of convolutional backbones (kind ``backbone``)."""

from __future__ import annotations

from typing import ClassVar, TypeVar

import torch
from torch.nn.modules.batchnorm import _NormBase

from obsnets.bases.input_normalization import InputNormalization
from obsnets.bases.module import Module

__all__ = ["ConvBase"]

_ConvT = TypeVar("_ConvT", bound="ConvBase")


class ConvBase(Module, abstract=True):
    """A convolutional feature extractor: image-like ``(B, C, H, W)`` in, feature map out.

    Subclasses build ``self.nets`` (any module mapping the input to the feature map) and
    implement :meth:`output_shape`, e.g. ``[512, ceil(H / 32), ceil(W / 32)]`` for ResNet-18.

    Backbones with pretrained weights override :attr:`input_normalization`. Backbones that
    take a ``freeze`` constructor argument call :meth:`_freeze_weights` at the end of
    ``__init__`` when it is true, so saving the model records it and loading restores a
    frozen backbone.

    Differs from robomimic: ``forward`` does not recompute ``output_shape`` on every call to
    compare it with the result; the conformance suite (:mod:`obsnets.testing`) checks that
    contract once, for every registered backbone.
    """

    component_kind: ClassVar[str | None] = "backbone"
    nets: torch.nn.Module

    freeze: bool = False
    """Whether the backbone is frozen (see :meth:`_freeze_weights`)."""

    @property
    def input_normalization(self) -> InputNormalization | None:
        """The normalisation the backbone's pretrained weights expect; ``None`` without any.

        Like timm's ``pretrained_cfg`` (``mean``, ``std``, ``input_size``, ...): what the
        images fed to this backbone should be normalised with, for the weights it was built
        with. ``None`` for a backbone built without pretrained weights.
        """
        return None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the backbone.

        Args:
            inputs: ``(B, C, H, W)`` images (or ``(B, C, L)`` for 1-D backbones).

        Returns:
            The feature map, ``(B, *output_shape(input_shape))``.
        """
        return self.nets(inputs)

    def train(self: _ConvT, mode: bool = True) -> _ConvT:
        """Set training mode; a frozen backbone keeps its normalisation layers in eval mode.

        In training mode, BatchNorm layers (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``, timm's
        ``BatchNormAct2d`` and other subclasses) and InstanceNorm normalise with the batch's
        statistics and update their running averages, so a frozen backbone's features would
        still change and depend on the batch. Kept in eval mode they use the stored
        statistics, which is what ``FrozenBatchNorm`` computes, while the layers and
        state_dict keys stay BatchNorm's (pretrained and saved checkpoints load unchanged).
        Dropout and drop-path layers follow ``mode`` as usual, as under timm's ``freeze``.
        The layers are found in the live module tree on every call.

        Args:
            mode: ``True`` for training mode, ``False`` for eval mode.

        Returns:
            ``self``.
        """
        super().train(mode)
        if self.freeze is True:  # not a subclass's own ``freeze`` method or module
            for module in self.modules():
                if isinstance(module, _NormBase):
                    module.train(False)
        return self

    def _freeze_weights(self) -> None:
        """Freeze the backbone; for a subclass's ``__init__`` to call last when asked to.

        Every parameter gets ``requires_grad=False`` (backward computes no gradient for it,
        optimisers given ``p.requires_grad`` parameters skip it), and :meth:`train` keeps the
        normalisation layers in eval mode from now on.
        """
        self.freeze = True
        self.requires_grad_(False)
        self.train(self.training)
