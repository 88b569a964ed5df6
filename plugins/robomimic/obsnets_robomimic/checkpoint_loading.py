"""``load_checkpoint``: the networks a robomimic checkpoint file holds, rebuilt in obsnets.

robomimic's ``policy_from_checkpoint`` rebuilds the algorithm from the stored config and
``shape_metadata``, then loads ``model["nets"]`` strictly. This does the same without robomimic:
the algorithm class is chosen as robomimic chooses it, each of its networks is built with
:func:`~obsnets_robomimic.build_network` from the kwargs robomimic passes, and its weights are
loaded with :func:`~obsnets_robomimic.load_robomimic_state_dict` under its name's prefix, from
the ``model`` entry the algorithm acts with (``nets``, or robomimic's EMA copy ``ema``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from obsnets.errors import ConfigError
from obsnets_robomimic.algorithms import (
    AlgorithmInputs,
    AlgorithmSpec,
    NetworkSpec,
    algorithm_class_name,
    resolve_algorithm,
)
from obsnets_robomimic.checkpoint_file import (
    CheckpointFile,
    CheckpointFormatError,
    read_checkpoint_file,
)
from obsnets_robomimic.config_migration import (
    encoder_kwargs_from_config,
    obs_modalities_from_config,
    observation_section,
)
from obsnets_robomimic.network_building import build_network
from obsnets_robomimic.state_dict_loading import StateDictMismatchError, load_robomimic_state_dict

__all__ = ["NormalizationStats", "RobomimicCheckpoint", "load_checkpoint"]

NormalizationStats = dict[str, dict[str, torch.Tensor]]
"""key -> ``{"offset": tensor, "scale": tensor}``; normalize ``(x - offset) / scale``."""


@dataclass(frozen=True)
class RobomimicCheckpoint:
    """A robomimic checkpoint rebuilt in obsnets (see :func:`load_checkpoint`).

    Attributes:
        path: The file it was read from.
        algo_name: robomimic's ``algo_name`` (``"bc"``, ...).
        algo_class: The robomimic algorithm class it selects (``"BC_RNN_GMM"``, ...).
        networks: The algorithm's networks under robomimic's names (``"policy"``, ...), in
            eval mode, weights loaded strictly.
        config: The parsed robomimic experiment config.
        shape_metadata: ``ac_dim``, ``all_shapes`` (key -> shape, rgb ``(C, H, W)``),
            ``all_obs_keys``, ``use_images``, ``use_depths``.
        env_metadata: The stored environment description.
        obs_normalization_stats: Per observation key, float64 ``offset`` / ``scale`` of shape
            ``(1, *shape)``, or ``None`` when the run did not normalize observations.
        action_normalization_stats: The same per action key (``"actions"``, ...), or ``None``
            (checkpoints older than robomimic 0.4).
        variable_state: Training bookkeeping (``epoch``, ``best_return``, ...), or ``None``.
        spec: How the algorithm is rebuilt and acts.
        weights: The ``model`` entry the networks were loaded from: ``"nets"``, or ``"ema"``
            (the averaged copy robomimic acts with, e.g. ``DiffusionPolicyUNet`` with EMA).
    """

    path: Path
    algo_name: str
    algo_class: str
    networks: dict[str, nn.Module]
    config: dict[str, Any]
    shape_metadata: dict[str, Any]
    env_metadata: dict[str, Any]
    obs_normalization_stats: NormalizationStats | None
    action_normalization_stats: NormalizationStats | None
    variable_state: dict[str, Any] | None
    spec: AlgorithmSpec
    weights: str = "nets"


def _stats_tensors(stats: Mapping[str, Any] | None, where: str) -> NormalizationStats | None:
    if stats is None:
        return None
    tensors: NormalizationStats = {}
    for key, entry in stats.items():
        try:
            tensors[key] = {
                part: torch.as_tensor(entry[part], dtype=torch.float64)
                for part in ("offset", "scale")
            }
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}[{key!r}] is not a numeric array: {exc}.") from exc
    return tensors


def _group_shapes(
    config: Mapping[str, Any], all_shapes: Mapping[str, list[int]], group: str
) -> OrderedDict[str, list[int]]:
    # robomimic's Algo._create_shapes: keys of the group, in all_shapes order
    modalities = observation_section(config)["modalities"].get(group) or {}
    keys = {key for keys in modalities.values() for key in keys or []}
    missing = sorted(keys - set(all_shapes))
    if missing:
        raise ConfigError(
            f"config.observation.modalities.{group} lists {missing}, which "
            f"shape_metadata['all_shapes'] does not describe."
        )
    return OrderedDict((k, list(shape)) for k, shape in all_shapes.items() if k in keys)


def _algorithm_inputs(
    file: CheckpointFile, device: str, weights: Mapping[str, torch.Tensor]
) -> AlgorithmInputs:
    algo_config = file.config.get("algo")
    if not isinstance(algo_config, Mapping):
        raise ConfigError(f"The config in {str(file.path)!r} has no 'algo' section.")
    shapes = file.shape_metadata["all_shapes"]
    # Settings of modalities without observation keys build nothing; leaving them out keeps
    # the migration warning about what the network really holds.
    used = {modality for modality, keys in obs_modalities_from_config(file.config).items() if keys}
    encoder_kwargs = {
        modality: settings
        for modality, settings in encoder_kwargs_from_config(file.config).items()
        if modality in used
    }
    return AlgorithmInputs(
        algo_config=algo_config,
        config=file.config,
        obs_shapes=_group_shapes(file.config, shapes, "obs"),
        goal_shapes=_group_shapes(file.config, shapes, "goal"),
        ac_dim=file.shape_metadata["ac_dim"],
        encoder_kwargs=encoder_kwargs,
        device=device,
        weights=weights,
    )


def _weights(file: CheckpointFile, entry: str) -> dict[str, torch.Tensor]:
    if entry == "nets":
        return file.nets
    if entry == "ema" and file.ema is not None:
        return file.ema
    if entry == "ema":
        raise CheckpointFormatError(
            f"{str(file.path)!r}: config.algo.ema.enabled is true, so robomimic acts with the "
            f"EMA copy of the networks, but model['ema'] is missing or None (robomimic would "
            f"act with untrained weights). Re-save the checkpoint from the training run, or "
            f"set config.algo.ema.enabled to false to act with model['nets']."
        )
    raise CheckpointFormatError(
        f"{str(file.path)!r}: the algorithm asks for weights model[{entry!r}]; obsnets-robomimic "
        f"reads 'nets' and 'ema' only."
    )


def _network_entries(
    weights: Mapping[str, torch.Tensor], name: str, net_spec: NetworkSpec
) -> dict[str, torch.Tensor]:
    """Network ``name``'s entries, keyed as in the built network (``net_spec.module`` first)."""
    prefix, target = f"{name}.", _network_prefix(net_spec)
    return {target + k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}


