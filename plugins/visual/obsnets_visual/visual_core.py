"""``VisualCore``: image encoder = backbone -> optional pool -> flatten -> linear projection."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases import EncoderCore, InputNormalization, Module
from obsnets.bases.module_aliases import AliasedModule, StateDictAlias, replacement_module
from obsnets.building import build_component, constructor_parameters
from obsnets.errors import ConfigError, ShapeError
from obsnets.registry import resolve_component
from obsnets_visual._checks import as_shape, check_input, describe
from obsnets_visual.norm import replace_batchnorm_with_frozen, replace_batchnorm_with_groupnorm

__all__ = ["VisualCore"]


class _DefaultName(str):
    """A default class name that can be told apart from the same string passed explicitly.

    Lets ``VisualCore(core_class=...)`` use the specification page's spelling while a
    ``backbone_class`` passed alongside it is still detected as a conflict.
    """

    __slots__ = ()


DEFAULT_BACKBONE = _DefaultName("ResNet18Conv")

NORMS = ("batch", "group", "frozen")


def _inject(
    owner: str, what: str, kwargs: dict[str, Any], key: str, value: Any, accepted: Mapping[str, Any]
) -> None:
    """Put ``key=value`` into ``kwargs`` if the constructor takes ``key``; refuse a conflict."""
    if key not in accepted:
        return
    if key in kwargs and kwargs[key] != value:
        raise ConfigError(
            f"{owner}: {what} kwargs give {key}={kwargs[key]!r}, but {owner} derives "
            f"{key}={value!r} from its input shape. Remove {key!r} from the {what} kwargs."
        )
    kwargs[key] = value


class VisualCore(AliasedModule, EncoderCore):
    """Encodes images: backbone -> optional pool -> optional flatten -> optional ``Linear``.

    The backbone and the pool are named components (any installed plugin's, or a class
    defined in the user's script), built with :func:`obsnets.build_component`, so their
    keyword arguments are checked strictly. ``input_channel`` (from ``input_shape[0]``) is
    passed to the backbone and ``input_shape`` (the backbone's output shape) to the pool when
    their constructors take them. With the defaults and a ``(3, 84, 84)`` input: ResNet-18
    ``(512, 3, 3)`` -> SpatialSoftmax ``(32, 2)`` -> flatten 64 -> ``Linear(64, 64)``.

    Modules: ``nets = Sequential(backbone, pool, Flatten, Linear)`` (pool, flatten and
    projection as configured) is what ``forward`` runs. ``backbone`` and ``pool`` (``None``
    without a pool) are properties reading ``nets[0]`` and ``nets[1]``; assigning one
    replaces that entry of ``nets``. The state_dict has robomimic's keys and order, each
    backbone and pool tensor under two names (``backbone.*`` = ``nets.0.*``, ``pool.*`` =
    ``nets.1.*``), and ``load_state_dict`` accepts either name or both (equal).

    Args:
        input_shape: Image shape without batch dimension, ``(C, H, W)``.
        backbone_class: Backbone component name (kind ``backbone``) or class.
        pool_class: Pool component name (kind ``pool``) or class; ``None`` for no pool.
        backbone_kwargs: Keyword arguments of the backbone (not modified).
        pool_kwargs: Keyword arguments of the pool (not modified).
        flatten: Flatten the (pooled) features to ``(B, D)``.
        feature_dimension: Size of the final linear projection; ``None`` for none (then the
            output is the flattened or unflattened pooled features). Requires ``flatten``.
        core_class: The specification page's name for ``backbone_class``; give one or the
            other.
        core_kwargs: The specification page's name for ``backbone_kwargs``.
        backbone_norm: ``"batch"`` keeps the backbone's BatchNorm layers; ``"group"``
            replaces every one by ``GroupNorm(C // 16, C)`` (diffusion policy's choice; see
            :func:`~obsnets_visual.norm.replace_batchnorm_with_groupnorm`), which changes
            the state_dict keys (no running statistics); ``"frozen"`` replaces every one by
            a :class:`~obsnets_visual.frozen_batch_norm.FrozenBatchNorm` holding its current
            statistics and affine values, never updated (DETR's and ACT's backbones; see
            :func:`~obsnets_visual.norm.replace_batchnorm_with_frozen`).
        norm_num_groups: With ``backbone_norm="group"``, a fixed number of groups instead of
            ``C // 16``; it must divide every BatchNorm's channel count.
        channels_last: Store convolution weights in channels-last memory format and convert
            inputs to it in ``forward`` (same numbers; faster on some hardware: see
            ``benchmarks/encoders.py``).
        normalize_input: Normalise the images inside the network as the backbone's
            pretrained weights expect, ``(x - mean[c]) / std[c]`` per channel, with the
            backbone's :attr:`~obsnets.ConvBase.input_normalization` (e.g. ImageNet's for
            ``ResNet18Conv(pretrained=True)``, timm's ``pretrained_cfg`` for ``TimmConv``).
            Images should then be in ``[0, 1]``. Off by default (robomimic's behaviour:
            images go to the backbone as given). The mean and std are read from the
            backbone in the tree at each call (a replaced backbone's own apply) and made on
            the input's device and dtype; they are not buffers and are not saved.

    To freeze the backbone, pass ``backbone_kwargs={"freeze": True}`` to a backbone that
    takes it (``ResNet18Conv``, ``ResNet50Conv``, ``TorchvisionConv``, ``TimmConv``).

    Differs from robomimic: components are resolved through the registry (robomimic
    ``eval``'d ``backbone_class`` / ``pool_class``, so backbones outside its own module
    failed); kwargs are checked, not silently filtered; the caller's dicts are never
    modified and a user ``input_channel`` that contradicts ``input_shape`` is an error (not
    overwritten); ``core_class`` / ``core_kwargs`` are honoured (robomimic ignored them);
    ``output_shape`` returns Python ints; a wrong input shape is a ``ShapeError``. The
    backbone and pool are registered once (robomimic registered them twice, so replacing
    ``nets[0]`` left ``backbone`` stale and vice versa); their second names exist in the
    state_dict only.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        backbone_class: str | type = DEFAULT_BACKBONE,
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
        super().__init__(as_shape(type(self).__name__, input_shape))
        owner = type(self).__name__
        if not self.input_shape:
            raise ConfigError(f"{owner}: input_shape must not be empty.")
        backbone_class, backbone_kwargs = self._backbone_spelling(
            backbone_class, backbone_kwargs, core_class, core_kwargs
        )
        if feature_dimension is not None and not flatten:
            raise ConfigError(
                f"{owner}: feature_dimension={feature_dimension} needs flatten=True (the "
                f"projection is a Linear layer over flattened features)."
            )
        if backbone_norm not in NORMS:
            raise ConfigError(
                f"{owner}: backbone_norm must be one of {NORMS}, got {backbone_norm!r}."
            )
        if norm_num_groups is not None and backbone_norm != "group":
            raise ConfigError(f"{owner}: norm_num_groups needs backbone_norm='group'.")
        if channels_last and len(self.input_shape) != 3:
            raise ConfigError(f"{owner}: channels_last needs (C, H, W) inputs.")

        backbone = self._build(
            owner, "backbone", backbone_class, backbone_kwargs, "input_channel", self.input_shape[0]
        )
        if normalize_input:
            self._input_normalization(backbone)  # refuse a backbone without one now
        if backbone_norm == "group":
            replace_batchnorm_with_groupnorm(backbone, num_groups=norm_num_groups)
        elif backbone_norm == "frozen":
            replace_batchnorm_with_frozen(backbone)
        feature_shape = [int(d) for d in backbone.output_shape(self.input_shape)]
        layers: list[nn.Module] = [backbone]
        self._has_pool = pool_class is not None
        if pool_class is not None:
            pool = self._build(owner, "pool", pool_class, pool_kwargs, "input_shape", feature_shape)
            feature_shape = [int(d) for d in pool.output_shape(feature_shape)]
            layers.append(pool)
        if flatten:
            layers.append(nn.Flatten(start_dim=1))
            feature_shape = [math.prod(feature_shape)]
        if feature_dimension is not None:
            if int(feature_dimension) < 1:
                raise ConfigError(f"{owner}: feature_dimension must be positive or None.")
            layers.append(nn.Linear(feature_shape[0], int(feature_dimension)))
            feature_shape = [int(feature_dimension)]
        self.nets = nn.Sequential(*layers)

        self.flatten = bool(flatten)
        self.feature_dimension = None if feature_dimension is None else int(feature_dimension)
        self.backbone_norm = backbone_norm
        self.channels_last = bool(channels_last)
        self.normalize_input = bool(normalize_input)
        self._output_shape = feature_shape
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def _input_normalization(self, backbone: nn.Module) -> InputNormalization:
        """The normalisation ``backbone`` reports, checked against ``input_shape``."""
        owner, name = type(self).__name__, type(backbone).__name__
        normalization = getattr(backbone, "input_normalization", None)
        if not isinstance(normalization, InputNormalization):
            raise ConfigError(
                f"{owner}(normalize_input=True): backbone {name} has no input normalisation "
                f"to apply (input_normalization is None: built without pretrained weights, "
                f"or a backbone that defines none). Build it with pretrained weights (e.g. "
                f"backbone_kwargs={{'pretrained': True}}), or normalise the images yourself "
                f"and leave normalize_input=False."
            )
        channels = self.input_shape[0]
        if normalization.channels != channels:
            raise ConfigError(
                f"{owner}(normalize_input=True): {name}'s pretrained normalisation is for "
                f"{normalization.channels} channels (mean={normalization.mean}), but "
                f"input_shape {describe(self.input_shape)} has {channels}. Normalise the "
                f"images yourself and leave normalize_input=False."
            )
        return normalization

    @property
    def backbone(self) -> Module:
        """The backbone, ``nets[0]``; assigning a module replaces it there."""
        return self.nets[0]  # type: ignore[no-any-return]

    @backbone.setter
    def backbone(self, module: nn.Module) -> None:
        self.nets[0] = replacement_module(type(self).__name__, "backbone", module)

    @property
    def pool(self) -> Module | None:
        """The pool, ``nets[1]`` (``None`` when built without one); assigning replaces it."""
        return self.nets[1] if self._has_pool else None  # type: ignore[return-value]

    @pool.setter
    def pool(self, module: nn.Module) -> None:
        if not self._has_pool:
            raise ConfigError(
                f"{type(self).__name__} was built without a pool (pool_class=None), so there "
                f"is no pool to replace; build it with a pool_class instead."
            )
        self.nets[1] = replacement_module(type(self).__name__, "pool", module)

    def state_dict_aliases(self) -> list[StateDictAlias]:
        """robomimic's second names: ``backbone`` for ``nets.0``, ``pool`` for ``nets.1``."""
        aliases = [StateDictAlias("backbone", "nets.0", before="nets")]
        if self._has_pool:
            aliases.append(StateDictAlias("pool", "nets.1", before="nets"))
        return aliases

    @staticmethod
    def _backbone_spelling(
        backbone_class: str | type,
        backbone_kwargs: Mapping[str, Any] | None,
        core_class: str | type | None,
        core_kwargs: Mapping[str, Any] | None,
    ) -> tuple[str | type, Mapping[str, Any] | None]:
        """Merge the two spellings of the backbone arguments; both at once is an error."""
        if core_class is not None:
            if not isinstance(backbone_class, _DefaultName):
                raise ConfigError(
                    f"VisualCore got both backbone_class={backbone_class!r} and "
                    f"core_class={core_class!r}; they name the same thing. Keep one."
                )
            backbone_class = core_class
        if core_kwargs is not None:
            if backbone_kwargs is not None:
                raise ConfigError(
                    "VisualCore got both backbone_kwargs and core_kwargs; they name the same "
                    "thing. Keep one."
                )
            backbone_kwargs = core_kwargs
        if isinstance(backbone_class, str):
            backbone_class = str(backbone_class)  # drop the default marker
        return backbone_class, backbone_kwargs

    @staticmethod
    def _build(
        owner: str,
        kind: str,
        name: str | type,
        kwargs: Mapping[str, Any] | None,
        inject_key: str,
        inject_value: Any,
    ) -> Module:
        """Build the backbone or pool by name, injecting what the core knows."""
        cls = resolve_component(name, kind=kind)
        arguments = dict(kwargs or {})
        _inject(owner, kind, arguments, inject_key, inject_value, constructor_parameters(cls))
        built = build_component(name, arguments, kind=kind)
        if not isinstance(built, Module):
            raise ConfigError(
                f"{owner}: {kind} {cls.__name__} is not an obsnets Module (it needs "
                f"output_shape); subclass obsnets.ConvBase or obsnets.PoolBase."
            )
        return built

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[feature_dimension]``, or the flattened / pooled feature shape, as Python ints.

        Args:
            input_shape: ``None`` or the constructor's ``input_shape`` (the pool is built
                for that size, so no other size is accepted).
        """
        if input_shape is not None:
            shape = as_shape(type(self).__name__, input_shape)
            if shape != self.input_shape:
                raise ShapeError(
                    f"{type(self).__name__} was built for input shape "
                    f"{describe(self.input_shape)}, got {describe(shape)}."
                )
        return list(self._output_shape)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encode images.

        Args:
            inputs: ``(B, *input_shape)``, e.g. ``(B, 3, 84, 84)``.

        Returns:
            ``(B, *output_shape())``, e.g. ``(B, 64)``.
        """
        return self.nets(self._prepare_inputs(inputs))

    def _prepare_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Check ``(B, *input_shape)`` images; normalise and convert them as configured."""
        check_input(type(self).__name__, inputs, self.input_shape)
        if self.normalize_input:
            # Read from the backbone in the tree now (it may have been replaced), on the
            # input's device and dtype: nothing to keep in step with .to() or the state_dict.
            normalization = self._input_normalization(self.backbone)
            view = (-1,) + (1,) * (len(self.input_shape) - 1)  # (C, 1, ..., 1)
            like = {"device": inputs.device, "dtype": inputs.dtype}
            mean = torch.tensor(normalization.mean, **like).reshape(view)
            std = torch.tensor(normalization.std, **like).reshape(view)
            inputs = (inputs - mean) / std
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, output_shape={self._output_shape}"
