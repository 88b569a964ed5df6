"""robomimic's silent kwargs filtering, made explicit: drop what robomimic drops, and say so.

robomimic passes several nested kwargs dicts through ``extract_class_init_kwargs_from_dict``,
which keeps only the keys the target class's ``__init__`` names and silently discards the rest
(reference 1.5): an encoder's ``core_kwargs`` and ``obs_randomizer_kwargs`` (in
``obs_encoder_factory``) and a ``VisualCore``'s ``backbone_kwargs`` and ``pool_kwargs``. It also
overwrites a few values it computes itself (``input_shape``, ``input_channel``) and pairs
randomizer classes with their kwargs by ``zip``, dropping unpaired classes.

obsnets builds strictly, so a robomimic config would fail where robomimic quietly built
something. The migration path reproduces what robomimic built: it removes exactly what
robomimic ignored and reports all of it in ONE :class:`RobomimicMigrationWarning`, so a typo
such as ``feature_dimenson`` no longer goes unnoticed. The same warning names every robomimic
behaviour switched on in obsnets' components (:mod:`obsnets_robomimic.quirks`), such as
robomimic's crop-corner draws, so the network also trains as robomimic's did.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from obsnets.building import constructor_parameters
from obsnets.errors import ConfigError, ObsnetsError
from obsnets_robomimic.class_names import obsnets_name, resolve_robomimic_class
from obsnets_robomimic.quirks import reproduce_quirks

__all__ = [
    "ENCODER_SPEC_KEYS",
    "ROBOMIMIC_PARAMETERS",
    "DroppedKwargs",
    "RobomimicMigrationWarning",
    "migrate_constructor_kwargs",
    "migrate_encoder_kwargs",
]

_VISUAL_CORE = (
    "input_shape",
    "backbone_class",
    "pool_class",
    "backbone_kwargs",
    "pool_kwargs",
    "flatten",
    "feature_dimension",
)
_RESNET = ("input_channel", "pretrained", "input_coord_conv")

ROBOMIMIC_PARAMETERS: dict[str, tuple[str, ...]] = {
    # robomimic v0.5 constructor parameters of the classes whose kwargs it filters. obsnets'
    # classes may take more (aliases, options robomimic lacks); robomimic would have dropped
    # those, so the migration filters against robomimic's names, not obsnets'.
    "VisualCore": _VISUAL_CORE,
    "VisualCoreLanguageConditioned": _VISUAL_CORE,
    "ScanCore": (
        "input_shape",
        "conv_kwargs",
        "conv_activation",
        "pool_class",
        "pool_kwargs",
        "flatten",
        "feature_dimension",
    ),
    "CropRandomizer": ("input_shape", "crop_height", "crop_width", "num_crops", "pos_enc"),
    "ColorRandomizer": (
        "input_shape",
        "brightness",
        "contrast",
        "saturation",
        "hue",
        "num_samples",
    ),
    "GaussianNoiseRandomizer": ("input_shape", "noise_mean", "noise_std", "limits", "num_samples"),
    "ResNet18Conv": _RESNET,
    "ResNet50Conv": _RESNET,
    "ResNet18ConvFiLM": (*_RESNET, "lang_emb_dim"),
    "FiLMLayer": ("lang_emb_dim", "channels"),
    "R3MConv": ("input_channel", "r3m_model_class", "freeze"),
    "MVPConv": ("input_channel", "mvp_model_class", "freeze"),
    "ShallowConv": ("input_channel", "output_channel"),
    # Conv1dBase takes **conv_kwargs: robomimic's filter lets only a key literally named so pass.
    "Conv1dBase": (
        "input_channel",
        "activation",
        "out_channels",
        "kernel_size",
        "stride",
        "conv_kwargs",
    ),
    "SpatialSoftmax": (
        "input_shape",
        "num_kp",
        "temperature",
        "learnable_temperature",
        "output_variance",
        "noise_std",
    ),
    "SpatialMeanPool": ("input_shape",),
    "FeatureAggregator": ("dim", "agg_type"),
}

_VISUAL_CORE_DEFAULTS: dict[str, tuple[str, str]] = {
    # core: (default backbone_class, default pool_class), robomimic's constructor defaults
    "VisualCore": ("ResNet18Conv", "SpatialSoftmax"),
    "VisualCoreLanguageConditioned": ("ResNet18ConvFiLM", "SpatialSoftmax"),
}

ENCODER_SPEC_KEYS = ("core_class", "core_kwargs", "obs_randomizer_class", "obs_randomizer_kwargs")
"""The keys robomimic reads from one modality's encoder settings."""


