"""Helpers of ``ObservationEncoder.register_obs_key``: checking randomizers, resolving cores."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from obsnets.bases.encoder_core import EncoderCore
from obsnets.errors import ConfigError, UnknownComponentError
from obsnets.registry import resolve_component

__all__ = ["describe_net", "indent", "randomizer_list", "resolve_core", "takes_lang"]

RANDOMIZER_METHODS = ("forward_in", "forward_out", "output_shape_in", "output_shape_out")


def randomizer_list(name: str, randomizers: Any, randomizer: nn.Module | None) -> list[Any]:
    """The randomizers given as ``randomizers=`` (one or a list) or ``randomizer=`` (one).

    Raises:
        ConfigError: both spellings, or an object that is not a randomizer.
    """
    owner = f"ObservationEncoder.register_obs_key({name!r})"
    if randomizer is not None and randomizers is not None:
        raise ConfigError(
            f"{owner}: got both randomizer= and randomizers=; they are two spellings of one "
            f"option. Pass a list to randomizers= for several."
        )
    given = randomizer if randomizer is not None else randomizers
    if given is None:
        return []
    items = list(given) if isinstance(given, list | tuple | nn.ModuleList) else [given]
    found = [r for r in items if r is not None]
    for rand in found:
        missing = [m for m in RANDOMIZER_METHODS if not callable(getattr(rand, m, None))]
        if not isinstance(rand, nn.Module) or missing:
            raise ConfigError(
                f"{owner}: a randomizer must be a built obsnets Randomizer (module with "
                f"{', '.join(RANDOMIZER_METHODS)}); got {type(rand).__name__}"
                + (f" lacking {missing}." if missing else ".")
            )
    return found


def resolve_core(name: str, net_class: str | type) -> type:
    """The encoder-core class ``net_class`` designates (a name or an EncoderCore subclass)."""
    if isinstance(net_class, type):
        if not issubclass(net_class, EncoderCore):
            raise ConfigError(
                f"ObservationEncoder.register_obs_key({name!r}): net_class must be an "
                f"EncoderCore subclass; got {net_class.__name__}. Build other modules yourself "
                f"and pass them as net=."
            )
        return net_class
    try:
        return resolve_component(net_class, kind="encoder_core")
    except UnknownComponentError as exc:
        raise UnknownComponentError(
            f"ObservationEncoder.register_obs_key({name!r}): net_class must name an encoder "
            f"core (an EncoderCore subclass). {exc} To use another module (e.g. an MLP), "
            f"build it and pass it as net=."
        ) from exc


_CLASS_TAKES_LANG: dict[type, bool] = {}  # signatures are slow to read; classes rarely change


def takes_lang(net: nn.Module) -> bool:
    """Whether ``net.forward`` takes a ``lang_emb`` argument (language-conditioned core)."""
    if "forward" in vars(net):  # a forward set on the instance
        return _has_lang_parameter(net.forward)
    cls = type(net)
    known = _CLASS_TAKES_LANG.get(cls)
    if known is None:
        known = _CLASS_TAKES_LANG[cls] = _has_lang_parameter(cls.forward)
    return known


def _has_lang_parameter(function: Any) -> bool:
    try:
        return "lang_emb" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def describe_net(net: Any) -> str:
    """``repr`` of a key's network, or of its class before ``make()``."""
    if net is None:
        return "None"
    if isinstance(net, type):
        return f"{net.__name__} (built by make())"
    return repr(net)


def indent(text: str, spaces: int = 4) -> str:
    """Indent continuation lines of a nested ``repr``."""
    return text.replace("\n", "\n" + " " * spaces)
