"""``ObservationEncoder``: encodes an observation dict key by key and concatenates the features."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.blocks.key_module_dict import KeyModuleDict, name_of_key
from obsnets.building import build_component, check_kwargs
from obsnets.encoders._checks import (
    as_shape,
    dtype_error,
    is_null_name,
    module_class,
    shape_text,
)
from obsnets.encoders._key_specs import describe_keys, register_keys
from obsnets.encoders._registration import (
    describe_net,
    indent,
    randomizer_list,
    resolve_core,
    takes_lang,
)
from obsnets.errors import (
    ConfigError,
    ShapeError,
    suggestion,
)

__all__ = ["LANG_EMB_KEY", "ObservationEncoder"]

LANG_EMB_KEY = "lang_emb"
"""Observation key of the language embedding fed to language-conditioned cores."""


class ObservationEncoder(NetworkBase):
    """Encodes a dict of observations into one feature vector per sample.

    Register each observation key with :meth:`register_obs_key`, then call :meth:`make`. For
    each key, in registration order, ``forward`` runs: the key's randomizers' ``forward_in``
    (in list order) -> its network -> ``feature_activation`` -> the randomizers'
    ``forward_out`` (in reverse order) -> flatten to ``(B, D_key)``; the features are
    concatenated into ``(B, sum D_key)``. A key without a network (low-dimensional
    observations) is only flattened: the activation applies to keys with a network only.

    Extra keys in the observation dict are ignored. A network whose ``forward`` takes a
    ``lang_emb`` argument (a language-conditioned visual core) receives
    ``obs_dict["lang_emb"]``; the ``lang_emb`` key then conditions and is not itself
    concatenated (robomimic's rule).

    Args:
        feature_activation: Activation class (or ``torch.nn`` class name such as ``"ReLU"``)
            applied after each key's network; ``None`` for none.
        obs_keys: Every key at once, as data: observation key -> ``{"shape": [...]}`` plus
            what :meth:`register_obs_key` takes, with built components written as
            ``{"class": name, "kwargs": {...}}`` (``"net"``, and each of ``"randomizers"``,
            a list). The keys are registered in order and :meth:`make` is called. This is how
            a saved encoder is rebuilt (see ``init_arguments``).

    Attributes (robomimic's, so state_dict keys match its checkpoints, e.g.
    ``obs_nets.agentview_image.backbone.nets.0.weight``): ``obs_shapes``,
    ``obs_nets_classes``, ``obs_nets_kwargs``, ``obs_share_mods`` (ordered dicts keyed by
    observation key), ``obs_nets`` (a :class:`~obsnets.blocks.KeyModuleDict`; ``None`` for
    keys without a network), ``obs_randomizers`` (``KeyModuleDict`` of ``ModuleList``),
    ``feature_activation`` and, after :meth:`make`, ``activation``.

    Any non-empty string is an observation key, dots included (LeRobot's
    ``observation.images.top``); outputs and state_dict entries use it verbatim
    (``obs_nets.observation.images.top.backbone...``).

    ``forward`` reads ``obs_nets``, ``obs_randomizers`` and ``activation`` at every call, so
    modules replaced after :meth:`make` (``enc.obs_nets[key] = ...``,
    ``enc.obs_randomizers[key][0] = ...``, ``enc.activation = ...``, any nested
    replacement), deep copies and replicas run their own modules.

    ``init_arguments`` (what saving writes as the config) is derived when read: the
    arguments given, with ``obs_keys`` describing every registered key as it is now, a
    module given as ``net=`` or a randomizer instance as its registered class and its own
    ``init_arguments``. So an encoder assembled with :meth:`register_obs_key` saves and loads
    back with the same modules and state_dict; a module that is not a registered component
    (e.g. a plain ``torch.nn.Linear`` given as ``net=``) cannot be written, and saving
    refuses it, naming the key.

    Differs from robomimic: user mistakes raise obsnets errors instead of ``assert``; a
    missing observation key names the registered keys; ``net_class`` resolves through the
    registry (any installed plugin's core, or a class object), with kwargs checked strictly
    at registration; ``output_shape`` applies the randomizers' ``output_shape_out`` in the
    same (reverse) order as ``forward``; the spec page's ``randomizer=`` spelling is
    accepted; keys with dots or named like module attributes work (``nn.ModuleDict``
    refuses them). A forward call costs little more than calling the networks by hand
    (``benchmarks/mimo.py``).
    """

    def __init__(
        self,
        feature_activation: type[nn.Module] | str | None = nn.ReLU,
        obs_keys: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.feature_activation = module_class(
            "ObservationEncoder", "feature_activation", feature_activation
        )
        self.obs_shapes: OrderedDict[str, list[int]] = OrderedDict()
        self.obs_nets_classes: OrderedDict[str, type | None] = OrderedDict()
        self.obs_nets_kwargs: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
        self.obs_share_mods: OrderedDict[str, str | None] = OrderedDict()
        self.obs_nets = KeyModuleDict(owner="ObservationEncoder.obs_nets")
        self.obs_randomizers = KeyModuleDict(owner="ObservationEncoder.obs_randomizers")
        self.activation: nn.Module | None = None
        self._prebuilt_nets: dict[str, nn.Module] = {}
        self._key_modalities: dict[str, str] = {}
        # (key, its name in obs_nets / obs_randomizers, per-sample shape), from registration
        self._inputs: tuple[tuple[str, str, torch.Size], ...] = ()
        self._locked = False
        if obs_keys is not None:
            register_keys(self, obs_keys)
            self.make()

    @property
    def init_arguments(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this encoder as it is now.

        Those given (recorded at construction), with ``obs_keys`` derived from the
        registered keys and their live modules; a fresh dict at every read.
        """
        arguments = dict(self.__dict__.get("init_arguments", {}))
        arguments.pop("obs_keys", None)
        if self.obs_shapes:
            arguments["obs_keys"] = describe_keys(self)
        return arguments

    @init_arguments.setter
    def init_arguments(self, arguments: dict[str, Any]) -> None:
        self.__dict__["init_arguments"] = arguments

    # -- registration ------------------------------------------------------------------------

    def register_obs_key(
        self,
        name: str,
        shape: Sequence[int],
        net_class: str | type | None = None,
        net_kwargs: Mapping[str, Any] | None = None,
        net: nn.Module | None = None,
        randomizers: nn.Module | Sequence[nn.Module] | None = None,
        share_net_from: str | None = None,
        *,
        randomizer: nn.Module | None = None,
    ) -> None:
        """Register an observation key and how to encode it.

        Give at most one of ``net_class`` (+ ``net_kwargs``), ``net`` or ``share_net_from``;
        none of them passes the observation through (flattened).

        Args:
            name: The observation key.
            shape: Its shape without batch dimension, e.g. ``(3, 84, 84)``.
            net_class: An encoder core (kind ``encoder_core``) by name (``"VisualCore"``,
                ``"my_pkg.cores:MyCore"``) or class; built in :meth:`make`.
            net_kwargs: Its keyword arguments (copied, never modified).
                ``input_shape`` is set to ``shape`` after the randomizers'
                ``output_shape_in`` chain, overriding any value given.
            net: A built module with an ``output_shape`` method (e.g. an obsnets ``MLP``).
            randomizers: One randomizer or a list, applied in list order.
            share_net_from: An already registered key whose network this key reuses (same
                parameters); randomizers are not shared.
            randomizer: The specification page's spelling of a single randomizer; give this
                or ``randomizers``.

        Raises:
            ConfigError: after :meth:`make`, a duplicate name, conflicting options, an
                unknown ``share_net_from`` key, or a ``net`` without ``output_shape``.
            UnknownComponentError: ``net_class`` names no encoder core.
            InvalidKwargsError: ``net_kwargs`` do not fit the core's constructor.
        """
        owner = "ObservationEncoder.register_obs_key"
        if self._locked:
            raise ConfigError(
                f"{owner}({name!r}): the encoder is already built (make() was called); "
                f"register every key before make()."
            )
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{owner}: name must be a non-empty string; got {name!r}.")
        if name in self.obs_shapes:
            raise ConfigError(f"{owner}: observation key {name!r} is already registered.")
        obs_shape = as_shape("ObservationEncoder", f"key {name!r}", shape)
        if is_null_name(net_class):
            net_class = None
        chosen = [
            o
            for o, given in (
                ("net_class", net_class is not None),
                ("net", net is not None),
                ("share_net_from", share_net_from is not None),
            )
            if given
        ]
        if len(chosen) > 1:
            raise ConfigError(
                f"{owner}({name!r}): give only one of net_class, net and share_net_from; got "
                f"{' and '.join(chosen)}."
            )
        if net_kwargs is not None and not isinstance(net_kwargs, Mapping):
            raise ConfigError(
                f"{owner}({name!r}): net_kwargs must be a mapping of keyword arguments; got "
                f"{type(net_kwargs).__name__}."
            )
        if net_kwargs and net_class is None:
            raise ConfigError(
                f"{owner}({name!r}): net_kwargs are given but no net_class; name the encoder "
                f"core they are for."
            )
        if share_net_from is not None and not isinstance(share_net_from, str):
            raise ConfigError(
                f"{owner}({name!r}): share_net_from must be the name of a registered key; got "
                f"{share_net_from!r}."
            )
        rands = randomizer_list(name, randomizers, randomizer)
        net_input_shape = list(obs_shape)
        for rand in rands:
            net_input_shape = [int(d) for d in rand.output_shape_in(net_input_shape)]

        cls: type | None = None
        kwargs: dict[str, Any] | None = None
        if net_class is not None:
            cls = resolve_core(name, net_class)
            kwargs = copy.deepcopy(dict(net_kwargs or {}))
            kwargs["input_shape"] = net_input_shape
            check_kwargs(cls, kwargs, what=f"encoder core {cls.__name__} (key {name!r})")
        if net is not None:
            if not isinstance(net, nn.Module) or not callable(getattr(net, "output_shape", None)):
                raise ConfigError(
                    f"{owner}({name!r}): net must be a torch module with an output_shape "
                    f"method (an obsnets Module); got {type(net).__name__}."
                )
            self._prebuilt_nets[name] = net
        if share_net_from is not None and share_net_from not in self.obs_shapes:
            raise ConfigError(
                f"{owner}({name!r}): share_net_from={share_net_from!r} is not a registered "
                f"key.{suggestion(share_net_from, self.obs_shapes)} Registered keys: "
                f"{list(self.obs_shapes)}; register the key to share from first."
            )

        self.obs_shapes[name] = obs_shape
        self.obs_nets_classes[name] = cls
        self.obs_nets_kwargs[name] = kwargs
        self.obs_share_mods[name] = share_net_from
        self.obs_randomizers[name] = nn.ModuleList(rands)

    def make(self) -> None:
        """Build every registered key's network and lock the encoder.

        Raises:
            ConfigError: called twice, or no key registered.
        """
        if self._locked:
            raise ConfigError("ObservationEncoder.make() was already called.")
        if not self.obs_shapes:
            raise ConfigError(
                "ObservationEncoder.make(): no observation key is registered; call "
                "register_obs_key(...) first."
            )
        for key in self.obs_shapes:
            cls, source = self.obs_nets_classes[key], self.obs_share_mods[key]
            if cls is not None:
                self.obs_nets[key] = build_component(
                    cls, self.obs_nets_kwargs[key], kind="encoder_core"
                )
            elif source is not None:
                self.obs_nets[key] = self.obs_nets[source]
            else:
                self.obs_nets[key] = self._prebuilt_nets.get(key)
        if self.feature_activation is not None:
            self.activation = self.feature_activation()
        self._prebuilt_nets = {}  # now held by obs_nets
        lang_keys = [k for k in self.obs_nets if _takes_lang(self.obs_nets[k])]
        if lang_keys and LANG_EMB_KEY not in self.obs_shapes:
            raise ConfigError(
                f"ObservationEncoder: the networks of {lang_keys} take a language "
                f"embedding, but no {LANG_EMB_KEY!r} key is registered; register it."
            )
        self._inputs = tuple(
            (key, name_of_key(key), torch.Size(shape)) for key, shape in self.obs_shapes.items()
        )
        self._locked = True

    # -- running -----------------------------------------------------------------------------

    def forward(self, obs_dict: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Encode a batch of observations.

        Args:
            obs_dict: ``{key: (B, *shape)}`` for every registered key (extra keys ignored).

        Returns:
            ``(B, D)`` features, ``D = output_shape()[0]``.

        Raises:
            ConfigError: :meth:`make` was not called.
            ShapeError: a registered key is missing or has the wrong per-sample shape.
        """
        if not self._locked:
            raise ConfigError("ObservationEncoder: call make() before running the encoder.")
        # The live tree, read at every call (replacements, deep copies, replicas), through
        # _modules: what attribute access returns, without nn.Module.__getattr__'s cost.
        modules = self._modules
        nets: dict[str, Any] = modules["obs_nets"]._modules  # type: ignore[union-attr]
        randomizers: dict[str, Any] = modules["obs_randomizers"]._modules  # type: ignore[union-attr]
        activation = modules.get("activation")
        lang = self._language_embedding(obs_dict) if LANG_EMB_KEY in self.obs_shapes else None
        features = []
        batch, dtype = -1, None  # every key must match the first key's batch size and dtype
        for key, name, shape in self._inputs:
            if lang is not None and key == LANG_EMB_KEY:
                continue  # conditions the networks; not a feature itself
            x = obs_dict.get(key)
            # Cheap checks only (attributes, no pass over the values): this runs every step.
            if not isinstance(x, torch.Tensor) or x.shape[1:] != shape:
                self._raise_bad_input(key, shape, x, obs_dict)
            if dtype is None:
                if not x.is_floating_point():
                    self._raise_bad_input(key, shape, x, obs_dict)
                batch, dtype = x.shape[0], x.dtype
            elif x.shape[0] != batch or x.dtype is not dtype:  # dtypes are singletons
                self._raise_mismatch(key, shape, x, obs_dict)
            group = randomizers[name]
            # a ModuleList, or one randomizer that replaced it
            rands: Any = group._modules.values() if isinstance(group, nn.ModuleList) else (group,)
            for rand in rands:
                x = rand.forward_in(x)
            net = nets[name]
            if net is not None:
                try:
                    x = net(x, lang_emb=lang) if lang is not None and _takes_lang(net) else net(x)
                except RuntimeError as error:  # costs nothing unless raised
                    clash = dtype_error("ObservationEncoder", net, {key: x}, error)
                    if clash is not None:
                        raise clash from error
                    raise
                if activation is not None:
                    x = activation(x)
            if rands:
                for rand in reversed(rands):
                    x = rand.forward_out(x)
            features.append(x if x.dim() == 2 else torch.flatten(x, 1))
        return torch.cat(features, dim=-1)

    def _language_embedding(self, obs_dict: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """``obs_dict["lang_emb"]`` when a network takes it, else ``None``."""
        if not self._lang_conditioned():
            return None
        lang = obs_dict.get(LANG_EMB_KEY)
        if lang is None:
            raise ShapeError(
                f"ObservationEncoder: {LANG_EMB_KEY!r} is missing in the input dict; the "
                f"language-conditioned networks need it. Given keys: {list(obs_dict)}."
            )
        return lang

    def _lang_conditioned(self) -> bool:
        """Whether a network of the live tree takes a language embedding."""
        return any(_takes_lang(net) for net in self.obs_nets.values())

    def _raise_bad_input(
        self, key: str, shape: torch.Size, x: Any, obs_dict: Mapping[str, Any]
    ) -> NoReturn:
        if x is None:
            raise ShapeError(
                f"ObservationEncoder: observation key {key!r} is missing (or None) in "
                f"the input dict. Registered keys: {list(self.obs_shapes)}; given keys: "
                f"{list(obs_dict)}."
            )
        if not isinstance(x, torch.Tensor):
            raise ShapeError(
                f"ObservationEncoder: observation {key!r} must be a torch.Tensor of shape "
                f"{shape_text(shape, 'B')}; got {_described(x)}. Convert it first, e.g. "
                f"torch.as_tensor(value, dtype=torch.float32)."
            )
        if x.shape[1:] != shape:
            raise ShapeError(
                f"ObservationEncoder: observation {key!r} must have shape "
                f"{shape_text(shape, 'B')}; got a tensor of shape {tuple(x.shape)}."
            )
        raise ShapeError(
            f"ObservationEncoder: observation {key!r} must be a floating-point tensor; got "
            f"dtype {x.dtype}. Convert it first: images as x.float() / 255 (robomimic's "
            f"process_obs), other values as x.float()."
        )

    def _raise_mismatch(
        self, key: str, shape: torch.Size, x: torch.Tensor, obs_dict: Mapping[str, Any]
    ) -> NoReturn:
        """Raise for an input whose batch size or dtype differs from the first key's."""
        if not x.is_floating_point():
            self._raise_bad_input(key, shape, x, obs_dict)
        first_key = next(k for k, _, _ in self._inputs if k != LANG_EMB_KEY)
        first = obs_dict[first_key]
        if x.shape[0] != first.shape[0]:
            raise ShapeError(
                f"ObservationEncoder: observation {key!r} has batch size {x.shape[0]} but "
                f"{first_key!r} has {first.shape[0]}; every observation of one call must "
                f"hold the same samples."
            )
        raise ShapeError(
            f"ObservationEncoder: observation {key!r} has dtype {x.dtype} but {first_key!r} "
            f"has {first.dtype}; give every observation the encoder's dtype (e.g. "
            f"x.to(torch.float32)), or convert the model with .to(dtype)."
        )

    # -- shapes and printing -----------------------------------------------------------------

    def key_output_shape(self, key: str) -> list[int]:
        """Shape of ``key``'s features before flattening (randomizers, network, randomizers)."""
        self._require_made("key_output_shape")
        shape = list(self.obs_shapes[key])
        rands = self._randomizers(key)
        for rand in rands:
            shape = list(rand.output_shape_in(shape))
        net = self.obs_nets[key]
        if net is not None:
            shape = list(net.output_shape(shape))  # type: ignore[operator]
        for rand in reversed(rands):
            shape = list(rand.output_shape_out(shape))
        return [int(d) for d in shape]

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[D]``: the concatenated feature size (``input_shape`` is ignored)."""
        self._require_made("output_shape")
        skip = LANG_EMB_KEY if self._lang_conditioned() else None
        return [sum(math.prod(self.key_output_shape(k)) for k in self.obs_shapes if k != skip)]

    def _randomizers(self, key: str) -> list[Any]:
        """The randomizers registered for ``key``, in order."""
        return list(_as_tuple(self.obs_randomizers[key]))

    def _require_made(self, what: str) -> None:
        if not self._locked:
            raise ConfigError(f"ObservationEncoder.{what}(): call make() first.")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for key, shape in self.obs_shapes.items():
            net = self.obs_nets[key] if self._locked else self.obs_nets_classes[key]
            rands = self._randomizers(key)
            fields = [f"name={key}", f"shape={shape}"]
            if key in self._key_modalities:
                fields.append(f"modality={self._key_modalities[key]}")
            fields.append("randomizers=" + (indent(repr(rands)) if rands else "None"))
            fields.append("net=" + indent(describe_net(net)))
            fields.append(f"sharing_from={self.obs_share_mods[key]}")
            lines.append("  Key(")
            lines.extend(f"    {f}" for f in fields)
            lines.append("  )")
        lines.append(f"  feature_activation={_name(self.feature_activation)}")
        if self._locked:
            lines.append(f"  output_shape={self.output_shape()}")
        lines.append(")")
        return "\n".join(lines)


def _name(cls: type | None) -> str:
    return "None" if cls is None else cls.__name__


def _as_tuple(randomizers: nn.Module) -> tuple[Any, ...]:
    """A key's randomizers: its ``ModuleList``, or one randomizer put there in its place."""
    if isinstance(randomizers, nn.ModuleList):
        return tuple(randomizers._modules.values())
    return (randomizers,)


def _described(value: Any) -> str:
    """``"a numpy.ndarray of shape (2, 3)"``, ``"a list"``: what was given instead of a tensor."""
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    shape = getattr(value, "shape", None)
    return f"a {name}" + (f" of shape {tuple(shape)}" if shape is not None else "")


def _takes_lang(net: nn.Module | None) -> bool:
    return net is not None and takes_lang(net)
