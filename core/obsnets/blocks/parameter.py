"""``Parameter``: a learnable tensor wrapped as a module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from obsnets.bases.module import Module

__all__ = ["Parameter"]


class Parameter(Module):
    """Holds one learnable tensor ``param``; calling the module returns it.

    Args:
        init_tensor: The initial value, any shape.
    """

    def __init__(self, init_tensor: torch.Tensor) -> None:
        super().__init__()
        self.param = torch.nn.Parameter(init_tensor)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The parameter's shape."""
        return list(self.param.shape)

    def forward(self, inputs: Any = None) -> torch.Tensor:
        """Return the parameter (``inputs`` is ignored, for use in module pipelines)."""
        return self.param
