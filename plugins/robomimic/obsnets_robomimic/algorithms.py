"""robomimic algorithms: which networks each builds from ``config.algo``, and how it acts.

robomimic picks an algorithm class from ``algo_name`` and, for ``"bc"``, from the flags in
``config.algo`` (gaussian / gmm / vae / rnn / transformer). Each supported class is an
:class:`AlgorithmSpec` in one registry: the networks it builds (robomimic class name and the
kwargs robomimic passes, named as robomimic names them in ``model["nets"]``) and the
:class:`~obsnets_robomimic.rollout_actions.ActionSource` its ``get_action`` amounts to.

Another plugin adds an algorithm (say, ``BC_Transformer_GMM`` once a transformer family
exists) by implementing the ``obsnets_robomimic_register_algorithms`` hook (see
:mod:`obsnets_robomimic.hookspecs`) or calling :func:`register_algorithm`; the loader needs no
change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from obsnets.errors import ConfigError, ObsnetsError
from obsnets_robomimic.rollout_actions import ActionSource, FeedForwardActions, RecurrentActions

__all__ = [
    "AlgorithmInputs",
    "AlgorithmSpec",
    "NetworkSpec",
    "UnsupportedAlgorithmError",
    "algo_section",
    "algo_setting",
    "algorithm_class_name",
    "gmm_kwargs",
    "list_algorithms",
    "register_algorithm",
    "resolve_algorithm",
    "section_enabled",
]

MISSING_FAMILIES: dict[str, tuple[str, str]] = {
    # robomimic class: (network family obsnets lacks, the plugin that is to provide it)
    "BC_Transformer": ("transformer (TransformerActorNetwork)", "obsnets-transformer"),
    "BC_Transformer_GMM": ("transformer (TransformerGMMActorNetwork)", "obsnets-transformer"),
    "DiffusionPolicyUNet": ("diffusion (ConditionalUnet1D)", "obsnets-diffusion"),
}

_SIMPLE_ALGO_CLASSES = {
    "bcq": "BCQ",
    "cql": "CQL",
    "iql": "IQL",
    "td3_bc": "TD3_BC",
    "gl": "GL",
    "hbc": "HBC",
    "iris": "IRIS",
    "diffusion_policy": "DiffusionPolicyUNet",
}


class UnsupportedAlgorithmError(ObsnetsError, LookupError):
    """A checkpoint's algorithm whose networks no installed obsnets plugin provides."""


@dataclass(frozen=True)
class AlgorithmInputs:
    """What robomimic's ``Algo.__init__`` derives before building networks.

    Attributes:
        algo_config: ``config["algo"]``.
        config: The whole experiment config.
        obs_shapes: Observation key -> shape, in ``shape_metadata["all_shapes"]`` order.
        goal_shapes: Goal key -> shape (empty when not goal-conditioned).
        ac_dim: Action dimension.
        encoder_kwargs: Per-modality encoder settings (``config.observation.encoder``).
        device: Where the networks will run (robomimic's ``VAEActor`` takes it).
        weights: The state_dict the networks will be loaded from (``model["nets"]`` or
            ``model["ema"]``, keys prefixed by network name), for algorithms whose
            architecture robomimic did not record in the config.
    """

    algo_config: Mapping[str, Any]
    config: Mapping[str, Any]
    obs_shapes: OrderedDict[str, list[int]]
    goal_shapes: OrderedDict[str, list[int]]
    ac_dim: int
    encoder_kwargs: Mapping[str, Any]
    device: str = "cpu"
    weights: Mapping[str, torch.Tensor] = field(default_factory=dict)

    def common_kwargs(self) -> dict[str, Any]:
        """``obs_shapes``, ``goal_shapes``, ``ac_dim``, ``encoder_kwargs``: every policy's."""
        return {
            "obs_shapes": self.obs_shapes,
            "goal_shapes": self.goal_shapes,
            "ac_dim": self.ac_dim,
            "encoder_kwargs": self.encoder_kwargs,
        }


@dataclass(frozen=True)
class NetworkSpec:
    """One network of an algorithm: the robomimic class and its constructor kwargs.

    Attributes:
        robomimic_class: robomimic's class name, or the obsnets component that plays its
            part.
        kwargs: Constructor kwargs.
        module: The submodule of the built network that robomimic's entries
            ``<name>.*`` fill (``"nets"``: ``<name>.x`` loads into ``nets.x``); ``""`` for the
            whole network.
    """

    robomimic_class: str
    kwargs: dict[str, Any]
    module: str = ""


