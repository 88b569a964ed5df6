"""obsnets plugin hooks for obsnets-robomimic.

obsnets-robomimic contributes no component of its own: it translates robomimic's kwargs,
configs and weights onto the components of the other plugins. Its entry point makes it show
in ``obsnets plugins``. Importing this module imports no other module of the package.
"""

from __future__ import annotations

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
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare every component of obsnets-robomimic (there are none)."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
