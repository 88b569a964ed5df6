"""The activations of a transformer block's MLP: ``relu``, ``gelu`` and the gated ``geglu``."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import gelu

from obsnets.errors import ConfigError, ShapeError, suggestion

__all__ = ["GEGLU", "TRANSFORMER_ACTIVATIONS", "build_activation", "mlp_width_multiplier"]


class GEGLU(nn.Module):
    """Gated GELU (Shazeer, "GLU Variants Improve Transformer", 2020).

    The input's last dimension is split into halves ``(value, gate)`` and the output is
    ``value * gelu(gate)``; robomimic's half order (value first) is kept, so its weights load.

    Shapes: ``(..., 2 * D) -> (..., D)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``x`` ``(..., 2 * D)`` into ``(..., D)``."""
        if x.shape[-1] % 2:
            raise ShapeError(
                f"GEGLU splits the last dimension into two halves and needs it even; got a "
                f"tensor of shape {tuple(x.shape)}."
            )
        value, gate = x.chunk(2, dim=-1)
        return value * gelu(gate)


TRANSFORMER_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "geglu": GEGLU,
}
"""``transformer_activation`` name -> activation class."""


def build_activation(owner: str, name: object) -> nn.Module:
    """A new activation module for ``transformer_activation`` ``name``.

    Raises:
        ConfigError: an unknown name; the message lists the choices (robomimic failed later,
            with an ``AttributeError``).
    """
    if not isinstance(name, str) or name not in TRANSFORMER_ACTIVATIONS:
        hint = suggestion(name, TRANSFORMER_ACTIVATIONS) if isinstance(name, str) else ""
        raise ConfigError(
            f"{owner}: unknown transformer_activation {name!r}.{hint} Choices: "
            f"{', '.join(repr(n) for n in TRANSFORMER_ACTIVATIONS)}."
        )
    return TRANSFORMER_ACTIVATIONS[name]()


def mlp_width_multiplier(activation: nn.Module) -> int:
    """2 for a gated activation (its input holds value and gate), else 1."""
    return 2 if isinstance(activation, GEGLU) else 1