def _network_prefix(net_spec: NetworkSpec) -> str:
    return f"{net_spec.module}." if net_spec.module else ""


def _load_weights(
    network: nn.Module,
    weights: Mapping[str, torch.Tensor],
    name: str,
    net_spec: NetworkSpec,
    where: str,
) -> None:
    """Load network ``name``'s entries of ``weights`` strictly; a mismatch names the keys as
    the file does (``policy.nets...``), since the network was built from the file's own config.
    """
    try:
        load_robomimic_state_dict(network, _network_entries(weights, name, net_spec))
    except StateDictMismatchError as exc:
        target = _network_prefix(net_spec)
        raise exc.renamed(
            lambda key: f"{name}.{key.removeprefix(target)}",
            f"{where} does not fit the {net_spec.robomimic_class} that the file's own config "
            f"describes for network {name!r} (keys as the file names them):",
            "The weights do not match the config stored beside them: the file was edited, or "
            "written by a robomimic version or fork that builds this network differently. "
            "Load the checkpoint as training wrote it; if it is unchanged, please report the "
            "robomimic version that wrote it as an obsnets-robomimic issue.",
        ) from exc


def _build_networks(
    file: CheckpointFile, spec: AlgorithmSpec, device: str, entry: str
) -> dict[str, nn.Module]:
    modalities = obs_modalities_from_config(file.config)
    weights = _weights(file, entry)
    networks: dict[str, nn.Module] = {}
    for name, net_spec in spec.networks(_algorithm_inputs(file, device, weights)).items():
        network = build_network(net_spec.robomimic_class, net_spec.kwargs, modalities)
        _load_weights(network, weights, name, net_spec, f"{str(file.path)!r}: model[{entry!r}]")
        networks[name] = network.to(device).eval()
    unclaimed = [k for k in weights if k.split(".", 1)[0] not in networks]
    if unclaimed:
        raise StateDictMismatchError(
            f"{str(file.path)!r}: model[{entry!r}] holds entries of networks {spec.name} does not "
            f"build ({', '.join(sorted({k.split('.', 1)[0] for k in unclaimed}))}), e.g. "
            f"{unclaimed[0]!r}; the file does not match its own config.",
            [],
            unclaimed,
            {},
            [],
        )
    return networks


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> RobomimicCheckpoint:
    """Rebuild the networks of a robomimic checkpoint file, without robomimic.

    The file is read as data only (see :func:`~obsnets_robomimic.read_checkpoint_file`).

    Args:
        path: A ``.pth`` file written by robomimic's training script.
        device: Where to put the networks.

    Returns:
        The networks (eval mode, weights loaded strictly), config, metadata and
        normalization statistics.

    Raises:
        UnsafeCheckpointError: the file's pickle names a type that is not plain data.
        CheckpointFormatError: the file is not a robomimic checkpoint or lacks a field.
        UnsupportedAlgorithmError: the algorithm needs a network family no installed plugin
            provides (``BC_Transformer*`` without obsnets-transformer, ``diffusion_policy``
            without obsnets-diffusion).
        StateDictMismatchError: the stored weights do not fit the networks the config
            describes.
    """
    file = read_checkpoint_file(path)
    algo_config = file.config.get("algo") or {}
    spec = resolve_algorithm(file.algo_name, algo_config)
    entry = spec.weights(algo_config)
    where = f"checkpoint {str(file.path)!r}"
    return RobomimicCheckpoint(
        path=file.path,
        algo_name=file.algo_name,
        algo_class=algorithm_class_name(file.algo_name, algo_config),
        networks=_build_networks(file, spec, str(device), entry),
        config=file.config,
        shape_metadata=file.shape_metadata,
        env_metadata=file.env_metadata,
        obs_normalization_stats=_stats_tensors(
            file.obs_normalization_stats, f"{where} obs_normalization_stats"
        ),
        action_normalization_stats=_stats_tensors(
            file.action_normalization_stats, f"{where} action_normalization_stats"
        ),
        variable_state=file.variable_state,
        spec=spec,
        weights=entry,
    )
