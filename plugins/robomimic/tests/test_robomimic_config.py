"""Reading robomimic experiment configs: modalities, encoder settings, legacy layouts."""

from __future__ import annotations

import copy

import pytest

from obsnets.errors import ConfigError
from obsnets_robomimic import (
    build_obs_encoder_from_config,
    build_obs_group_encoder_from_config,
    config_migration,
    encoder_kwargs_from_config,
    obs_modalities_from_config,
    translate_legacy_observation,
)

OBSERVATION = {
    "modalities": {
        "obs": {
            "low_dim": ["robot0_eef_pos", "object"],
            "rgb": ["agentview_image"],
            "depth": [],
            "scan": [],
        },
        "goal": {"low_dim": ["object", "goal_pos"], "rgb": []},
    },
    "encoder": {
        "low_dim": {
            "core_class": None,
            "core_kwargs": {},
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": {},
        },
        "rgb": {
            "core_class": "VisualCore",
            "core_kwargs": {
                "feature_dimension": 64,
                "backbone_class": "ResNet18Conv",
                "backbone_kwargs": {"pretrained": False},
            },
            "obs_randomizer_class": "CropRandomizer",
            "obs_randomizer_kwargs": {"crop_height": 76, "crop_width": 76},
        },
        "scan": {
            "core_class": "ScanCore",
            "core_kwargs": None,
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": None,
        },
    },
}

LEGACY = {
    "modalities": {
        "obs": {"low_dim": ["robot0_eef_pos"], "image": ["agentview_image"]},
        "goal": {"low_dim": [], "image": []},
    },
    "encoder": {
        "visual_core": "ResNet18Conv",
        "visual_core_kwargs": {"pretrained": False, "input_coord_conv": False},
        "obs_randomizer_class": "CropRandomizer",
        "obs_randomizer_kwargs": {
            "crop_height": 76,
            "crop_width": 76,
            "num_crops": 1,
            "pos_enc": False,
        },
        "visual_feature_dimension": 64,
        "use_spatial_softmax": True,
        "spatial_softmax_kwargs": {
            "num_kp": 32,
            "learnable_temperature": False,
            "temperature": 1.0,
            "noise_std": 0.0,
        },
    },
}


def test_modalities_merge_every_group_in_order():
    assert obs_modalities_from_config(OBSERVATION) == {
        "low_dim": ["robot0_eef_pos", "object", "goal_pos"],
        "rgb": ["agentview_image"],
    }
    assert obs_modalities_from_config({"observation": OBSERVATION}, groups=["goal"]) == {
        "low_dim": ["object", "goal_pos"],
    }


def test_a_key_with_two_modalities_is_an_error():
    observation = copy.deepcopy(OBSERVATION)
    observation["modalities"]["goal"]["rgb"] = ["object"]
    with pytest.raises(ConfigError, match=r"'object' has modality 'low_dim'.*'rgb'"):
        obs_modalities_from_config(observation)


def test_a_missing_group_is_an_error():
    with pytest.raises(ConfigError, match="'subgoal' is not in the config"):
        obs_modalities_from_config(OBSERVATION, groups=["subgoal"])


def test_nested_sections_of_hierarchical_algorithms_are_named():
    hbc = {"observation": {"planner": OBSERVATION, "actor": OBSERVATION}}
    with pytest.raises(
        ConfigError, match=r"'planner', 'actor'.*config\['observation'\]\['planner'\]"
    ):
        obs_modalities_from_config(hbc)
    assert obs_modalities_from_config(hbc["observation"]["actor"])


def test_encoder_kwargs_copy_each_modality_and_fill_null_kwargs():
    original = copy.deepcopy(OBSERVATION)
    encoder = encoder_kwargs_from_config({"observation": OBSERVATION})
    assert list(encoder) == ["low_dim", "rgb", "scan"]
    assert encoder["scan"] == {
        "core_class": "ScanCore",
        "core_kwargs": {},
        "obs_randomizer_class": None,
        "obs_randomizer_kwargs": {},
    }
    encoder["rgb"]["core_kwargs"]["feature_dimension"] = 1
    assert original == OBSERVATION  # robomimic mutates its config here; this does not


def test_encoder_settings_must_be_mappings():
    observation = {"modalities": {"obs": {}}, "encoder": {"rgb": "VisualCore"}}
    with pytest.raises(ConfigError, match=r"observation\.encoder\.rgb"):
        encoder_kwargs_from_config(observation)


