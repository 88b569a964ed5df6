"""robomimic class names and class references, translated to obsnets without ``eval``.

robomimic names its classes in two ways that reach obsnets: a class *name* in a config or a
fixture (``"VisualCore"``, ``"robomimic.models.obs_core.CropRandomizer"``), resolved here
through the obsnets registry; and a ``torch.nn`` class *reference* in constructor kwargs
(``"torch.nn.ReLU"``), decoded here through an allowlist: only ``torch.nn`` attributes that are
``nn.Module`` subclasses. Nothing is evaluated or imported by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from torch import nn

from obsnets.errors import ConfigError, suggestion
from obsnets.registry import resolve_component

__all__ = [
    "ROBOMIMIC_CLASSES",
    "TORCH_NN_PREFIX",
    "decode_kwargs",
    "obsnets_name",
    "resolve_robomimic_class",
    "torch_nn_class",
]

TORCH_NN_PREFIX = "torch.nn."

ROBOMIMIC_CLASSES: dict[str, tuple[str, str]] = {
    # robomimic class name: (obsnets registry name, kind). The names are kept on purpose, so
    # the table mostly records the kind: robomimic made SpatialSoftmax a backbone, obsnets a pool.
    "VisualCore": ("VisualCore", "encoder_core"),
    "VisualCoreLanguageConditioned": ("VisualCoreLanguageConditioned", "encoder_core"),
    "ScanCore": ("ScanCore", "encoder_core"),
    "ResNet18Conv": ("ResNet18Conv", "backbone"),
    "ResNet50Conv": ("ResNet50Conv", "backbone"),
    "ResNet18ConvFiLM": ("ResNet18ConvFiLM", "backbone"),
    "FiLMLayer": ("FiLMLayer", "backbone"),
    "R3MConv": ("R3MConv", "backbone"),
    "MVPConv": ("MVPConv", "backbone"),
    "ShallowConv": ("ShallowConv", "backbone"),
    "Conv1dBase": ("Conv1dBase", "backbone"),
    "SpatialSoftmax": ("SpatialSoftmax", "pool"),
    "SpatialMeanPool": ("SpatialMeanPool", "pool"),
    "FeatureAggregator": ("FeatureAggregator", "pool"),
    "CropRandomizer": ("CropRandomizer", "randomizer"),
    "ColorRandomizer": ("ColorRandomizer", "randomizer"),
    "GaussianNoiseRandomizer": ("GaussianNoiseRandomizer", "randomizer"),
    "ObservationEncoder": ("ObservationEncoder", "network"),
    "ObservationDecoder": ("ObservationDecoder", "network"),
    "ObservationGroupEncoder": ("ObservationGroupEncoder", "network"),
    "MIMO_MLP": ("MIMO_MLP", "network"),
    "RNN_MIMO_MLP": ("RNN_MIMO_MLP", "network"),
    "MIMO_Transformer": ("MIMO_Transformer", "network"),
    "ActorNetwork": ("ActorNetwork", "network"),
    "PerturbationActorNetwork": ("PerturbationActorNetwork", "network"),
    "GaussianActorNetwork": ("GaussianActorNetwork", "network"),
    "GMMActorNetwork": ("GMMActorNetwork", "network"),
    "RNNActorNetwork": ("RNNActorNetwork", "network"),
    "RNNGMMActorNetwork": ("RNNGMMActorNetwork", "network"),
    "TransformerActorNetwork": ("TransformerActorNetwork", "network"),
    "TransformerGMMActorNetwork": ("TransformerGMMActorNetwork", "network"),
    "ConditionalUnet1D": ("ConditionalUnet1D", "network"),
    "VAEActor": ("VAEActor", "network"),
    "ValueNetwork": ("ValueNetwork", "network"),
    "ActionValueNetwork": ("ActionValueNetwork", "network"),
    "DistributionalActionValueNetwork": ("DistributionalActionValueNetwork", "network"),
    "VAE": ("VAE", "network"),
    "Prior": ("Prior", "prior"),
    "GaussianPrior": ("GaussianPrior", "prior"),
    "CategoricalPrior": ("CategoricalPrior", "prior"),
}


def obsnets_name(name: str) -> tuple[str, str | None]:
    """Translate a robomimic class name into an obsnets registry name and kind.

    Args:
        name: A robomimic class name (``"SpatialSoftmax"``), its dotted path
            (``"robomimic.models.obs_core.CropRandomizer"``, also the pre-0.3 location
            ``robomimic.models.base_nets``), or any obsnets name (plain or ``"pkg.mod:Class"``),
            which is returned unchanged.

    Returns:
        ``(registry name, kind or None)``; the kind is known for robomimic's own classes.
    """
    if ":" not in name and name.startswith("robomimic."):
        name = name.rsplit(".", 1)[-1]
    if name in ROBOMIMIC_CLASSES:
        return ROBOMIMIC_CLASSES[name]
    return name, None


def resolve_robomimic_class(name: str, kind: str | None = None) -> type:
    """Return the obsnets class standing for a robomimic class name (see :func:`obsnets_name`).

    Raises:
        UnknownComponentError: no installed plugin provides it; the message names the
            ``pip install`` that would.
    """
    plain, known_kind = obsnets_name(name)
    return resolve_component(plain, kind or known_kind)


def torch_nn_class(reference: str, *, what: str) -> type[nn.Module]:
    """Decode a ``torch.nn`` class reference such as ``"torch.nn.ReLU"``.

    Only attributes of ``torch.nn`` that are ``nn.Module`` subclasses are accepted; the
    fully qualified spelling ``"torch.nn.modules.activation.ReLU"`` is accepted when it names
    the same class.

    Args:
        reference: The dotted class path.
        what: Where the reference was found, for messages (e.g. ``"MIMO_MLP activation"``).

    Raises:
        ConfigError: the string is not a ``torch.nn`` module class (close matches suggested).
    """
    if not reference.startswith(TORCH_NN_PREFIX):
        raise ConfigError(f"{what}: {reference!r} is not a torch.nn class reference.")
    attribute = reference.rsplit(".", 1)[-1]
    found: Any = getattr(nn, attribute, None) if attribute.isidentifier() else None
    valid = isinstance(found, type) and issubclass(found, nn.Module)
    if valid and reference != TORCH_NN_PREFIX + attribute:
        valid = reference == f"{found.__module__}.{attribute}"
    if not valid:
        known = [n for n, o in vars(nn).items() if isinstance(o, type) and issubclass(o, nn.Module)]
        raise ConfigError(
            f"{what}: {reference!r} is not a torch.nn module class.{suggestion(attribute, known)}"
        )
    return found  # type: ignore[no-any-return]


def decode_kwargs(value: Any, *, path: str = "kwargs") -> Any:
    """Decode constructor kwargs from their JSON form (the parity fixtures' encoding).

    Mappings become ``OrderedDict`` in their given order (robomimic concatenates features and
    creates output heads in mapping order); strings starting with ``"torch.nn."`` become the
    ``torch.nn`` class they name; lists stay lists; everything else is kept as is. Already
    decoded values (classes, tensors, ...) pass through, so decoding twice is harmless.

    Args:
        value: The kwargs (or any value inside them).
        path: Where ``value`` sits, for messages.
    """
    if isinstance(value, Mapping):
        return OrderedDict((k, decode_kwargs(v, path=f"{path}.{k}")) for k, v in value.items())
    if isinstance(value, list):
        return [decode_kwargs(v, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith(TORCH_NN_PREFIX):
        return torch_nn_class(value, what=path)
    return value
