"""``Module``: the torch module every obsnets component derives from."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from obsnets.registry import ComponentEntry, qualified_name_of, registry

__all__ = ["Module"]

Shape = list[int]


class Module(torch.nn.Module, abc.ABC):
    """A torch module that can tell its output shape without running.

    Subclasses implement :meth:`output_shape`. A subclass of a base that declares a component
    kind (``component_kind``) registers itself under its class name when the class is created,
    so a config can name it; pass ``abstract=True`` in the class statement for intermediate
    bases that must not be nameable::

        class MyCore(EncoderCore):           # registered as encoder_core "MyCore"
            ...

        class MyBase(EncoderCore, abstract=True):   # not registered
            ...

    Registration keeps classes ordinary: they pickle by reference and a reloaded module
    replaces its own entries.
    """

    component_kind: ClassVar[str | None] = None
    """Kind under which subclasses register (see :data:`obsnets.registry.KINDS`)."""

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract or cls.component_kind is None:
            return
        registry.add(
            ComponentEntry(
                kind=cls.component_kind,
                name=cls.__name__,
                qualified_name=qualified_name_of(cls),
                provider=None,
                target=cls,
            )
        )

    @abc.abstractmethod
    def output_shape(self, input_shape: Sequence[int] | None = None) -> Any:
        """Return the output shape, without batch dimension.

        Args:
            input_shape: Shape of one input without batch dimension, e.g. ``(C, H, W)``.
                Modules whose output does not depend on it (or that know their input shape
                from construction) accept ``None``.

        Returns:
            A list of ints, or a dict of them for multi-output modules.
        """