def test_legacy_configs_translate_as_robomimic_update_config_does():
    section = translate_legacy_observation(LEGACY)
    assert section["modalities"]["obs"] == {
        "low_dim": ["robot0_eef_pos"],
        "rgb": ["agentview_image"],
    }
    rgb = section["encoder"]["rgb"]
    assert rgb == {
        "core_class": "VisualCore",
        "core_kwargs": {
            "backbone_kwargs": {"pretrained": False, "input_coord_conv": False},
            "pool_kwargs": {
                "num_kp": 32,
                "learnable_temperature": False,
                "temperature": 1.0,
                "noise_std": 0.0,
            },
            "feature_dimension": 64,
            "backbone_class": "ResNet18Conv",
            "pool_class": "SpatialSoftmax",
        },
        "obs_randomizer_class": "CropRandomizer",
        "obs_randomizer_kwargs": LEGACY["encoder"]["obs_randomizer_kwargs"],
    }
    assert section["encoder"]["low_dim"]["core_class"] is None
    assert "image" in LEGACY["modalities"]["obs"]  # the input is untouched
    assert obs_modalities_from_config(LEGACY)["rgb"] == ["agentview_image"]
    assert encoder_kwargs_from_config(LEGACY)["rgb"]["core_class"] == "VisualCore"


def test_legacy_configs_without_spatial_softmax_get_no_pool():
    legacy = copy.deepcopy(LEGACY)
    legacy["encoder"]["use_spatial_softmax"] = False
    core_kwargs = translate_legacy_observation(legacy)["encoder"]["rgb"]["core_kwargs"]
    assert core_kwargs["pool_class"] is None


def test_current_layouts_pass_through_unchanged():
    assert translate_legacy_observation(OBSERVATION) == OBSERVATION


def test_not_an_observation_config_is_an_error():
    with pytest.raises(ConfigError, match="expected 'modalities'"):
        obs_modalities_from_config({"algo": {}})


def test_encoder_builders_pass_config_settings_to_build_network(monkeypatch):
    seen = []
    monkeypatch.setattr(config_migration, "build_network", lambda *a: seen.append(a) or "net")
    shapes = {"agentview_image": [3, 84, 84], "robot0_eef_pos": [3]}
    assert build_obs_encoder_from_config(OBSERVATION, shapes) == "net"
    name, kwargs, modalities = seen[-1]
    assert name == "obs_encoder_factory"
    assert kwargs["obs_shapes"] == shapes and kwargs["feature_activation"] == "torch.nn.ReLU"
    assert kwargs["encoder_kwargs"] == encoder_kwargs_from_config(OBSERVATION)
    assert modalities == obs_modalities_from_config(OBSERVATION)
    build_obs_group_encoder_from_config(OBSERVATION, {"obs": shapes}, feature_activation=None)
    name, kwargs, _ = seen[-1]
    assert name == "ObservationGroupEncoder"
    assert kwargs["observation_group_shapes"] == {"obs": shapes}
    assert kwargs["feature_activation"] is None


def test_a_legacy_image_config_builds_a_working_encoder():
    """End to end on the real plugins: a pre-0.2 config gives VisualCore + CropRandomizer
    with robomimic's state_dict layout (aliases included)."""
    import torch

    from obsnets.errors import UnknownComponentError

    legacy = copy.deepcopy(LEGACY)
    legacy["encoder"]["obs_randomizer_kwargs"].update(crop_height=28, crop_width=28)
    legacy["encoder"]["visual_feature_dimension"] = 16
    shapes = {"agentview_image": [3, 32, 32], "robot0_eef_pos": [3]}
    from obsnets_robomimic import RobomimicMigrationWarning

    try:
        with pytest.warns(RobomimicMigrationWarning, match=r"crop_sampling='robomimic'"):
            encoder = build_obs_encoder_from_config(legacy, shapes)
    except UnknownComponentError as exc:
        pytest.skip(f"not yet implemented: {exc}")
    keys = encoder.state_dict().keys()
    assert "obs_nets.agentview_image.backbone.nets.0.weight" in keys
    assert "obs_nets.agentview_image.nets.0.nets.0.weight" in keys
    assert "obs_nets.agentview_image.pool.pos_x" in keys
    features = encoder.eval()(
        {"agentview_image": torch.rand(2, 3, 32, 32), "robot0_eef_pos": torch.ones(2, 3)}
    )
    assert features.shape == (2, 16 + 3)
    assert torch.equal(features[:, 16:], torch.ones(2, 3))  # low_dim passes through
    assert (features[:, :16] >= 0).all()  # ReLU after the VisualCore
