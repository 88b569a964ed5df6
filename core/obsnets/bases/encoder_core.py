"""``EncoderCore``: base of per-modality observation encoders (kind ``encoder_core``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from obsnets.bases.module import Module
from obsnets.validation import check_shape

__all__ = ["EncoderCore"]


class EncoderCore(Module, abstract=True):
    """Encodes one observation modality (images, scans, ...) into a feature tensor.

    A custom core needs an ``__init__(self, input_shape, ...)`` that calls
    ``super().__init__(input_shape)``, an :meth:`output_shape` and a ``forward(inputs)``.
    Defining the subclass registers it: a config can name it as ``core_class`` at once.

    Args:
        input_shape: Shape of one observation without batch dimension, e.g. ``(3, 84, 84)``.
    """

    component_kind: ClassVar[str | None] = "encoder_core"

    def __init__(self, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.input_shape = check_shape(type(self).__name__, "input_shape", input_shape)
