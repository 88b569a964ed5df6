"""``TimmConv``: the convolutional trunk of any timm model, named by timm's own model name."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from obsnets.bases import ConvBase, InputNormalization
from obsnets.building import pretrained_weights_skipped
from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets_timm.checkpoint import check_checkpoint_keys, read_checkpoint
from obsnets_timm.hub_weights import check_pretrained_weights_exist
from obsnets_timm.model_names import check_timm_model_name
from obsnets_timm.trunk import create_trunk

__all__ = ["RESERVED_MODEL_KWARGS", "TimmConv"]

RESERVED_MODEL_KWARGS: dict[str, str] = {
    "features_only": "TimmConv always builds timm's features_only trunk",
    "out_indices": "choose the feature level with out_index",
    "in_chans": "set the number of input channels with input_channel",
    "pretrained": "use TimmConv's pretrained argument (True, or a weights file)",
    "pretrained_cfg": "pick a pretrained config with a tagged model_name, e.g. 'resnet18.a1_in1k'",
    "pretrained_cfg_overlay": "pass a weights file as TimmConv's pretrained argument",
    "checkpoint_path": "pass the weights file as TimmConv's pretrained argument",
    "cache_dir": "set HF_HUB_CACHE (or HF_HOME) to choose the Hugging Face cache",
}
"""timm arguments ``TimmConv`` sets itself, with what to use instead."""


class TimmConv(ConvBase):
    """Any timm model's feature extractor (``features_only`` trunk) as a backbone.

    ``timm.create_model(model_name, features_only=True, out_indices=(out_index,))`` is held
    as ``self.nets``, so the state dict keys are ``nets.`` followed by the keys of timm's
    feature model (for most architectures, the keys of the full timm model without its head).
    The output is one feature map, ``(B, C', H', W')``; timm models whose features are
    channels-last (Swin, ...) are permuted to channels-first.

    With pretrained weights, :attr:`input_normalization` gives the mean, std, input size,
    interpolation and crop of timm's ``pretrained_cfg`` for ``model_name`` (the tag's, or
    the default tag's).

    Not in robomimic, which offers only its own ResNet and convolution backbones; this is the
    obsnets way to use any of timm's architectures inside ``VisualCore``.

    Example:
        ``VisualCore(input_shape=[3, 84, 84], backbone_class="TimmConv",
        backbone_kwargs={"model_name": "convnext_atto"}, pool_class="SpatialSoftmax")``.
    """

    def __init__(
        self,
        model_name: str,
        input_channel: int = 3,
        pretrained: bool | str | os.PathLike[str] = False,
        out_index: int = -1,
        model_kwargs: Mapping[str, Any] | None = None,
        freeze: bool = False,
    ) -> None:
        """Build the trunk, with timm's pretrained weights or a local file's if asked.

        Args:
            model_name: timm's model name, e.g. ``"resnet18"``, ``"efficientnet_b0"``,
                ``"convnext_atto"``; a pretrained tag (``"resnet18.a1_in1k"``) selects the
                pretrained config the weights were trained with. See
                :func:`obsnets_timm.list_timm_models`.
            input_channel: Number of input channels ``C`` (``VisualCore`` passes its
                ``input_shape[0]``). With pretrained weights of another channel count timm
                adapts the first convolution (summed for 1 channel, tiled otherwise).
            pretrained: ``False`` for random initialisation; ``True`` for timm's own
                pretrained weights of ``model_name`` (``timm.create_model(...,
                pretrained=True)``: the ``hf_hub_id`` of its ``pretrained_cfg``, read from
                the Hugging Face cache, so cached weights load offline with
                ``HF_HUB_OFFLINE=1``, and downloaded into it when online); or the path of a
                local weights file: ``.safetensors`` or a torch file (read with
                ``weights_only=True``) holding the state dict of
                ``timm.create_model(model_name)`` (head optional), such as the
                ``model.safetensors`` of a ``timm/`` Hugging Face repository. Not read inside
                :func:`obsnets.building.skip_pretrained_weights` (how ``obsnets.load``
                rebuilds a saved model: its saved weights are used).
            out_index: Which of the model's feature levels to return, counted like a Python
                index over timm's ``feature_info`` (``-1``: the deepest, usually stride 32;
                ``1``: usually stride 4). Layers after that level are not built.
            model_kwargs: Extra keyword arguments for the timm model, e.g.
                ``{"drop_path_rate": 0.1}`` or, for fixed-size transformers,
                ``{"img_size": [84, 84]}``.
            freeze: Freeze the backbone: no parameter requires a gradient, and BatchNorm
                layers (timm's ``BatchNormAct2d`` too) stay in eval mode under ``.train()``
                (see :meth:`obsnets.ConvBase.train`).

        Raises:
            UnknownComponentError: timm has no model of that name (close matches listed).
            ConfigError: ``pretrained=True`` for weights that are neither in the cache nor
                downloadable (the message says where timm looked) or that timm does not
                have, an unreadable or mismatched weights file, an out-of-range
                ``out_index``, or a ``model_kwargs`` key TimmConv sets itself.
            InvalidKwargsError: the timm model rejects one of ``model_kwargs``.
        """
        super().__init__()
        check_timm_model_name(model_name)
        label = f"TimmConv({model_name!r})"
        if isinstance(input_channel, bool) or not isinstance(input_channel, int):
            raise ConfigError(f"{label}: input_channel must be an int; got {input_channel!r}.")
        if input_channel < 1:
            raise ConfigError(f"{label}: input_channel must be >= 1; got {input_channel}.")
        if isinstance(out_index, bool) or not isinstance(out_index, int):
            raise ConfigError(f"{label}: out_index must be an int; got {out_index!r}.")
        extra = _check_model_kwargs(model_kwargs, label)
        source = _pretrained_source(pretrained, label)
        state = None
        # obsnets.load rebuilds inside skip_pretrained_weights: the saved weights replace
        # the original ones, which need not exist on the loading machine.
        load = source is not False and not pretrained_weights_skipped()
        from_hub = load and source is True
        if from_hub:
            check_pretrained_weights_exist(model_name, label)
        elif load:
            state = read_checkpoint(str(source), label)
            check_checkpoint_keys(state, model_name, extra, label)

        self.model_name = model_name
        self.input_channel = input_channel
        self.out_index = out_index
        self.model_kwargs = extra
        self.pretrained = source
        """``False``, ``True`` (timm's weights) or the weights file's path, as given."""
        self.nets = create_trunk(
            model_name, input_channel, out_index, extra, state, label, from_hub=from_hub
        )
        info: Any = self.nets.feature_info
        self.feature_channels: int = int(info.channels()[-1])
        """Channels of the returned level, from timm's ``feature_info``."""
        self.feature_reduction: int = int(info.reduction()[-1])
        """Nominal stride of the returned level, from timm's ``feature_info``."""
        fmt = getattr(self.nets, "output_fmt", "NCHW")
        self._channels_last = str(getattr(fmt, "value", fmt)) == "NHWC"
        self._label = label
        self._shapes: dict[tuple[int, ...], list[int]] = {}
        if freeze:
            self._freeze_weights()

    @property
    def input_normalization(self) -> InputNormalization | None:
        """timm's ``pretrained_cfg`` normalisation for the weights; ``None`` without any.

        Read from the trunk's ``pretrained_cfg`` (for ``model_name``'s tag, or the default
        one): ``mean``, ``std``, ``input_size``, ``interpolation``, ``crop_pct``. A weights
        file passed as ``pretrained`` is taken to hold weights of that tag.
        """
        cfg: Any = getattr(self.nets, "pretrained_cfg", None)
        if self.pretrained is False or not cfg or not cfg.get("mean") or not cfg.get("std"):
            return None
        return InputNormalization(
            mean=cfg["mean"],
            std=cfg["std"],
            input_size=cfg.get("input_size"),
            interpolation=cfg.get("interpolation") or None,
            crop_pct=cfg.get("crop_pct"),
        )

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Return ``[C', H', W']`` for one ``(C, H, W)`` input, exactly, for any ``H, W``.

        The nominal stride in ``feature_info`` does not say how each architecture rounds
        (ResNet rounds up, ConvNeXt's patchify stem rounds down), so the shape is traced
        through a copy of the trunk on the meta device: no memory, no arithmetic. The result
        is cached per input shape.

        Args:
            input_shape: ``(C, H, W)`` with ``C == input_channel``.

        Raises:
            ShapeError: no input shape, wrong channels, or a size the model cannot take
                (too small, or not the fixed size of a transformer built for another size).
        """
        if input_shape is None:
            raise ShapeError(
                f"{self._label}.output_shape needs the input shape (C, H, W); its output "
                f"size depends on H and W."
            )
        shape = tuple(int(d) for d in input_shape)
        if len(shape) != 3 or shape[0] != self.input_channel:
            raise ShapeError(
                f"{self._label} expects input shape ({self.input_channel}, H, W) "
                f"(input_channel={self.input_channel}); got {format_shape(shape)}."
            )
        if shape not in self._shapes:
            self._shapes[shape] = self._trace_output_shape(shape)
        return list(self._shapes[shape])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Compute the feature map.

        Args:
            inputs: ``(B, C, H, W)`` images, ``C == input_channel``.

        Returns:
            ``(B, C', H', W')``, as given by :meth:`output_shape`.
        """
        if inputs.ndim != 4 or inputs.shape[1] != self.input_channel:
            raise ShapeError(
                f"{self._label} expects inputs (B, {self.input_channel}, H, W); got "
                f"{tuple(inputs.shape)}."
            )
        return self._finish(self.nets(inputs))

    def extra_repr(self) -> str:
        """Summarise the constructor arguments in ``repr``."""
        return (
            f"model_name={self.model_name!r}, input_channel={self.input_channel}, "
            f"out_index={self.out_index}, pretrained={self.pretrained!r}, freeze={self.freeze}"
        )

    def _trace_output_shape(self, shape: tuple[int, ...]) -> list[int]:
        try:
            try:
                out = self._forward_on_meta(shape)
            except NotImplementedError:  # an op without a meta kernel: run zeros, once
                out = self._forward_zeros(shape)
        except (AssertionError, RuntimeError, ValueError) as exc:
            raise ShapeError(
                f"{self._label} cannot take input shape {format_shape(shape)}: {exc}. The "
                f"input may be too small, or the model built for a fixed size (transformers: "
                f"pass model_kwargs={{'img_size': [{shape[1]}, {shape[2]}]}})."
            ) from exc
        return [int(d) for d in out.shape[1:]]

    def _forward_on_meta(self, shape: tuple[int, ...]) -> torch.Tensor:
        # Mapping each tensor to a meta twin in deepcopy's memo copies only the module
        # structure, so anything forward caches stays on the throwaway copy.
        tensors = itertools.chain(self.nets.parameters(), self.nets.buffers())
        memo: dict[int, Any] = {id(t): _meta_twin(t) for t in tensors}
        trunk = copy.deepcopy(self.nets, memo).eval()
        dtype = next(self.nets.parameters()).dtype
        return self._finish(trunk(torch.empty((1, *shape), dtype=dtype, device="meta")))

    def _forward_zeros(self, shape: tuple[int, ...]) -> torch.Tensor:
        reference = next(self.nets.parameters())
        was_training = self.nets.training
        try:
            self.nets.eval()
            with torch.no_grad():
                x = torch.zeros((1, *shape), dtype=reference.dtype, device=reference.device)
                return self._finish(self.nets(x))
        finally:
            self.nets.train(was_training)

    def _finish(self, features: Any) -> torch.Tensor:
        # timm returns a list holding the one requested level.
        x: torch.Tensor = features[0] if isinstance(features, (list, tuple)) else features
        if self._channels_last:
            x = x.permute(0, 3, 1, 2).contiguous()  # (B, H', W', C') -> (B, C', H', W')
        return x


def _meta_twin(tensor: torch.Tensor) -> torch.Tensor:
    twin = torch.empty_like(tensor, device="meta")
    if isinstance(tensor, torch.nn.Parameter):
        return torch.nn.Parameter(twin, requires_grad=tensor.requires_grad)
    return twin


def _check_model_kwargs(model_kwargs: Mapping[str, Any] | None, label: str) -> dict[str, Any]:
    if model_kwargs is None:
        return {}
    if not isinstance(model_kwargs, Mapping) or not all(isinstance(k, str) for k in model_kwargs):
        raise ConfigError(
            f"{label}: model_kwargs must be a dict of timm model arguments; got {model_kwargs!r}."
        )
    reserved = [k for k in model_kwargs if k in RESERVED_MODEL_KWARGS]
    if reserved:
        fixes = "; ".join(f"{k}: {RESERVED_MODEL_KWARGS[k]}" for k in reserved)
        raise ConfigError(f"{label}: model_kwargs may not set {reserved} ({fixes}).")
    return dict(model_kwargs)


def _pretrained_source(pretrained: Any, label: str) -> bool | str:
    if pretrained is False or pretrained is None:
        return False
    if pretrained is True:
        return True
    if isinstance(pretrained, (str, os.PathLike)):
        return os.fspath(pretrained)
    raise ConfigError(
        f"{label}: pretrained must be False, True (timm's weights, through the Hugging Face "
        f"cache) or the path of a local weights file; got {pretrained!r}."
    )
