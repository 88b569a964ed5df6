"""robomimic's DiffusionPolicyUNet algorithm: the network it builds, its weights, its actions.

The end-to-end checks on a checkpoint file are in
plugins/robomimic/tests/test_robomimic_diffusion_checkpoint.py.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from itertools import pairwise
from typing import Any

import pytest
import torch
from torch import nn

from obsnets import build_component
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError

algorithms = pytest.importorskip("obsnets_robomimic.algorithms")
from obsnets_diffusion.robomimic_algorithms import (  # noqa: E402 - after the importorskip
    ROBOMIMIC_UNET_DEFAULTS,
    ChunkedActions,
    diffusion_algorithms,
)
from obsnets_robomimic import RobomimicMigrationWarning, list_algorithms  # noqa: E402

ALGO: dict[str, Any] = {
    "horizon": {"observation_horizon": 2, "action_horizon": 8, "prediction_horizon": 16},
    "unet": {
        "enabled": True,
        "diffusion_step_embed_dim": 16,
        "down_dims": [32, 64],
        "kernel_size": 3,
        "n_groups": 4,
    },
    "ema": {"enabled": True, "power": 0.75},
    "ddpm": {
        "enabled": True,
        "num_train_timesteps": 50,
        "num_inference_timesteps": 25,
        "beta_schedule": "linear",
        "clip_sample": False,
        "prediction_type": "sample",
    },
    "ddim": {
        "enabled": False,
        "num_train_timesteps": 100,
        "num_inference_timesteps": 10,
        "beta_schedule": "squaredcos_cap_v2",
        "clip_sample": True,
        "set_alpha_to_one": True,
        "steps_offset": 1,
        "prediction_type": "epsilon",
    },
}
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip


def _spec() -> algorithms.AlgorithmSpec:
    (spec,) = diffusion_algorithms()
    return spec


def _inputs(algo: dict[str, Any], weights: dict[str, torch.Tensor] | None = None) -> Any:
    return algorithms.AlgorithmInputs(
        algo_config=algo,
        config={"algo": algo},
        obs_shapes=OrderedDict(object=[10], robot0_eef_pos=[3]),
        goal_shapes=OrderedDict(),
        ac_dim=7,
        encoder_kwargs=LOW_DIM,
        weights=weights or {},
    )


def _with(**sections: dict[str, Any]) -> dict[str, Any]:
    algo = copy.deepcopy(ALGO)
    for name, update in sections.items():
        algo[name].update(update)
    return algo


def test_the_hook_makes_diffusion_policy_checkpoints_loadable() -> None:
    assert "DiffusionPolicyUNet" in list_algorithms()
    resolved = algorithms.resolve_algorithm("diffusion_policy", ALGO)
    assert resolved.name == "DiffusionPolicyUNet" and resolved.frame_stacked


def test_config_algo_becomes_the_networks_kwargs() -> None:
    (name, spec), *others = _spec().networks(_inputs(ALGO)).items()
    assert name == "policy" and not others
    assert spec.robomimic_class == "DiffusionPolicyNetwork"
    assert spec.module == "nets"  # robomimic's policy.* entries fill DiffusionPolicyNetwork.nets
    assert spec.kwargs == {
        "obs_shapes": OrderedDict(object=[10], robot0_eef_pos=[3]),
        "ac_dim": 7,
        "encoder_kwargs": LOW_DIM,
        "encoder_norm": "group",
        "observation_horizon": 2,
        "action_horizon": 8,
        "prediction_horizon": 16,
        "diffusion_step_embed_dim": 16,
        "down_dims": [32, 64],
        "kernel_size": 3,
        "n_groups": 4,
        "noise_scheduler": "DDPM",
        "noise_scheduler_kwargs": {
            "num_train_timesteps": 50,
            "beta_schedule": "linear",
            "clip_sample": False,
            "prediction_type": "sample",
        },
        "num_inference_timesteps": 25,
    }


def test_ddpm_wins_when_both_schedulers_are_enabled_and_ddim_takes_its_settings() -> None:
    both = _spec().networks(_inputs(_with(ddim={"enabled": True})))["policy"].kwargs
    assert both["noise_scheduler"] == "DDPM"  # robomimic checks ddpm first
    ddim = _spec().networks(_inputs(_with(ddpm={"enabled": False}, ddim={"enabled": True})))
    kwargs = ddim["policy"].kwargs
    assert kwargs["noise_scheduler"] == "DDIM" and kwargs["num_inference_timesteps"] == 10
    assert kwargs["noise_scheduler_kwargs"] == {
        "num_train_timesteps": 100,
        "beta_schedule": "squaredcos_cap_v2",
        "clip_sample": True,
        "set_alpha_to_one": True,
        "steps_offset": 1,
        "prediction_type": "epsilon",
    }


@pytest.mark.parametrize(("enabled", "entry"), [(True, "ema"), (False, "nets")])
def test_robomimic_acts_with_the_ema_copy_when_ema_is_enabled(enabled: bool, entry: str) -> None:
    assert _spec().weights(_with(ema={"enabled": enabled})) == entry


def _unet_shapes(embed: int, down_dims: list[int], kernel: int) -> dict[str, torch.Tensor]:
    """The shape-bearing U-Net entries of a stored state_dict (meta tensors: shapes only)."""
    prefix = "policy.noise_pred_net."
    shapes = {
        prefix + "diffusion_step_encoder.1.weight": torch.empty(4 * embed, embed, device="meta")
    }
    channels = [7, *down_dims]
    for i, (c_in, c_out) in enumerate(pairwise(channels)):
        key = f"{prefix}down_modules.{i}.0.blocks.0.block.0.weight"
        shapes[key] = torch.empty(c_out, c_in, kernel, device="meta")
    return shapes


def test_unet_settings_come_from_the_config_when_the_weights_fit_them() -> None:
    weights = _unet_shapes(16, [32, 64], 3)
    kwargs = _spec().networks(_inputs(ALGO, weights))["policy"].kwargs
    assert (kwargs["down_dims"], kwargs["n_groups"]) == ([32, 64], 4)


def test_robomimics_default_unet_is_rebuilt_when_the_weights_show_it() -> None:
    # robomimic (upstream) builds ConditionalUnet1D with its defaults whatever config.algo.unet
    # says; a file it wrote has those shapes
    weights = _unet_shapes(256, [256, 512, 1024], 5)
    with pytest.warns(RobomimicMigrationWarning, match="ignores config.algo.unet"):
        kwargs = _spec().networks(_inputs(ALGO, weights))["policy"].kwargs
    assert {k: kwargs[k] for k in ROBOMIMIC_UNET_DEFAULTS} == ROBOMIMIC_UNET_DEFAULTS
    assert ROBOMIMIC_UNET_DEFAULTS == {
        "diffusion_step_embed_dim": 256,
        "down_dims": [256, 512, 1024],
        "kernel_size": 5,
        "n_groups": 8,
    }


def test_weights_fitting_neither_keep_the_config_for_strict_loading_to_report() -> None:
    kwargs = _spec().networks(_inputs(ALGO, _unet_shapes(16, [32, 48], 3)))["policy"].kwargs
    assert kwargs["down_dims"] == [32, 64]


def test_a_missing_unet_setting_is_named() -> None:
    algo = copy.deepcopy(ALGO)
    del algo["unet"]["kernel_size"]
    with pytest.raises(ConfigError, match=r"config.algo.unet lacks \['kernel_size'\]"):
        _spec().networks(_inputs(algo))


class _CountingPolicy(nn.Module):
    """Plans chunks whose action i of plan p is p * 10 + i (to see which plan acts)."""

    observation_horizon = 2

    def __init__(self) -> None:
        super().__init__()
        self.plans = 0

    def forward(self, obs: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        self.plans += 1
        steps = torch.arange(3, dtype=torch.float32) + 10 * self.plans
        return steps.view(1, 3, 1).expand(2, 3, 4)  # (B, Ta, A)


def test_chunked_actions_pop_the_plan_then_replan_and_reset_drops_it() -> None:
    network = _CountingPolicy()
    source = _spec().action_source({"policy": network}, ALGO)
    assert isinstance(source, ChunkedActions)
    obs = {"x": torch.zeros(2, 2, 5)}
    got = [source(obs, None)[0, 0].item() for _ in range(4)]
    assert got == [10.0, 11.0, 12.0, 20.0] and network.plans == 2
    source.reset()
    assert source(obs, None)[0, 0].item() == 30.0
    assert source(obs, None).shape == (2, 4)


def test_chunked_actions_refuse_goals_and_wrong_frame_counts() -> None:
    source = ChunkedActions(_CountingPolicy())
    with pytest.raises(InvalidKwargsError, match="not goal-conditioned"):
        source({"x": torch.zeros(1, 2, 5)}, {"x": torch.zeros(1, 2, 5)})
    with pytest.raises(ShapeError, match=r"observation_horizon = 2 frames.*\(1, 3, 5\)"):
        source({"x": torch.zeros(1, 3, 5)}, None)


def test_chunked_actions_name_an_observation_that_is_not_a_tensor() -> None:
    source = ChunkedActions(_CountingPolicy())
    with pytest.raises(ShapeError) as caught:
        source({"x": [[0.0, 1.0]]}, None)
    assert str(caught.value) == (
        "The diffusion policy takes observations as tensors (B, T, ...) with "
        "observation_horizon = 2 frames, but observation 'x' is list [[0.0, 1.0]]. Pass torch "
        "tensors (e.g. torch.as_tensor(value))."
    )


def _policy(**kwargs: Any) -> Any:
    settings = {
        "obs_shapes": {"agentview_image": [3, 32, 32]},
        "ac_dim": 2,
        "observation_horizon": 1,
        "action_horizon": 2,
        "prediction_horizon": 4,
        "diffusion_step_embed_dim": 8,
        "down_dims": [16, 32],
        "kernel_size": 3,
        "encoder_kwargs": {
            "rgb": {
                "core_class": "VisualCore",
                "core_kwargs": {
                    "backbone_class": "ResNet18Conv",
                    "pool_class": "SpatialSoftmax",
                    "pool_kwargs": {"num_kp": 8},
                    "feature_dimension": 16,
                },
                "obs_randomizer_class": None,
                "obs_randomizer_kwargs": {},
            },
        },
        "obs_modalities": {"rgb": ["agentview_image"]},
    }
    return build_component("DiffusionPolicyNetwork", settings | kwargs, kind="network")


def test_encoder_norm_group_swaps_every_batchnorm_as_robomimic_does() -> None:
    pytest.importorskip("obsnets_visual")
    swapped = _policy(encoder_norm="group")
    encoder = swapped.nets["obs_encoder"]
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in encoder.modules())
    groups = [m for m in encoder.modules() if isinstance(m, nn.GroupNorm)]
    # ResNet-18's trunk has 20 BatchNorm2d: the stem's, two per basic block (8), and three
    # in the downsampling shortcuts
    assert len(groups) == 20
    assert all(g.num_groups == g.num_channels // 16 for g in groups)  # replace_bn_with_gn's rule
    assert {g.num_channels for g in groups} == {64, 128, 256, 512}
    assert not [k for k in swapped.state_dict() if "running_mean" in k]
    with torch.no_grad():
        actions = swapped.eval()({"agentview_image": torch.rand(2, 1, 3, 32, 32)})
    assert actions.shape == (2, 2, 2)


def test_an_unknown_encoder_norm_is_named() -> None:
    with pytest.raises(ConfigError, match=r"encoder_norm must be one of \['batch', 'group'\]"):
        _policy(encoder_norm="layer")
