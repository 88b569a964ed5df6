"""``FrozenBatchNorm``: BatchNorm with fixed statistics and affine parameters (DETR/ACT style)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from obsnets.errors import ConfigError

__all__ = ["FrozenBatchNorm", "FrozenBatchNormAct"]


class FrozenBatchNorm(nn.Module):
    """BatchNorm whose statistics and affine parameters never change.

    ``torchvision.ops.FrozenBatchNorm2d``'s semantics, for inputs of any rank ``(B, C, *)``:
    ``weight``, ``bias``, ``running_mean`` and ``running_var`` are buffers (no gradient, not
    seen by optimizers, never updated, in train mode as in eval mode), and the output is
    ``(x - running_mean) / sqrt(running_var + eps) * weight + bias`` per channel, what a
    ``BatchNorm`` in eval mode computes with the same values. The state_dict keys are
    BatchNorm's (``num_batches_tracked`` is accepted and ignored when loading), so a
    BatchNorm checkpoint (pretrained backbone weights, for instance) loads into it.

    Args:
        num_features: Number of channels ``C``.
        eps: Added to the variance for numerical stability.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.register_buffer("weight", torch.ones(self.num_features))
        self.register_buffer("bias", torch.zeros(self.num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))

    @classmethod
    def from_batchnorm(
        cls, layer: nn.modules.batchnorm._BatchNorm, **kwargs: Any
    ) -> FrozenBatchNorm:
        """A frozen copy of ``layer``'s current statistics and affine parameters.

        Args:
            layer: A BatchNorm with running statistics. Without affine parameters
                (``affine=False``) the frozen weight is 1 and the bias 0.
            **kwargs: Further constructor arguments of ``cls`` (``drop``, ``act``).

        Raises:
            ConfigError: ``layer`` keeps no running statistics (``track_running_stats=False``),
                so there is nothing to freeze.
        """
        mean, var = layer.running_mean, layer.running_var
        if mean is None or var is None:
            raise ConfigError(
                f"Cannot freeze {type(layer).__name__}({layer.num_features}): it keeps no "
                f"running statistics (track_running_stats=False). Use GroupNorm instead."
            )
        frozen = cls(layer.num_features, eps=layer.eps, **kwargs)
        with torch.no_grad():
            frozen.running_mean = mean.detach().clone()
            frozen.running_var = var.detach().clone()
            if layer.affine:
                frozen.weight = layer.weight.detach().clone().to(mean.dtype)
                frozen.bias = layer.bias.detach().clone().to(mean.dtype)
            else:
                frozen.weight = torch.ones_like(mean)
                frozen.bias = torch.zeros_like(mean)
        return frozen

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # BatchNorm checkpoints carry a step counter that a frozen layer has no use for.
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Normalise with the frozen values.

        Args:
            inputs: ``(B, C, *)``, e.g. ``(B, C, H, W)``.

        Returns:
            Same shape as ``inputs``.
        """
        # Per-channel scale and shift, shaped (1, C, 1, ...) to broadcast over (B, C, *).
        view = (1, -1) + (1,) * (inputs.ndim - 2)
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return inputs * scale.reshape(view) + shift.reshape(view)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


class FrozenBatchNormAct(FrozenBatchNorm):
    """:class:`FrozenBatchNorm` followed by a dropout and an activation module.

    The frozen counterpart of timm's ``BatchNormAct2d`` (BatchNorm fused with the
    activation that follows it): ``act(drop(frozen_batchnorm(x)))``, with the same
    state_dict keys (``weight``, ``bias``, running statistics, then ``drop.*``/``act.*``).

    Args:
        num_features: Number of channels ``C``.
        eps: Added to the variance for numerical stability.
        drop: The module applied after normalising (``nn.Identity()`` for none).
        act: The activation applied last (``nn.Identity()`` for none).
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, *, drop: nn.Module, act: nn.Module
    ) -> None:
        super().__init__(num_features, eps)
        self.drop = drop
        self.act = act

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, *) -> (B, C, *)``: normalise, then ``drop``, then ``act``."""
        return self.act(self.drop(super().forward(inputs)))