@dataclass(frozen=True)
class AlgorithmSpec:
    """A robomimic algorithm class obsnets can rebuild.

    Attributes:
        name: robomimic's class name (``"BC_RNN_GMM"``).
        networks: Inputs -> ``{network name in model["nets"]: NetworkSpec}``.
        action_source: (built networks, algo config) -> the algorithm's ``get_action``.
        frame_stacked: Whether observations carry ``train.frame_stack`` frames ``[T, ...]``.
        weights: Algo config -> the ``model`` entry the networks act with: ``"nets"`` (the
            trained weights), or ``"ema"`` (the averaged copy robomimic's
            ``DiffusionPolicyUNet`` acts with when ``algo.ema.enabled``).
    """

    name: str
    networks: Callable[[AlgorithmInputs], dict[str, NetworkSpec]]
    action_source: Callable[[Mapping[str, nn.Module], Mapping[str, Any]], ActionSource]
    frame_stacked: bool = field(default=False)
    weights: Callable[[Mapping[str, Any]], str] = field(default=lambda _: "nets")


def algo_section(
    algo_config: Mapping[str, Any], name: str, keys: Iterable[str] = ()
) -> Mapping[str, Any]:
    """``config.algo.<name>`` of a checkpoint, checked to hold ``keys``.

    For the algorithms registered by other plugins too (their settings sections).

    Args:
        algo_config: ``config["algo"]``.
        name: The section, e.g. ``"gmm"`` or ``"horizon"``; a dotted name reaches a nested
            one (``"vae.prior"``).
        keys: Settings the algorithm reads from it.

    Raises:
        ConfigError: the section is absent, or lacks some of ``keys`` (named).
    """
    section: Any = algo_config
    for part in name.split("."):
        section = section.get(part) if isinstance(section, Mapping) else None
    if not isinstance(section, Mapping):
        raise ConfigError(f"The checkpoint's config.algo has no {name!r} section.")
    _check_settings(section, keys, f"config.algo.{name}")
    return section


def algo_setting(algo_config: Mapping[str, Any], key: str) -> Any:
    """``config.algo.<key>`` of a checkpoint, a setting outside any section.

    Raises:
        ConfigError: the setting is absent.
    """
    _check_settings(algo_config, (key,), "config.algo")
    return algo_config[key]


