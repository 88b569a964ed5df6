"""Replacing BatchNorm by GroupNorm in any network (the diffusion-policy recipe)."""

from __future__ import annotations

from torch import nn

from obsnets.errors import ConfigError

__all__ = ["BATCHNORM_TYPES", "replace_batchnorm_with_groupnorm"]

BATCHNORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
)
"""The layers that are replaced. Subclasses of them (e.g. timm's ``BatchNormAct2d``, which
also applies an activation) are refused rather than silently stripped of their extras."""


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


def replace_batchnorm_with_groupnorm(
    module: nn.Module, num_groups: int | None = None, group_size: int = 16
) -> nn.Module:
    """Replace every BatchNorm layer of ``module`` by a fresh ``GroupNorm``, in place.

    Each ``BatchNorm{1,2,3}d`` / ``SyncBatchNorm`` with ``C`` channels becomes
    ``GroupNorm(C // group_size, C)`` (robomimic's and diffusion policy's rule with the
    default 16 channels per group), or ``GroupNorm(num_groups, C)``. The GroupNorm keeps the
    BatchNorm's ``eps`` and ``affine`` and starts from its default initialisation (weight 1,
    bias 0), as robomimic's swap did; BatchNorm statistics are discarded, and the state_dict
    keys become ``weight`` / ``bias`` only. Every layer is checked before any is replaced,
    so an error leaves ``module`` unchanged.

    Args:
        module: The network (a backbone, an encoder, a whole policy).
        num_groups: Number of groups for every layer; ``None`` derives it per layer from
            ``group_size``.
        group_size: Channels per group when ``num_groups`` is ``None``.

    Returns:
        ``module`` (or the new GroupNorm if ``module`` itself was a BatchNorm layer).

    Raises:
        ConfigError: a layer's channel count is not divisible (the message names the layer),
            or a BatchNorm subclass with extra behaviour was found.
    """
    plan: list[tuple[str, nn.modules.batchnorm._BatchNorm, int]] = []
    # Every path, aliases included, so a layer registered twice is replaced everywhere.
    for path, layer in module.named_modules(remove_duplicate=False):
        if not isinstance(layer, nn.modules.batchnorm._BatchNorm):
            continue
        if type(layer) not in BATCHNORM_TYPES:
            raise ConfigError(
                f"Cannot replace {path or '(root)'!r} ({type(layer).__name__}) by GroupNorm: it "
                f"subclasses BatchNorm and may do more (e.g. an activation). Replace it yourself."
            )
        channels = layer.num_features
        plan.append((path, layer, _groups_for(path, channels, num_groups, group_size)))
    replacements: dict[int, nn.GroupNorm] = {}
    result = module
    for path, layer, groups in plan:
        norm = replacements.get(id(layer))
        if norm is None:
            norm = nn.GroupNorm(groups, layer.num_features, eps=layer.eps, affine=layer.affine)
            if layer.affine:  # match the BatchNorm's device and dtype
                norm = norm.to(device=layer.weight.device, dtype=layer.weight.dtype)
            replacements[id(layer)] = norm
        if not path:
            result = norm
            continue
        parent_path, _, leaf = path.rpartition(".")
        setattr(module.get_submodule(parent_path), leaf, norm)
    return result