def _is_null(name: Any) -> bool:
    # obsnets reads the string "None" as "no class" (robomimic crashed on it): so does this.
    return name is None or (isinstance(name, str) and name.strip() in ("None", "none", "null"))


class RobomimicMigrationWarning(UserWarning):
    """Building from robomimic kwargs dropped settings robomimic silently ignored, or switched
    on robomimic behaviours that obsnets' components do not have by default."""


class DroppedKwargs:
    """Collects every dropped setting and every reproduced robomimic behaviour of one build,
    to report them in a single warning."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.quirks: list[str] = []

    def drop(self, path: str, reason: str) -> None:
        """Record that the setting at ``path`` (e.g. ``encoder_kwargs.rgb.core_kwargs.x``)
        was dropped, and why."""
        self.entries.append(f"{path} ({reason})")

    def reproduce(self, path: str, quirk: str) -> None:
        """Record that the component whose kwargs sit at ``path`` got a robomimic behaviour
        (``quirk`` names the option and what it does)."""
        self.quirks.append(f"{path}: {quirk}")

    def warn(self, what: str, stacklevel: int = 3) -> None:
        """Emit one :class:`RobomimicMigrationWarning` listing every dropped setting and every
        reproduced robomimic behaviour, if there are any."""
        parts = []
        if self.entries:
            listing = "\n  ".join(self.entries)
            parts.append(
                f"{what}: dropped {len(self.entries)} setting(s) that robomimic silently "
                f"ignores, so the network matches what robomimic built:\n  {listing}\n"
                f"Remove them from the config (or fix their spelling) to silence this warning."
            )
        if self.quirks:
            listing = "\n  ".join(self.quirks)
            parts.append(
                f"{what}: reproduced {len(self.quirks)} robomimic behaviour(s) that obsnets' "
                f"components do not have by default, so the network computes and draws random "
                f"numbers as robomimic's did:\n  {listing}\n"
                f"Build with obsnets.build_component instead for obsnets' own behaviour."
            )
        if parts:
            warnings.warn(RobomimicMigrationWarning("\n".join(parts)), stacklevel=stacklevel)


def _plain(name: str | type) -> str:
    """The registry name of a class name or class (obsnets also accepts classes)."""
    return name.__name__ if isinstance(name, type) else obsnets_name(name)[0]


def _parameters(name: str | type, kind: str) -> tuple[str, ...] | None:
    """The parameter names robomimic filters ``name``'s kwargs against (None: unknown class)."""
    if _plain(name) in ROBOMIMIC_PARAMETERS:
        return ROBOMIMIC_PARAMETERS[_plain(name)]
    try:
        cls = name if isinstance(name, type) else resolve_robomimic_class(name, kind)
    except ObsnetsError:
        return None  # building will raise the registry's error, naming the missing plugin
    params = constructor_parameters(cls).values()
    return tuple(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _filter(
    name: str | type,
    kind: str,
    kwargs: Mapping[str, Any],
    path: str,
    log: DroppedKwargs,
    injected: tuple[str, ...] = (),
) -> OrderedDict[str, Any]:
    """Keep the kwargs robomimic keeps for class ``name``; record the others in ``log``."""
    params = _parameters(name, kind)
    kept: OrderedDict[str, Any] = OrderedDict()
    for key, value in kwargs.items():
        if key in injected:
            log.drop(f"{path}.{key}", "robomimic overwrites it with the value it computes")
        elif params is not None and key not in params:
            log.drop(f"{path}.{key}", f"not a parameter of {_plain(name)}")
        else:
            kept[key] = value
    return kept


def _as_dict(value: Any, path: str) -> OrderedDict[str, Any]:
    if value is None:
        return OrderedDict()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path} must be a mapping of keyword arguments; got {value!r}.")
    return OrderedDict(value)


