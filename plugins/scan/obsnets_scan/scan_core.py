"""``ScanCore``: encoder core for range-finder scans ``(C, L)`` (kind ``encoder_core``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from obsnets.bases import EncoderCore, Module
from obsnets.bases.module_aliases import AliasedModule, StateDictAlias, replacement_module
from obsnets.blocks import Unsqueeze
from obsnets.building import build_component
from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets_scan.conv1d_base import Conv1dBase

__all__ = ["ScanCore"]


class ScanCore(AliasedModule, EncoderCore):
    """Encodes a scan with a :class:`Conv1dBase`, an optional pool, flatten and projection.

    The pipeline is ``Conv1dBase -> [Unsqueeze(-1) -> pool] -> [Flatten] -> [Linear]``: the
    pool sees the ``(C', L')`` feature map as an image ``(C', L', 1)``, so 2-D pools such as
    ``SpatialSoftmax`` (from obsnets-visual) work on it. ``nets`` (that ``Sequential``) is
    what ``forward`` runs; ``backbone`` and ``pool`` are properties reading ``nets[0]`` and
    ``nets[2]`` (assigning one replaces it there). The state_dict has robomimic's keys in
    its order, backbone and pool tensors under both names (``backbone.*`` = ``nets.0.*``,
    ``pool.*`` = ``nets.2.*``), so a robomimic checkpoint loads with
    ``load_state_dict(strict=True)`` unchanged.

    Args:
        input_shape: ``(C, L)``: scan channels and length, e.g. ``(1, 120)``.
        conv_kwargs: Keyword arguments of :class:`Conv1dBase` (``out_channels``,
            ``kernel_size``, ``stride``, further ``nn.Conv1d`` arguments); ``None`` or ``{}``
            gives its defaults, ``(32, 64, 64)`` / ``(8, 4, 2)`` / ``(4, 2, 1)``.
        conv_activation: Activation after each convolution, by name (``"relu"``) or class,
            or ``None``.
        pool_class: Name (or class) of a registered pool applied to the feature map, or
            ``None`` for no pool. It is built with ``input_shape=(C', L', 1)``.
        pool_kwargs: Keyword arguments of the pool (``None`` means ``{}``).
        flatten: Flatten the (pooled) features to ``(B, D)``.
        feature_dimension: If set, a ``Linear`` projects the flat features to this size
            (requires ``flatten``).

    Differs from robomimic: the pool is resolved by name in the registry (robomimic used
    ``eval``); the convolution and pool arguments are checked strictly (robomimic passed
    them on unchecked); ``pool_kwargs=None`` works (robomimic raised TypeError); the
    caller's dicts are never modified; ``output_shape`` returns Python ints; inputs may have
    several leading batch dimensions; the backbone and pool are registered once (robomimic
    registered them twice, so replacing one name left the other, and maybe ``forward``,
    running the old module).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        conv_kwargs: Mapping[str, Any] | None = None,
        conv_activation: str | type[nn.Module] | None = "relu",
        pool_class: str | type | None = None,
        pool_kwargs: Mapping[str, Any] | None = None,
        flatten: bool = True,
        feature_dimension: int | None = None,
    ) -> None:
        super().__init__(input_shape)
        if len(self.input_shape) != 2:
            raise ShapeError(
                f"ScanCore expects input_shape (C, L) without batch dimension, got "
                f"{format_shape(self.input_shape)}."
            )
        if feature_dimension is not None and not flatten:
            raise ConfigError(
                "ScanCore: feature_dimension needs flatten=True (the projection is a Linear "
                "layer over the flattened features)."
            )
        self.flatten = bool(flatten)
        self.feature_dimension = None if feature_dimension is None else int(feature_dimension)

        backbone_kwargs = _with_fixed(
            conv_kwargs,
            {"input_channel": self.input_shape[0], "activation": conv_activation},
            "conv_kwargs",
        )
        backbone = cast(Conv1dBase, build_component(Conv1dBase, backbone_kwargs, kind="backbone"))
        feature_shape = backbone.output_shape(self.input_shape)
        net_list: list[nn.Module] = [backbone]
        self._has_pool = pool_class is not None
        if pool_class is not None:
            unsqueeze = Unsqueeze(-1)
            feature_shape = unsqueeze.output_shape(feature_shape)  # (C', L', 1)
            pool_arguments = _with_fixed(pool_kwargs, {"input_shape": feature_shape}, "pool_kwargs")
            pool = cast(Module, build_component(pool_class, pool_arguments, kind="pool"))
            feature_shape = [int(d) for d in pool.output_shape(feature_shape)]
            net_list += [unsqueeze, pool]

        if self.flatten:
            net_list.append(nn.Flatten(start_dim=1, end_dim=-1))
        if self.feature_dimension is not None:
            net_list.append(nn.Linear(math.prod(feature_shape), self.feature_dimension))
        self.nets = nn.Sequential(*net_list)

    @property
    def backbone(self) -> Conv1dBase:
        """The convolution stack, ``nets[0]``; assigning a module replaces it there."""
        return cast(Conv1dBase, self.nets[0])

    @backbone.setter
    def backbone(self, module: nn.Module) -> None:
        self.nets[0] = replacement_module("ScanCore", "backbone", module)

    @property
    def pool(self) -> Module | None:
        """The pool, ``nets[2]`` (``None`` when built without one); assigning replaces it."""
        return cast(Module, self.nets[2]) if self._has_pool else None

    @pool.setter
    def pool(self, module: nn.Module) -> None:
        if not self._has_pool:
            raise ConfigError(
                "ScanCore was built without a pool (pool_class=None), so there is no pool to "
                "replace; build it with a pool_class instead."
            )
        self.nets[2] = replacement_module("ScanCore", "pool", module)

    def state_dict_aliases(self) -> list[StateDictAlias]:
        """robomimic's second names: ``backbone`` for ``nets.0``, ``pool`` for ``nets.2``."""
        aliases = [StateDictAlias("backbone", "nets.0", before="nets")]
        if self._has_pool:
            aliases.append(StateDictAlias("pool", "nets.2", before="nets"))
        return aliases

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Shape of the encoding, without batch dimension.

        Args:
            input_shape: ``(C, L)``; defaults to the constructor's ``input_shape``.

        Returns:
            ``[feature_dimension]`` if set, else ``[prod(features)]`` if ``flatten``, else the
            pool's (or backbone's) output shape.
        """
        shape = self.input_shape if input_shape is None else [int(d) for d in input_shape]
        features = self.backbone.output_shape(shape)
        if self.pool is not None:
            features = [int(d) for d in self.pool.output_shape([*features, 1])]
        if self.feature_dimension is not None:
            return [self.feature_dimension]
        if self.flatten:
            return [math.prod(features)]
        return features

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encode a batch of scans.

        Args:
            inputs: ``(B, C, L)``, or ``(B, T, C, L)`` (any leading dimensions are folded into
                the batch and restored).

        Returns:
            ``(B, *output_shape())`` (or ``(B, T, *output_shape())``).
        """
        expected = tuple(self.input_shape)
        if inputs.dim() < 3 or tuple(inputs.shape[-2:]) != expected:
            raise ShapeError(
                f"ScanCore expects input of shape (B, {expected[0]}, {expected[1]}), got "
                f"{format_shape(inputs.shape)}."
            )
        leading = inputs.shape[:-2]
        outputs = self.nets(inputs.reshape(-1, *expected))  # (prod(leading), ...)
        return outputs.reshape(*leading, *outputs.shape[1:])


def _with_fixed(
    user_kwargs: Mapping[str, Any] | None, fixed: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """``user_kwargs`` plus arguments ScanCore sets itself; a conflicting user value raises."""
    merged = dict(user_kwargs or {})
    for name, value in fixed.items():
        given = merged.get(name, value)
        if isinstance(value, list):
            same = isinstance(given, (list, tuple)) and list(given) == value
        else:
            same = given == value
        if not same:
            raise ConfigError(
                f"ScanCore sets {what}[{name!r}] itself (to {value!r}, from input_shape or "
                f"its own arguments); got {given!r}. Remove it from {what}."
            )
        merged[name] = value
    return merged
