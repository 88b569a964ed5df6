"""Building components from a name and keyword arguments, strictly.

One creation path for every component: resolve the name in the registry, check the keyword
arguments against the constructor's signature (unknown ones are an error naming the valid
ones, never dropped), instantiate, then let plugins see the result
(``obsnets_network_built``, each plugin's error isolated: see :func:`obsnets.plugins.call_hook`).

While :func:`skip_pretrained_weights` is active (``obsnets.load`` builds a saved model inside
it), components that would read initial weights from outside (a ``pretrained`` file, the
torch hub cache) build with their plain initialisation instead, because the weights are
overwritten right after: a saved model loads from its folder alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

from obsnets.errors import InvalidKwargsError, suggestion
from obsnets.plugins import call_hook
from obsnets.registry import resolve_component
from obsnets.trust import trusting_code

__all__ = [
    "build_component",
    "check_kwargs",
    "constructor_parameters",
    "init_signature",
    "pretrained_weights_skipped",
    "skip_pretrained_weights",
]

_skipping_pretrained: ContextVar[bool] = ContextVar("obsnets_skip_pretrained", default=False)


@contextmanager
def skip_pretrained_weights() -> Iterator[None]:
    """Within the block, components build without reading pretrained weights.

    For building a model whose every weight is loaded right afterwards (``obsnets.load``):
    the original weight source (a file path, the torch hub cache) need not exist on this
    machine, and is not read. Components that take initial weights from outside check
    :func:`pretrained_weights_skipped` and skip reading them; the architecture they build
    must not depend on whether weights were read. Applies to the current thread (or task).
    """
    token = _skipping_pretrained.set(True)
    try:
        yield
    finally:
        _skipping_pretrained.reset(token)


def pretrained_weights_skipped() -> bool:
    """Whether components are being built inside :func:`skip_pretrained_weights`."""
    return _skipping_pretrained.get()


def init_signature(cls: type) -> inspect.Signature:
    """The signature of ``cls.__init__``, including ``self``."""
    return inspect.signature(cls.__init__)  # type: ignore[misc]


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``cls.__init__`` (without ``self``), in order."""
    params = init_signature(cls).parameters
    return {n: p for n, p in params.items() if n != "self"}


def check_kwargs(cls: type, kwargs: Mapping[str, Any], *, what: str | None = None) -> None:
    """Raise if ``kwargs`` do not fit ``cls``'s constructor.

    Args:
        cls: The component class.
        kwargs: The keyword arguments that will be passed.
        what: How to name the component in messages (defaults to the class name).

    Raises:
        InvalidKwargsError: an argument the constructor does not take (close matches and the
            valid parameters are listed), or a required one that is missing.
    """
    params = constructor_parameters(cls)
    label = what or cls.__name__
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {
        n: p
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    unknown = [k for k in kwargs if k not in named]
    if unknown and not accepts_any:
        hints = "".join(suggestion(k, named) for k in unknown)
        raise InvalidKwargsError(
            f"{label} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}."
            f"{hints} Valid parameters: {', '.join(named) or '(none)'}."
        )
    missing = [
        n for n, p in named.items() if p.default is inspect.Parameter.empty and n not in kwargs
    ]
    if missing:
        raise InvalidKwargsError(
            f"{label} is missing required argument(s) {', '.join(map(repr, missing))}. "
            f"Signature: {cls.__name__}{init_signature(cls)}."
        )


def build_component(
    name: str | type,
    kwargs: Mapping[str, Any] | None = None,
    *,
    kind: str | None = None,
    trust_code: bool = False,
) -> torch.nn.Module:
    """Build a component from its name (or class) and keyword arguments.

    Args:
        name: A plain name (``"ResNet18Conv"``), a qualified name (``"pkg.module:Class"``) or
            a class.
        kwargs: Constructor keyword arguments; checked strictly against the signature.
        kind: The kind the caller's slot expects (``"backbone"``, ``"pool"``, ...); a name of
            another kind does not resolve.
        trust_code: Let this name, and every name resolved while building (nested
            ``core_class``, ``backbone_class``, ...), import modules no installed plugin
            declares (see :mod:`obsnets.trust`). Off by default.

    Returns:
        The instance, after every plugin's ``obsnets_network_built`` hook saw it.
    """
    with trusting_code(trust_code):
        cls = resolve_component(name, kind)
        arguments = dict(kwargs or {})
        check_kwargs(cls, arguments, what=f"{kind or 'component'} {cls.__name__}")
        instance = cls(**arguments)
    label = name if isinstance(name, str) else cls.__name__
    call_hook("obsnets_network_built", network=instance, name=label, kwargs=arguments)
    return instance
