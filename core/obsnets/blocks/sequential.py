"""``Sequential``: a torch ``Sequential`` that chains ``output_shape``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from obsnets.bases.module import Module
from obsnets.errors import ConfigError

__all__ = ["Sequential"]


class Sequential(nn.Sequential, Module):
    """Runs modules in order; ``output_shape`` chains theirs.

    Args:
        *modules: The modules. With ``has_output_shape=True`` each must be an obsnets
            :class:`Module` (so shapes can be chained); otherwise any ``nn.Module``.
        has_output_shape: Whether :meth:`output_shape` is available.

    :meth:`freeze` keeps the whole sequence in eval mode and stops its gradients, e.g. for a
    pretrained feature extractor.
    """

    def __init__(self, *modules: nn.Module, has_output_shape: bool = True) -> None:
        for i, module in enumerate(modules):
            if has_output_shape and not isinstance(module, Module):
                raise ConfigError(
                    f"Sequential: module {i} ({type(module).__name__}) has no output_shape; "
                    f"wrap it in an obsnets Module or pass has_output_shape=False."
                )
        super().__init__(*modules)
        self.has_output_shape = has_output_shape
        self.fixed = False

    def output_shape(self, input_shape: Sequence[int] | None = None) -> Any:
        """Chain each module's ``output_shape`` starting from ``input_shape``."""
        if not self.has_output_shape:
            raise ConfigError("Sequential was built with has_output_shape=False.")
        shape: Any = input_shape
        for module in self:
            shape = module.output_shape(shape)  # type: ignore[operator]
        return shape

    def freeze(self) -> None:
        """Keep the sequence in eval mode from now on and stop gradients to its parameters."""
        self.fixed = True
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> Sequential:
        """Set train mode, except that a frozen sequence stays in eval mode."""
        return super().train(False if self.fixed else mode)
