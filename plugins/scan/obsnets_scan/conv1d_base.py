"""``Conv1dBase``: a stack of 1-D convolutions for range-finder scans (kind ``backbone``)."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases import ConvBase
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, format_shape, suggestion
from obsnets.torch_classes import torch_module_class

__all__ = ["Conv1dBase"]

_OWN_ARGS = ("in_channels", "out_channels", "kernel_size", "stride")
# padding, dilation, groups, bias, padding_mode, device, dtype
_EXTRA_CONV_ARGS = tuple(
    name
    for name in inspect.signature(nn.Conv1d.__init__).parameters
    if name not in (*_OWN_ARGS, "self")
)


def _is_per_layer(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _layer_count(per_layer: dict[str, Any]) -> int:
    """The number of layers the list-valued arguments agree on (1 when all are scalars)."""
    lengths = {name: len(value) for name, value in per_layer.items() if _is_per_layer(value)}
    if not lengths:
        return 1
    counts = set(lengths.values())
    if len(counts) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ConfigError(
            f"Conv1dBase: per-layer lists must have one entry per layer, but {listed}. Give "
            f"every list the same length, or a single value to use for every layer."
        )
    count = counts.pop()
    if count == 0:
        raise ConfigError("Conv1dBase needs at least one layer; got empty per-layer lists.")
    return count


class Conv1dBase(ConvBase):
    """Stacked ``Conv1d`` layers, each followed by an activation: ``(B, C, L) -> (B, C', L')``.

    Every convolution argument is given per layer as a list (the ``i``-th entry goes to the
    ``i``-th ``nn.Conv1d``) or as a single value used for every layer. The number of layers is
    the common length of the lists. Layers are registered as ``nets.conv{i}`` and
    ``nets.act{i}``, as robomimic's, so its checkpoints load unchanged.

    Args:
        input_channel: Number of input channels ``C`` (scan channels, usually 1).
        activation: Activation after every convolution: a ``torch.nn`` class or its name
            (``"relu"``, ``"ReLU"``, ``"torch.nn.ELU"``), or ``None`` / ``"None"`` for none.
        out_channels: Output channels of each layer.
        kernel_size: Kernel size of each layer.
        stride: Stride of each layer.
        **conv_kwargs: Further ``nn.Conv1d`` arguments (``padding``, ``dilation``, ``groups``,
            ``bias``, ``padding_mode``), per layer or one value for all layers.

    Differs from robomimic: a scalar argument is broadcast to every layer (robomimic raised
    TypeError); an argument ``nn.Conv1d`` does not take, or lists of different lengths, raise
    a clear error; the activation may be any ``torch.nn`` class named in the config; the
    class is a ``ConvBase``, so it is registered as a backbone (robomimic's was a plain
    ``Module``); ``forward`` checks the channel count instead of recomputing
    ``output_shape`` on every call.
    """

    def __init__(
        self,
        input_channel: int = 1,
        activation: str | type[nn.Module] | None = "relu",
        out_channels: int | Sequence[int] = (32, 64, 64),
        kernel_size: int | Sequence[int] = (8, 4, 2),
        stride: int | Sequence[int] = (4, 2, 1),
        **conv_kwargs: Any,
    ) -> None:
        super().__init__()
        unknown = [name for name in conv_kwargs if name not in _EXTRA_CONV_ARGS]
        if unknown:
            hints = "".join(suggestion(name, _EXTRA_CONV_ARGS + _OWN_ARGS) for name in unknown)
            raise InvalidKwargsError(
                f"Conv1dBase got unexpected keyword argument(s) "
                f"{', '.join(map(repr, unknown))}.{hints} Valid parameters: input_channel, "
                f"activation, out_channels, kernel_size, stride, {', '.join(_EXTRA_CONV_ARGS)}."
            )
        per_layer: dict[str, Any] = {
            "out_channels": out_channels,
            "kernel_size": kernel_size,
            "stride": stride,
            **conv_kwargs,
        }
        self.n_layers = _layer_count(per_layer)
        self.input_channel = int(input_channel)
        activation_class = (
            None if activation == "None" else torch_module_class(activation, what="Conv1dBase")
        )

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        channels = self.input_channel
        for i in range(self.n_layers):
            layer_kwargs = {
                name: value[i] if _is_per_layer(value) else value
                for name, value in per_layer.items()
            }
            layers[f"conv{i}"] = nn.Conv1d(in_channels=channels, **layer_kwargs)
            if activation_class is not None:
                layers[f"act{i}"] = activation_class()
            channels = int(layer_kwargs["out_channels"])
        self.nets = nn.Sequential(layers)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Shape of the feature map for an input of shape ``(C, L)``.

        Each layer maps ``L`` to ``(L + 2 * padding - dilation * (kernel - 1) - 1) // stride
        + 1`` (``padding="same"`` keeps ``L``).

        Args:
            input_shape: ``(C, L)``, without batch dimension.

        Returns:
            ``[out_channels[-1], L']``.
        """
        if input_shape is None or len(input_shape) != 2:
            raise ShapeError(
                f"Conv1dBase.output_shape needs the input shape (C, L); got "
                f"{format_shape(input_shape)}."
            )
        channels, length = (int(d) for d in input_shape)
        if channels != self.input_channel:
            raise ShapeError(
                f"Conv1dBase expects input shape ({self.input_channel}, L), got "
                f"{format_shape(input_shape)}."
            )
        for layer in self.nets.children():
            if not isinstance(layer, nn.Conv1d):
                continue
            channels = layer.out_channels
            if layer.padding == "same":
                continue
            padding = 0 if layer.padding == "valid" else int(layer.padding[0])
            span = layer.dilation[0] * (layer.kernel_size[0] - 1) + 1
            length = (length + 2 * padding - span) // layer.stride[0] + 1
            if length < 1:
                raise ShapeError(
                    f"Conv1dBase: input shape {format_shape(input_shape)} is too short for "
                    f"its convolutions (a layer would output length {length})."
                )
        return [channels, length]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the convolutions.

        Args:
            inputs: ``(B, C, L)`` scans.

        Returns:
            ``(B, *output_shape((C, L)))`` feature maps.
        """
        if inputs.dim() != 3 or inputs.shape[1] != self.input_channel:
            raise ShapeError(
                f"Conv1dBase expects input of shape (B, {self.input_channel}, L), got "
                f"{format_shape(inputs.shape)}."
            )
        return self.nets(inputs)