def _migrate_visual_core(
    core: str | type, kwargs: OrderedDict[str, Any], path: str, log: DroppedKwargs
) -> OrderedDict[str, Any]:
    """Filter a VisualCore's backbone_kwargs and pool_kwargs as robomimic's VisualCore does."""
    default_backbone, default_pool = _VISUAL_CORE_DEFAULTS[_plain(core)]
    backbone = kwargs.get("backbone_class", default_backbone)
    if "backbone_kwargs" in kwargs:
        kwargs["backbone_kwargs"] = _filter(
            backbone,
            "backbone",
            _as_dict(kwargs["backbone_kwargs"], f"{path}.backbone_kwargs"),
            f"{path}.backbone_kwargs",
            log,
            injected=("input_channel",),
        )
    pool = kwargs.get("pool_class", default_pool)
    if "pool_kwargs" in kwargs and pool is not None:
        kwargs["pool_kwargs"] = _filter(
            pool,
            "pool",
            _as_dict(kwargs["pool_kwargs"], f"{path}.pool_kwargs"),
            f"{path}.pool_kwargs",
            log,
            injected=("input_shape",),
        )
    return _reproduce_pool_quirks(pool, kwargs, path, log)


def _reproduce_pool_quirks(
    pool: Any, kwargs: OrderedDict[str, Any], path: str, log: DroppedKwargs
) -> OrderedDict[str, Any]:
    """Switch on robomimic's behaviours in a core's pool (its pool_kwargs gain the options)."""
    if _is_null(pool):
        return kwargs
    pool_kwargs = _as_dict(kwargs.get("pool_kwargs"), f"{path}.pool_kwargs")
    migrated = reproduce_quirks(pool, "pool", pool_kwargs, f"{path}.pool_kwargs", log)
    if migrated != pool_kwargs:
        kwargs["pool_kwargs"] = migrated
    return kwargs


def _migrate_scan_core(
    kwargs: OrderedDict[str, Any], path: str, log: DroppedKwargs
) -> OrderedDict[str, Any]:
    """robomimic's ScanCore does not filter its pool_kwargs; only its behaviours are added."""
    return _reproduce_pool_quirks(kwargs.get("pool_class"), kwargs, path, log)


def _migrate_randomizers(spec: Mapping[str, Any], path: str, log: DroppedKwargs) -> tuple[Any, Any]:
    classes = spec.get("obs_randomizer_class")
    kwargs = spec.get("obs_randomizer_kwargs")
    as_list = isinstance(classes, (list, tuple))
    class_list: list[Any] = list(classes) if isinstance(classes, (list, tuple)) else [classes]
    kwargs_list: list[Any] = list(kwargs) if isinstance(kwargs, (list, tuple)) else [kwargs]
    for extra in class_list[len(kwargs_list) :]:
        if not _is_null(extra):
            log.drop(
                f"{path}.obs_randomizer_class: {extra}",
                "robomimic zips classes with obs_randomizer_kwargs, which has fewer entries",
            )
    pairs: list[tuple[Any, Any]] = []
    for i, (cls, kw) in enumerate(zip(class_list, kwargs_list)):
        where = f"{path}.obs_randomizer_kwargs" + (f"[{i}]" if as_list else "")
        if _is_null(cls):
            pairs.append((None, OrderedDict()))  # a disabled randomizer's settings are unused
        else:
            kept = _filter(
                cls, "randomizer", _as_dict(kw, where), where, log, injected=("input_shape",)
            )
            pairs.append((cls, reproduce_quirks(cls, "randomizer", kept, where, log)))
    if not as_list:
        return pairs[0] if pairs else (None, OrderedDict())
    return [c for c, _ in pairs], [k for _, k in pairs]


