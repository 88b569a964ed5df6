"""``MLP``: a multi-layer perceptron with robomimic's layer order and key names."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases.module import Module
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, format_shape
from obsnets.torch_classes import torch_module_class
from obsnets.validation import check_allocation

__all__ = ["MLP"]


def _named_class(value: type[nn.Module] | str, what: str) -> type[nn.Module]:
    found = torch_module_class(value, what=what)
    if found is None:
        raise ConfigError(f"{what} must name a torch.nn module class; got None.")
    return found


def _made(argument: str, factory: Callable[..., nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    """``factory(*args, **kwargs)``, its refusal of those arguments named as MLP's ``argument``."""
    try:
        return factory(*args, **kwargs)
    except TypeError as error:
        given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        raise InvalidKwargsError(
            f"MLP: {argument} {getattr(factory, '__name__', factory)!r} cannot be called as "
            f"{argument}({given}): {error}. Give a layer class taking (in_features, "
            f"out_features, **layer_func_kwargs) for layer_func, and activation classes that "
            f"take no arguments."
        ) from error


class MLP(Module):
    """Fully connected layers: ``[layer -> LayerNorm? -> activation -> Dropout?] * n -> layer``.

    Args:
        input_dim: Size of the last input dimension, ``D_in``.
        output_dim: Size of the output, ``D_out``.
        layer_dims: Hidden layer sizes; ``()`` gives a single ``layer_func(D_in, D_out)``.
        layer_func: Layer constructor, called as ``layer_func(d_in, d_out, **layer_func_kwargs)``;
            a ``torch.nn`` class name such as ``"Linear"`` is accepted (configs are JSON).
        layer_func_kwargs: Extra keyword arguments for the hidden layers only (as robomimic).
        activation: Activation class (or ``torch.nn`` class name) after each hidden layer.
        dropouts: Dropout probability per hidden layer (same length as ``layer_dims``); a
            probability of 0 adds no layer.
        normalization: Insert ``LayerNorm`` after each hidden layer.
        output_activation: Optional activation class applied to the output.

    Shapes: ``(B, ..., D_in) -> (B, ..., D_out)``. Parameters live under ``_model.<i>``,
    the keys robomimic checkpoints use.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        layer_dims: Sequence[int] = (),
        layer_func: Callable[..., nn.Module] | str = nn.Linear,
        layer_func_kwargs: dict[str, Any] | None = None,
        activation: type[nn.Module] | str = nn.ReLU,
        dropouts: Sequence[float] | None = None,
        normalization: bool = False,
        output_activation: type[nn.Module] | str | None = None,
    ) -> None:
        super().__init__()
        make_layer: Callable[..., nn.Module] = (
            _named_class(layer_func, "MLP layer_func")
            if isinstance(layer_func, str)
            else layer_func
        )
        make_activation = _named_class(activation, "MLP activation")
        make_output_activation = torch_module_class(output_activation, what="MLP output_activation")
        if dropouts is not None and len(dropouts) != len(layer_dims):
            raise ConfigError(
                f"MLP: dropouts has {len(dropouts)} entries but layer_dims has "
                f"{len(layer_dims)}; give one dropout probability per hidden layer."
            )
        self._input_dim = int(input_dim)
        self._output_dim = int(output_dim)
        sizes = [self._input_dim, *map(int, layer_dims), self._output_dim]
        for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
            check_allocation("MLP", f"layer {i} ({d_in} x {d_out} weights)", d_in * d_out)
        layers: list[nn.Module] = []
        previous = self._input_dim
        extra = dict(layer_func_kwargs or {})
        for i, dim in enumerate(layer_dims):
            layers.append(_made("layer_func", make_layer, previous, dim, **extra))
            if normalization:
                layers.append(nn.LayerNorm(dim))
            layers.append(_made("activation", make_activation))
            if dropouts is not None and dropouts[i] > 0.0:
                layers.append(nn.Dropout(dropouts[i]))
            previous = dim
        layers.append(_made("layer_func", make_layer, previous, self._output_dim))
        if make_output_activation is not None:
            layers.append(_made("output_activation", make_output_activation))
        self._model = nn.Sequential(*layers)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[output_dim]`` (with any leading dims of ``input_shape`` kept)."""
        if input_shape is None:
            return [self._output_dim]
        if int(input_shape[-1]) != self._input_dim:
            raise ShapeError(
                f"MLP expects inputs whose last dimension is {self._input_dim}; got shape "
                f"{format_shape(input_shape)}."
            )
        return [*map(int, input_shape[:-1]), self._output_dim]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Map ``(B, ..., D_in)`` to ``(B, ..., D_out)``."""
        return self._model(inputs)
