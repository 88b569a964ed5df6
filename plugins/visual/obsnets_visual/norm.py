"""Replacing BatchNorm in any network: by GroupNorm (diffusion policy) or frozen (DETR/ACT)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from obsnets.errors import ConfigError
from obsnets.registry import qualified_name_of
from obsnets_visual.frozen_batch_norm import FrozenBatchNorm, FrozenBatchNormAct

__all__ = [
    "BATCHNORM_TYPES",
    "FUSED_ACTIVATION_BATCHNORMS",
    "GroupNormAct",
    "replace_batchnorm_with_frozen",
    "replace_batchnorm_with_groupnorm",
]

BATCHNORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
)
"""The plain BatchNorm layers that are replaced."""

FUSED_ACTIVATION_BATCHNORMS = frozenset(
    {"timm.layers.norm_act:BatchNormAct2d", "timm.layers.norm_act:SyncBatchNormAct"}
)
"""BatchNorm subclasses (by ``module:QualName``, so timm is never imported) that apply their
``drop`` then ``act`` submodules after normalising; the replacement keeps both. Any other
BatchNorm subclass is refused rather than silently stripped of what it adds."""

_BatchNorm = nn.modules.batchnorm._BatchNorm
_Plan = TypeVar("_Plan")


class GroupNormAct(nn.GroupNorm):
    """``GroupNorm`` followed by a dropout and an activation module.

    What a fused BatchNorm + activation (timm's ``BatchNormAct2d``) becomes under
    :func:`replace_batchnorm_with_groupnorm`: ``act(drop(group_norm(x)))``, with keys
    ``weight``, ``bias``, ``drop.*``, ``act.*`` (timm's ``GroupNormAct`` layout).

    Args:
        num_groups: Number of groups the channels are divided into.
        num_channels: Number of channels ``C``.
        eps: Added to the variance for numerical stability.
        affine: Learn a per-channel weight and bias.
        drop: The module applied after normalising (``nn.Identity()`` for none).
        act: The activation applied last (``nn.Identity()`` for none).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        drop: nn.Module,
        act: nn.Module,
    ) -> None:
        super().__init__(num_groups, num_channels, eps=eps, affine=affine)
        self.drop = drop
        self.act = act

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, *) -> (B, C, *)``: group-normalise, then ``drop``, then ``act``."""
        return self.act(self.drop(super().forward(inputs)))


def _fuses_activation(layer: nn.Module) -> bool:
    return qualified_name_of(type(layer)) in FUSED_ACTIVATION_BATCHNORMS


def _tail(layer: nn.Module) -> dict[str, nn.Module]:
    """The ``drop`` and ``act`` modules of a fused layer, reused by its replacement."""
    if not _fuses_activation(layer):
        return {}
    return {"drop": layer.get_submodule("drop"), "act": layer.get_submodule("act")}


def _replace_batchnorms(
    module: nn.Module,
    target: str,
    check: Callable[[str, Any], _Plan],
    make: Callable[[Any, _Plan], nn.Module],
) -> nn.Module:
    """Replace every BatchNorm of ``module`` by ``make(layer, check(path, layer))``.

    Every layer is checked before any is replaced, so an error leaves ``module`` unchanged;
    a layer registered under several paths is replaced by one module everywhere.
    """
    plan: list[tuple[str, Any, _Plan]] = []
    for path, layer in module.named_modules(remove_duplicate=False):
        if not isinstance(layer, _BatchNorm):
            continue
        if type(layer) not in BATCHNORM_TYPES and not _fuses_activation(layer):
            raise ConfigError(
                f"Cannot replace {path or '(root)'!r} ({type(layer).__name__}) by {target}: it "
                f"subclasses BatchNorm and may do more; obsnets converts plain BatchNorm "
                f"layers and timm's BatchNormAct2d / SyncBatchNormAct only. Replace it yourself."
            )
        plan.append((path, layer, check(path, layer)))
    replacements: dict[int, nn.Module] = {}
    result = module
    for path, layer, detail in plan:
        new = replacements.get(id(layer))
        if new is None:
            new = replacements[id(layer)] = make(layer, detail)
        if not path:
            result = new
            continue
        parent_path, _, leaf = path.rpartition(".")
        setattr(module.get_submodule(parent_path), leaf, new)
    return result


def _groups_for(path: str, channels: int, num_groups: int | None, group_size: int) -> int:
    where = f"BatchNorm layer {path or '(root)'!r} with {channels} channels"
    if num_groups is not None:
        if num_groups < 1 or channels % num_groups != 0:
            raise ConfigError(
                f"Cannot replace {where} by GroupNorm: num_groups={num_groups} does not divide "
                f"{channels}. Choose a divisor of every BatchNorm's channel count, or pass "
                f"num_groups=None to use channels // group_size."
            )
        return num_groups
    if group_size < 1 or channels % group_size != 0:
        raise ConfigError(
            f"Cannot replace {where} by GroupNorm: group_size={group_size} does not divide "
            f"{channels}. Pass a group_size (channels per group) or num_groups that divides it."
        )
    return channels // group_size


def _group_norm(layer: Any, groups: int) -> nn.Module:
    tail = _tail(layer)
    norm_class = GroupNormAct if tail else nn.GroupNorm
    norm = norm_class(groups, layer.num_features, eps=layer.eps, affine=layer.affine, **tail)
    if layer.affine:  # match the BatchNorm's device, dtype and trainability (frozen backbones)
        norm = norm.to(device=layer.weight.device, dtype=layer.weight.dtype)
        norm.requires_grad_(layer.weight.requires_grad)
    return norm


def replace_batchnorm_with_groupnorm(
    module: nn.Module, num_groups: int | None = None, group_size: int = 16
) -> nn.Module:
    """Replace every BatchNorm layer of ``module`` by a fresh ``GroupNorm``, in place.

    Each ``BatchNorm{1,2,3}d`` / ``SyncBatchNorm`` with ``C`` channels becomes
    ``GroupNorm(C // group_size, C)`` (robomimic's and diffusion policy's rule with the
    default 16 channels per group), or ``GroupNorm(num_groups, C)``. The GroupNorm keeps the
    BatchNorm's ``eps`` and ``affine`` and starts from its default initialisation (weight 1,
    bias 0), as robomimic's swap did; BatchNorm statistics are discarded, and the state_dict
    keys become ``weight`` / ``bias`` only. Its parameters require gradients if the
    BatchNorm's did (a frozen backbone stays frozen). timm's ``BatchNormAct2d`` /
    ``SyncBatchNormAct`` (BatchNorm fused with an activation) become a
    :class:`GroupNormAct` that keeps the layer's own ``drop`` and ``act`` modules. Every
    layer is checked before any is replaced, so an error leaves ``module`` unchanged.

    Args:
        module: The network (a backbone, an encoder, a whole policy).
        num_groups: Number of groups for every layer; ``None`` derives it per layer from
            ``group_size``.
        group_size: Channels per group when ``num_groups`` is ``None``.

    Returns:
        ``module`` (or the new GroupNorm if ``module`` itself was a BatchNorm layer).

    Raises:
        ConfigError: a layer's channel count is not divisible (the message names the layer),
            or a BatchNorm subclass with unknown extra behaviour was found.
    """

    def check(path: str, layer: Any) -> int:
        return _groups_for(path, layer.num_features, num_groups, group_size)

    return _replace_batchnorms(module, "GroupNorm", check, _group_norm)


def _check_freezable(path: str, layer: Any) -> None:
    if layer.running_mean is None or layer.running_var is None:
        raise ConfigError(
            f"Cannot freeze BatchNorm layer {path or '(root)'!r}: it keeps no running "
            f"statistics (track_running_stats=False), so there is nothing to freeze. Use "
            f"backbone_norm='group' (GroupNorm) for this network instead."
        )


def _frozen(layer: Any, _: None) -> nn.Module:
    tail = _tail(layer)
    if tail:
        return FrozenBatchNormAct.from_batchnorm(layer, **tail)
    return FrozenBatchNorm.from_batchnorm(layer)


def replace_batchnorm_with_frozen(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer of ``module`` by a :class:`FrozenBatchNorm`, in place.

    The frozen layer keeps the BatchNorm's current running statistics, affine parameters
    (as buffers) and ``eps``, and never changes them: in train mode it computes what the
    BatchNorm computes in eval mode (DETR's and ACT's backbones,
    ``torchvision.ops.FrozenBatchNorm2d``). The state_dict keys stay BatchNorm's, without
    ``num_batches_tracked``. timm's ``BatchNormAct2d`` / ``SyncBatchNormAct`` become a
    :class:`FrozenBatchNormAct` keeping their ``drop`` and ``act``. Every layer is checked
    before any is replaced, so an error leaves ``module`` unchanged.

    Args:
        module: The network (usually a pretrained backbone).

    Returns:
        ``module`` (or the frozen layer if ``module`` itself was a BatchNorm layer).

    Raises:
        ConfigError: a layer keeps no running statistics, or a BatchNorm subclass with
            unknown extra behaviour was found.
    """
    return _replace_batchnorms(module, "FrozenBatchNorm", _check_freezable, _frozen)