def migrate_encoder_kwargs(
    encoder_kwargs: Mapping[str, Any], log: DroppedKwargs, path: str = "encoder_kwargs"
) -> OrderedDict[str, Any]:
    """Apply robomimic's ``obs_encoder_factory`` filtering to per-modality encoder settings.

    Args:
        encoder_kwargs: modality -> ``{core_class, core_kwargs, obs_randomizer_class,
            obs_randomizer_kwargs}`` (robomimic's ``config.observation.encoder`` layout).
        log: Receives every dropped setting.
        path: Where ``encoder_kwargs`` sits, for the warning.

    Returns:
        A new mapping with the four keys for every modality; nothing in the input is modified.
    """
    migrated: OrderedDict[str, Any] = OrderedDict()
    for modality, spec in encoder_kwargs.items():
        where = f"{path}.{modality}"
        spec = _as_dict(spec, where)
        for key in spec:
            if key not in ENCODER_SPEC_KEYS:
                log.drop(f"{where}.{key}", "robomimic reads only " + ", ".join(ENCODER_SPEC_KEYS))
        core: Any = spec.get("core_class")
        core_kwargs = _as_dict(spec.get("core_kwargs"), f"{where}.core_kwargs")
        if _is_null(core):
            core, core_kwargs = None, OrderedDict()  # no core: robomimic never reads its kwargs
        else:
            core_kwargs = _filter(
                core,
                "encoder_core",
                core_kwargs,
                f"{where}.core_kwargs",
                log,
                injected=("input_shape",),
            )
            if _plain(core) in _VISUAL_CORE_DEFAULTS:
                core_kwargs = _migrate_visual_core(core, core_kwargs, f"{where}.core_kwargs", log)
            elif _plain(core) == "ScanCore":
                core_kwargs = _migrate_scan_core(core_kwargs, f"{where}.core_kwargs", log)
        randomizer, randomizer_kwargs = _migrate_randomizers(spec, where, log)
        migrated[modality] = OrderedDict(
            core_class=core,
            core_kwargs=core_kwargs,
            obs_randomizer_class=randomizer,
            obs_randomizer_kwargs=randomizer_kwargs,
        )
    return migrated


def migrate_constructor_kwargs(
    name: str, kwargs: Mapping[str, Any], log: DroppedKwargs
) -> OrderedDict[str, Any]:
    """Apply the filtering robomimic's callable ``name`` performs on its nested kwargs.

    The top-level kwargs are not filtered (robomimic passes them to the constructor, which
    raises on unknown ones, as obsnets does). Filtered are: ``encoder_kwargs`` of any network
    or of ``obs_encoder_factory``, and ``backbone_kwargs`` / ``pool_kwargs`` of a VisualCore.
    Every randomizer and pool, nested or built on its own, gets the options that reproduce
    robomimic's behaviour (:data:`obsnets_robomimic.quirks.ROBOMIMIC_QUIRKS`), each logged.

    Args:
        name: robomimic callable name (``"VisualCore"``, ``"MIMO_MLP"``,
            ``"obs_encoder_factory"``).
        kwargs: Decoded constructor kwargs (see
            :func:`obsnets_robomimic.class_names.decode_kwargs`).
        log: Receives every dropped setting.
    """
    migrated = OrderedDict(kwargs)
    if _plain(name) in _VISUAL_CORE_DEFAULTS:
        migrated = _migrate_visual_core(name, migrated, name, log)
    elif _plain(name) == "ScanCore":
        migrated = _migrate_scan_core(migrated, name, log)
    else:
        migrated = reproduce_quirks(name, None, migrated, name, log, standalone=True)
    if isinstance(migrated.get("encoder_kwargs"), Mapping):
        migrated["encoder_kwargs"] = migrate_encoder_kwargs(migrated["encoder_kwargs"], log)
    return migrated