def _check_settings(section: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    missing = [key for key in keys if key not in section]
    if missing:
        raise ConfigError(
            f"The checkpoint's {where} lacks {missing}, which robomimic reads for this "
            f"algorithm; the file was not written by a robomimic version obsnets knows."
        )


def section_enabled(algo_config: Mapping[str, Any], name: str) -> bool:
    """Whether ``config.algo.<name>.enabled`` is set (an absent section is not enabled)."""
    section = algo_config.get(name)
    return isinstance(section, Mapping) and bool(section.get("enabled", False))


_GMM_SETTINGS = ("num_modes", "min_std", "std_activation", "low_noise_eval")


def gmm_kwargs(algo_config: Mapping[str, Any]) -> dict[str, Any]:
    """The GMM head's constructor kwargs from ``config.algo.gmm`` (same names).

    For every GMM policy (``BC_GMM``, ``BC_RNN_GMM``, and other plugins' such as
    ``BC_Transformer_GMM``).

    Args:
        algo_config: ``config["algo"]``.

    Returns:
        ``{"num_modes", "min_std", "std_activation", "low_noise_eval"}`` -> their values.

    Raises:
        ConfigError: no ``gmm`` section, or one lacking some of these settings (named).
    """
    gmm = algo_section(algo_config, "gmm", _GMM_SETTINGS)
    return {key: gmm[key] for key in _GMM_SETTINGS}


_RNN_SETTINGS = {
    "rnn_hidden_dim": "hidden_dim",
    "rnn_num_layers": "num_layers",
    "rnn_type": "rnn_type",
}
_VAE_SETTINGS = {
    key: key
    for key in (
        "encoder_layer_dims",
        "decoder_layer_dims",
        "latent_dim",
        "latent_clip",
        "prior_layer_dims",
    )
}
_VAE_DECODER_SETTINGS = {
    "decoder_is_conditioned": "is_conditioned",
    "decoder_reconstruction_sum_across_elements": "reconstruction_sum_across_elements",
}
_VAE_PRIOR_SETTINGS = {
    f"prior_{key}": key
    for key in (
        "learn",
        "is_conditioned",
        "use_gmm",
        "gmm_num_modes",
        "gmm_learn_weights",
        "use_categorical",
        "categorical_dim",
        "categorical_gumbel_softmax_hard",
    )
}


def _renamed(algo_config: Mapping[str, Any], name: str, keys: Mapping[str, str]) -> dict[str, Any]:
    """Constructor kwarg -> value, for ``keys`` (kwarg -> setting) of ``config.algo.<name>``."""
    section = algo_section(algo_config, name, keys.values())
    return {kwarg: section[key] for kwarg, key in keys.items()}


def _rnn_kwargs(algo_config: Mapping[str, Any]) -> dict[str, Any]:
    # robomimic's BaseNets.rnn_args_from_config
    rnn_kwargs = dict(algo_section(algo_config, "rnn").get("kwargs") or {})
    return _renamed(algo_config, "rnn", _RNN_SETTINGS) | {"rnn_kwargs": rnn_kwargs}


def _vae_kwargs(algo_config: Mapping[str, Any]) -> dict[str, Any]:
    # robomimic's VAENets.vae_args_from_config
    return (
        _renamed(algo_config, "vae", _VAE_SETTINGS)
        | _renamed(algo_config, "vae.decoder", _VAE_DECODER_SETTINGS)
        | _renamed(algo_config, "vae.prior", _VAE_PRIOR_SETTINGS)
    )


def _actor_layer_dims(inputs: AlgorithmInputs) -> dict[str, Any]:
    return {"mlp_layer_dims": algo_setting(inputs.algo_config, "actor_layer_dims")}


def _bc(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = inputs.common_kwargs() | _actor_layer_dims(inputs)
    return {"policy": NetworkSpec("ActorNetwork", kwargs)}


def _bc_gaussian(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    settings = ("fixed_std", "init_std", "min_std", "std_activation", "low_noise_eval")
    gaussian = algo_section(inputs.algo_config, "gaussian", settings)
    kwargs = (
        inputs.common_kwargs()
        | _actor_layer_dims(inputs)
        | {
            "fixed_std": gaussian["fixed_std"],
            "init_std": gaussian["init_std"],
            "std_limits": [gaussian["min_std"], 7.5],
            "std_activation": gaussian["std_activation"],
            "low_noise_eval": gaussian["low_noise_eval"],
        }
    )
    return {"policy": NetworkSpec("GaussianActorNetwork", kwargs)}


def _bc_gmm(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = inputs.common_kwargs() | _actor_layer_dims(inputs) | gmm_kwargs(inputs.algo_config)
    return {"policy": NetworkSpec("GMMActorNetwork", kwargs)}


def _bc_vae(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = inputs.common_kwargs() | {"device": inputs.device} | _vae_kwargs(inputs.algo_config)
    return {"policy": NetworkSpec("VAEActor", kwargs)}


def _bc_rnn(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = inputs.common_kwargs() | _actor_layer_dims(inputs) | _rnn_kwargs(inputs.algo_config)
    return {"policy": NetworkSpec("RNNActorNetwork", kwargs)}


def _bc_rnn_gmm(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = (
        inputs.common_kwargs()
        | _actor_layer_dims(inputs)
        | _rnn_kwargs(inputs.algo_config)
        | gmm_kwargs(inputs.algo_config)
    )
    return {"policy": NetworkSpec("RNNGMMActorNetwork", kwargs)}


def _feed_forward_policy(
    networks: Mapping[str, nn.Module], algo_config: Mapping[str, Any]
) -> ActionSource:
    return FeedForwardActions(networks["policy"])


def _recurrent_policy(
    networks: Mapping[str, nn.Module], algo_config: Mapping[str, Any]
) -> ActionSource:
    rnn = algo_section(algo_config, "rnn")
    horizon = rnn.get("horizon")
    if not isinstance(horizon, int) or horizon < 1:
        raise ConfigError(f"config.algo.rnn.horizon must be a positive integer; got {horizon!r}.")
    return RecurrentActions(networks["policy"], horizon, bool(rnn.get("open_loop", False)))


_ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec("BC", _bc, _feed_forward_policy),
        AlgorithmSpec("BC_Gaussian", _bc_gaussian, _feed_forward_policy),
        AlgorithmSpec("BC_GMM", _bc_gmm, _feed_forward_policy),
        AlgorithmSpec("BC_VAE", _bc_vae, _feed_forward_policy),
        AlgorithmSpec("BC_RNN", _bc_rnn, _recurrent_policy),
        AlgorithmSpec("BC_RNN_GMM", _bc_rnn_gmm, _recurrent_policy),
    )
}
_discovered = False


def register_algorithm(spec: AlgorithmSpec, *, replace: bool = False) -> None:
    """Make a robomimic algorithm class loadable.

    Args:
        spec: The algorithm; ``spec.name`` is robomimic's class name.
        replace: Allow replacing an algorithm that is already registered.

    Raises:
        ConfigError: ``spec.name`` is registered already and ``replace`` is false.
    """
    if spec.name in _ALGORITHMS and _ALGORITHMS[spec.name] != spec and not replace:
        raise ConfigError(
            f"robomimic algorithm {spec.name!r} is registered already; pass replace=True to "
            f"override it."
        )
    _ALGORITHMS[spec.name] = spec


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    from obsnets.plugins import get_plugin_manager
    from obsnets_robomimic.hookspecs import add_hookspecs

    manager = get_plugin_manager()
    add_hookspecs(manager)
    manager.hook.obsnets_robomimic_register_algorithms(register=register_algorithm)


def list_algorithms() -> list[str]:
    """robomimic algorithm classes that can be loaded, sorted."""
    _discover()
    return sorted(_ALGORITHMS)


def algorithm_class_name(algo_name: str, algo_config: Mapping[str, Any]) -> str:
    """The robomimic algorithm class a checkpoint's ``algo_name`` and ``config.algo`` select.

    For ``"bc"`` this follows robomimic's ``bc.algo_config_to_class``: gaussian, gmm or vae
    (at most one), combined with rnn or transformer.

    Raises:
        ConfigError: a combination robomimic refuses (gaussian or vae with rnn/transformer).
    """
    if algo_name != "bc":
        return _SIMPLE_ALGO_CLASSES.get(algo_name, algo_name)
    rnn, transformer = (
        section_enabled(algo_config, "rnn"),
        section_enabled(algo_config, "transformer"),
    )
    sequence = "_RNN" if rnn else "_Transformer" if transformer else ""
    for head, suffix in (("gaussian", "_Gaussian"), ("vae", "_VAE")):
        if section_enabled(algo_config, head):
            if sequence:
                raise ConfigError(
                    f"config.algo enables {head} together with {sequence[1:].lower()}; "
                    f"robomimic has no such BC variant."
                )
            return "BC" + suffix
    return "BC" + sequence + ("_GMM" if section_enabled(algo_config, "gmm") else "")


def resolve_algorithm(algo_name: str, algo_config: Mapping[str, Any]) -> AlgorithmSpec:
    """The :class:`AlgorithmSpec` for a checkpoint's ``algo_name`` and ``config.algo``.

    Raises:
        UnsupportedAlgorithmError: no installed plugin supports the algorithm; the message
            names it and the network family (and plugin) it needs.
    """
    class_name = algorithm_class_name(algo_name, algo_config)
    _discover()
    if class_name in _ALGORITHMS:
        return _ALGORITHMS[class_name]
    supported = ", ".join(sorted(_ALGORITHMS))
    if class_name in MISSING_FAMILIES:
        family, plugin = MISSING_FAMILIES[class_name]
        raise UnsupportedAlgorithmError(
            f"robomimic algorithm {class_name} (algo_name {algo_name!r}) needs the {family} "
            f"network family, which no installed obsnets plugin provides; it is to come with "
            f"{plugin}. Supported algorithms: {supported}."
        )
    raise UnsupportedAlgorithmError(
        f"robomimic algorithm {class_name} (algo_name {algo_name!r}) is not supported by "
        f"obsnets-robomimic yet. Supported algorithms: {supported}."
    )
