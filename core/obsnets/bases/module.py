"""``Module``: the torch module every obsnets component derives from."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from obsnets.registry import ComponentEntry, qualified_name_of, registry
from obsnets.validation import check_arguments

__all__ = ["Module"]

Shape = list[int]
ModuleT = TypeVar("ModuleT", bound="Module")


def _is_generated(cls: type) -> bool:
    """Whether ``cls`` was made by a library rather than written by someone.

    torch creates subclasses of user modules on the fly (``torch.compile`` makes one named
    like its base in module ``abc``; ``torch.nn.utils.parametrize`` makes
    ``Parametrized<Name>``). Registering them would make the original name ambiguous.
    """
    module = cls.__module__
    if module in {"abc", "builtins"} or module == "torch" or module.startswith("torch."):
        return True
    return any(base.__name__ == cls.__name__ for base in cls.__mro__[1:])


class _ComponentMeta(abc.ABCMeta):
    """Checks constructor arguments before ``__init__`` allocates anything
    (:func:`obsnets.validation.check_arguments`) and records them (see ``init_arguments``)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        signature = inspect.signature(cls.__init__)  # type: ignore[misc]
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError:
            bound = None  # __init__ raises Python's own message for the call itself
        if bound is not None:
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(signature.parameters)), None)  # self
            check_arguments(cls, arguments)
        instance = super().__call__(*args, **kwargs)
        if bound is not None:
            instance.__dict__["init_arguments"] = arguments
        # Else an __init__ accepted what its signature does not say (a wrapper that takes
        # more): the arguments are unknown, so none are recorded and saving says so, rather
        # than writing a config that would rebuild another model.
        return instance


class Module(torch.nn.Module, metaclass=_ComponentMeta):
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

    Every instance records the arguments it was constructed with in ``init_arguments`` (a
    dict, parameter name -> value, as given): saving a model writes them as its config, so it
    can be rebuilt by name. An instance whose ``__init__`` accepted arguments its signature
    does not declare records none (the attribute is absent; saving it raises ``ConfigError``).
    """

    init_arguments: dict[str, Any]

    component_kind: ClassVar[str | None] = None
    """Kind under which subclasses register (see :data:`obsnets.registry.KINDS`)."""

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract or cls.component_kind is None or _is_generated(cls):
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

    def save_pretrained(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Save to ``directory`` as config.json + model.safetensors (see :mod:`obsnets.saving`).

        A model card, README.md, is written beside them (the Hub shows it; see
        :mod:`obsnets.model_card`). ``overwrite=True`` also replaces a folder that holds
        anything but an obsnets model.
        """
        from obsnets.saving import save_pretrained

        return save_pretrained(self, directory, overwrite=overwrite)

    @classmethod
    def from_pretrained(
        cls: type[ModuleT],
        directory: str | Path,
        map_location: str = "cpu",
        *,
        trust_code: bool = False,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
    ) -> ModuleT:
        """Load a model saved with :meth:`save_pretrained`; it must be an instance of ``cls``.

        ``directory`` is a local folder or a Hugging Face Hub model: ``"org/name"``,
        ``"hf://org/name"`` or ``"hf://org/name@revision"``. An existing local path wins over
        a Hub id (as in ``transformers``) and a ``pathlib.Path`` is always local; Hub files
        are downloaded through the Hugging Face cache (``HF_HOME``, ``HF_HUB_OFFLINE``; see
        :mod:`obsnets.hub`, needs ``pip install "obsnets[hub]"``) and loaded as data.

        Returned in eval mode, like :func:`obsnets.load`; call ``.train()`` to fine-tune.

        Args:
            directory: The local folder or Hub model.
            map_location: Device for the weights.
            trust_code: :func:`obsnets.load`'s: off by default, loading imports only what
                installed plugins declare.
            revision: For a Hub model: branch, tag or commit (default: its default branch).
            cache_dir: For a Hub model: the Hugging Face cache folder instead of
                ``HF_HUB_CACHE``.
            local_files_only: For a Hub model: use only the cache, never the network.

        Raises:
            ConfigError: the saved model is not a ``cls``, or there is none there (see
                :func:`obsnets.load` for the rest).
        """
        from obsnets.errors import ConfigError
        from obsnets.hub import locate_model
        from obsnets.saving import MODEL_FILES, load_located

        located = locate_model(
            directory,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            bare_repo_ids=True,
            files=MODEL_FILES,
        )
        model = load_located(located, map_location=map_location, trust_code=trust_code)
        if not isinstance(model, cls):
            raise ConfigError(
                f"{str(directory)!r} holds a {type(model).__name__}, not a {cls.__name__}; "
                f"use obsnets.load() to load any saved model."
            )
        return model
