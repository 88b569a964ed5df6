"""obsnets plugin hooks for obsnets-robomimic.

obsnets-robomimic contributes no component of its own: it translates robomimic's kwargs,
configs and weights onto the components of the other plugins. Its entry point makes it show
in ``obsnets plugins`` and lets the ``obsnets`` CLI open robomimic checkpoint files
(``obsnets_open_model_file``). Importing this module imports no other module of the package.
"""

from __future__ import annotations

from typing import Any

from obsnets.hookspecs import RegisterComponent, hookimpl

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute"); none: the migration functions are not components.
}

EXPORTS: dict[str, str] = {
    # public name: "module:attribute", for the package's lazy exports
    "build_network": "obsnets_robomimic.network_building:build_network",
    "apply_post_init_calls": "obsnets_robomimic.network_building:apply_post_init_calls",
    "load_robomimic_state_dict": "obsnets_robomimic.state_dict_loading:load_robomimic_state_dict",
    "StateDictMismatchError": "obsnets_robomimic.state_dict_loading:StateDictMismatchError",
    "RobomimicMigrationWarning": "obsnets_robomimic.kwargs_migration:RobomimicMigrationWarning",
    "encoder_kwargs_from_config": "obsnets_robomimic.config_migration:encoder_kwargs_from_config",
    "obs_modalities_from_config": "obsnets_robomimic.config_migration:obs_modalities_from_config",
    "build_obs_encoder_from_config": (
        "obsnets_robomimic.config_migration:build_obs_encoder_from_config"
    ),
    "build_obs_group_encoder_from_config": (
        "obsnets_robomimic.config_migration:build_obs_group_encoder_from_config"
    ),
    "translate_legacy_observation": (
        "obsnets_robomimic.config_migration:translate_legacy_observation"
    ),
    "decode_kwargs": "obsnets_robomimic.class_names:decode_kwargs",
    "load_checkpoint": "obsnets_robomimic.checkpoint_loading:load_checkpoint",
    "RobomimicCheckpoint": "obsnets_robomimic.checkpoint_loading:RobomimicCheckpoint",
    "policy_from_checkpoint": "obsnets_robomimic.rollout_policy:policy_from_checkpoint",
    "RolloutPolicy": "obsnets_robomimic.rollout_policy:RolloutPolicy",
    "read_checkpoint_file": "obsnets_robomimic.checkpoint_file:read_checkpoint_file",
    "CheckpointFile": "obsnets_robomimic.checkpoint_file:CheckpointFile",
    "CheckpointFormatError": "obsnets_robomimic.checkpoint_file:CheckpointFormatError",
    "UnsafeCheckpointError": "obsnets_robomimic.checkpoint_file:UnsafeCheckpointError",
    "AlgorithmSpec": "obsnets_robomimic.algorithms:AlgorithmSpec",
    "AlgorithmInputs": "obsnets_robomimic.algorithms:AlgorithmInputs",
    "NetworkSpec": "obsnets_robomimic.algorithms:NetworkSpec",
    "UnsupportedAlgorithmError": "obsnets_robomimic.algorithms:UnsupportedAlgorithmError",
    "list_algorithms": "obsnets_robomimic.algorithms:list_algorithms",
    "register_algorithm": "obsnets_robomimic.algorithms:register_algorithm",
    "algo_section": "obsnets_robomimic.algorithms:algo_section",
    "algo_setting": "obsnets_robomimic.algorithms:algo_setting",
    "gmm_kwargs": "obsnets_robomimic.algorithms:gmm_kwargs",
    "section_enabled": "obsnets_robomimic.algorithms:section_enabled",
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-robomimic (there are none)."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)


@hookimpl
def obsnets_open_model_file(path: str) -> dict[str, Any] | None:
    """Rebuild the networks of a robomimic checkpoint for the ``obsnets`` CLI."""
    from obsnets_robomimic.checkpoint_file import is_robomimic_checkpoint
    from obsnets_robomimic.model_file import describe_checkpoint

    if not is_robomimic_checkpoint(path):
        return None
    return describe_checkpoint(path)


@hookimpl
def obsnets_add_hookspecs(plugin_manager: Any) -> None:
    """Define ``obsnets_robomimic_register_algorithms`` for the plugins that add algorithms."""
    from obsnets_robomimic.hookspecs import add_hookspecs

    add_hookspecs(plugin_manager)
