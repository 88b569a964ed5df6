"""obsnets-robomimic: build obsnets networks from robomimic kwargs and configs, load its weights."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_robomimic.plugin import EXPORTS

if TYPE_CHECKING:
    from obsnets_robomimic.algorithms import (
        AlgorithmInputs,
        AlgorithmSpec,
        NetworkSpec,
        UnsupportedAlgorithmError,
        algo_section,
        algo_setting,
        gmm_kwargs,
        list_algorithms,
        register_algorithm,
        section_enabled,
    )
    from obsnets_robomimic.checkpoint_file import (
        CheckpointFile,
        CheckpointFormatError,
        UnsafeCheckpointError,
        read_checkpoint_file,
    )
    from obsnets_robomimic.checkpoint_loading import RobomimicCheckpoint, load_checkpoint
    from obsnets_robomimic.class_names import decode_kwargs
    from obsnets_robomimic.config_migration import (
        build_obs_encoder_from_config,
        build_obs_group_encoder_from_config,
        encoder_kwargs_from_config,
        obs_modalities_from_config,
        translate_legacy_observation,
    )
    from obsnets_robomimic.kwargs_migration import RobomimicMigrationWarning
    from obsnets_robomimic.network_building import apply_post_init_calls, build_network
    from obsnets_robomimic.rollout_policy import RolloutPolicy, policy_from_checkpoint
    from obsnets_robomimic.state_dict_loading import (
        StateDictMismatchError,
        load_robomimic_state_dict,
    )

__version__ = importlib.metadata.version("obsnets-robomimic")  # written once, in pyproject.toml

__all__ = [
    "AlgorithmInputs",
    "AlgorithmSpec",
    "CheckpointFile",
    "CheckpointFormatError",
    "NetworkSpec",
    "RobomimicCheckpoint",
    "RobomimicMigrationWarning",
    "RolloutPolicy",
    "StateDictMismatchError",
    "UnsafeCheckpointError",
    "UnsupportedAlgorithmError",
    "algo_section",
    "algo_setting",
    "apply_post_init_calls",
    "build_network",
    "build_obs_encoder_from_config",
    "build_obs_group_encoder_from_config",
    "decode_kwargs",
    "encoder_kwargs_from_config",
    "gmm_kwargs",
    "list_algorithms",
    "load_checkpoint",
    "load_robomimic_state_dict",
    "obs_modalities_from_config",
    "policy_from_checkpoint",
    "read_checkpoint_file",
    "register_algorithm",
    "section_enabled",
    "translate_legacy_observation",
]

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
