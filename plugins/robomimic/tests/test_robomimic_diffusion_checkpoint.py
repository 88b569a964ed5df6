"""robomimic ``diffusion_policy`` (DiffusionPolicyUNet) checkpoints: loading, EMA, rollout, CLI.

No robomimic diffusion checkpoint is shipped, so each test writes one in robomimic's format:
the config JSON of ``DiffusionPolicyConfig`` (the other sections are those of the shipped
``bc_lowdim`` file), ``shape_metadata``, and ``model = {"nets", "optimizers",
"lr_schedulers", "ema"}`` as ``DiffusionPolicyUNet.serialize`` returns it, with robomimic's
key names: ``policy.noise_pred_net.*`` holds the U-Net of parity case 23 (recorded from
robomimic), ``policy.obs_encoder`` has no tensors for low-dim observations. The file is
written with ``torch.save`` as robomimic's ``save_model`` does and read by the safe loader.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("obsnets_diffusion")
diffusers = pytest.importorskip("diffusers")

import obsnets  # noqa: E402 - after the importorskips
from obsnets.cli.main import main  # noqa: E402
from obsnets.errors import ConfigError, ShapeError  # noqa: E402
from obsnets_diffusion import ConditionalUnet1D, DiffusionPolicyNetwork  # noqa: E402
from obsnets_robomimic import (  # noqa: E402
    CheckpointFormatError,
    RobomimicMigrationWarning,
    StateDictMismatchError,
    UnsupportedAlgorithmError,
    load_checkpoint,
    policy_from_checkpoint,
    read_checkpoint_file,
)

TO, TA, TP, AC_DIM = 2, 4, 8, 7  # global_cond = To x (7 + 3) = 20, as case 23's U-Net takes
OBS_SHAPES = {"object": [7], "robot0_eef_pos": [3]}  # all_shapes order (alphabetical)
ACTION_OFFSET = [0.1, -0.2, 0.3, 0.0, 0.5, -0.5, 0.05]
ACTION_SCALE = [2.0, 1.5, 0.5, 1.0, 3.0, 0.25, 1.0]

ALGO: dict[str, Any] = {  # robomimic's DiffusionPolicyConfig.algo_config, small U-Net
    "optim_params": {
        "policy": {
            "optimizer_type": "adamw",
            "learning_rate": {
                "initial": 1e-4,
                "decay_factor": 0.1,
                "epoch_schedule": [],
                "scheduler_type": "constant",
            },
            "regularization": {"L2": 0.0},
            "num_train_batches": 2,
            "num_epochs": 100,
        }
    },
    "horizon": {"observation_horizon": TO, "action_horizon": TA, "prediction_horizon": TP},
    "unet": {
        "enabled": True,
        "diffusion_step_embed_dim": 16,
        "down_dims": [32, 64],
        "kernel_size": 5,
        "n_groups": 8,
    },
    "ema": {"enabled": True, "power": 0.75},
    "language_conditioned": False,
    "ddpm": {
        "enabled": False,
        "num_train_timesteps": 100,
        "num_inference_timesteps": 100,
        "beta_schedule": "squaredcos_cap_v2",
        "clip_sample": True,
        "prediction_type": "epsilon",
    },
    "ddim": {
        "enabled": True,
        "num_train_timesteps": 100,
        "num_inference_timesteps": 10,
        "beta_schedule": "squaredcos_cap_v2",
        "clip_sample": True,
        "set_alpha_to_one": True,
        "steps_offset": 0,
        "prediction_type": "epsilon",
    },
}
# DDPM with 10 of its 100 steps at inference (the scheduler's strided steps; robomimic's
# default runs all 100, which only takes longer)
DDPM = {"ddpm": {"enabled": True, "num_inference_timesteps": 10}, "ddim": {"enabled": False}}


@pytest.fixture(scope="module")
def unet_weights(parity_case) -> dict[str, torch.Tensor]:
    """robomimic's ConditionalUnet1D state_dict (parity case 23), robomimic's key names."""
    case = parity_case("23_conditional_unet1d")
    assert case.spec["kwargs"]["global_cond_dim"] == TO * sum(s[0] for s in OBS_SHAPES.values())
    return dict(case.weights)


def _merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@pytest.fixture
def write_diffusion_checkpoint(checkpoint_path, tmp_path, unet_weights) -> Callable[..., Path]:
    """``write(algo=None, nets=None, ema=..., name=...)``: a DiffusionPolicyUNet checkpoint.

    ``nets`` / ``ema`` are U-Net state_dicts (robomimic's keys without ``policy.noise_pred_net.``);
    ``nets`` defaults to case 23's weights halved, ``ema`` to case 23's weights; ``ema=None``
    writes ``model["ema"] = None`` as robomimic does without EMA.
    """
    config = read_checkpoint_file(checkpoint_path("bc_lowdim")).config
    halved = {k: v * 0.5 if v.is_floating_point() else v for k, v in unet_weights.items()}

    def write(
        algo: Mapping[str, Any] | None = None,
        nets: Mapping[str, torch.Tensor] | None = None,
        ema: Mapping[str, torch.Tensor] | str | None = "default",
        name: str = "diffusion_policy.pth",
    ) -> Path:
        parsed = _merged(config, {"algo_name": "diffusion_policy"})
        parsed["algo"] = _merged(ALGO, algo or {})
        parsed["train"].update(
            {"frame_stack": TO, "seq_length": TP - TO + 1, "hdf5_load_next_obs": False}
        )
        parsed["train"]["action_config"] = {"actions": {"normalization": "min_max"}}
        parsed["observation"]["modalities"]["obs"]["low_dim"] = ["robot0_eef_pos", "object"]
        ema_weights = unet_weights if ema == "default" else ema

        def policy(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {f"policy.noise_pred_net.{k}": v.clone() for k, v in weights.items()}

        data = {
            "model": {
                "nets": policy(halved if nets is None else nets),
                "optimizers": {"policy": {"state": {}, "param_groups": []}},
                "lr_schedulers": {"policy": None},
                "ema": None if ema_weights is None else policy(ema_weights),
            },
            "config": json.dumps(parsed, indent=4),
            "algo_name": "diffusion_policy",
            "env_metadata": {"env_name": "Lift", "type": 1, "env_kwargs": {}, "lang": None},
            "shape_metadata": {
                "ac_dim": AC_DIM,
                "all_shapes": dict(OBS_SHAPES),
                "all_obs_keys": list(OBS_SHAPES),
                "use_images": False,
                "use_depths": False,
            },
            "variable_state": {
                "epoch": 1,
                "best_valid_loss": None,
                "best_return": None,
                "best_success_rate": None,
            },
            "action_normalization_stats": {
                "actions": {"offset": [ACTION_OFFSET], "scale": [ACTION_SCALE]}
            },
        }
        path = tmp_path / name
        torch.save(data, path)
        return path

    return write


def _source_unet(weights: Mapping[str, torch.Tensor]) -> ConditionalUnet1D:
    network = ConditionalUnet1D(
        input_dim=AC_DIM, global_cond_dim=20, diffusion_step_embed_dim=16, down_dims=[32, 64]
    )
    network.load_state_dict(weights, strict=True)
    return network.eval()


def _robomimic_scheduler(algo: Mapping[str, Any]) -> Any:
    """The scheduler robomimic's DiffusionPolicyUNet constructs from config.algo."""
    if algo["ddpm"]["enabled"]:
        ddpm = algo["ddpm"]
        return diffusers.DDPMScheduler(
            num_train_timesteps=ddpm["num_train_timesteps"],
            beta_schedule=ddpm["beta_schedule"],
            clip_sample=ddpm["clip_sample"],
            prediction_type=ddpm["prediction_type"],
        )
    ddim = algo["ddim"]
    return diffusers.DDIMScheduler(
        num_train_timesteps=ddim["num_train_timesteps"],
        beta_schedule=ddim["beta_schedule"],
        clip_sample=ddim["clip_sample"],
        set_alpha_to_one=ddim["set_alpha_to_one"],
        steps_offset=ddim["steps_offset"],
        prediction_type=ddim["prediction_type"],
    )


@torch.no_grad()
def _robomimic_chunk(unet: ConditionalUnet1D, algo: Mapping[str, Any], ob: Mapping) -> np.ndarray:
    """robomimic's ``_get_action_trajectory`` + RolloutPolicy un-normalization, written out.

    Low-dim features are the raw values, concatenated in all_shapes order per frame, the
    frames flattened; Gaussian noise from torch's global generator; the scheduler's steps;
    actions ``[To - 1, To - 1 + Ta)``; ``offset + scale * a`` in float64.
    """
    frames = [torch.cat([torch.as_tensor(ob[k][t]) for k in OBS_SHAPES]) for t in range(TO)]
    cond = torch.cat(frames)[None]  # (1, 20)
    scheduler = _robomimic_scheduler(algo)
    section = algo["ddpm"] if algo["ddpm"]["enabled"] else algo["ddim"]
    scheduler.set_timesteps(section["num_inference_timesteps"])
    chunk = torch.randn(1, TP, AC_DIM)
    for k in scheduler.timesteps:
        chunk = scheduler.step(unet(chunk, k, global_cond=cond), k, chunk).prev_sample
    actions = chunk[0, TO - 1 : TO - 1 + TA].double().numpy()
    return np.asarray(ACTION_OFFSET) + np.asarray(ACTION_SCALE) * actions


def _observation(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {k: rng.uniform(-1, 1, (TO, *s)).astype(np.float32) for k, s in OBS_SHAPES.items()}


def test_the_loaded_unet_predicts_the_source_networks_noise_exactly(
    write_diffusion_checkpoint, unet_weights, parity_case
):
    checkpoint = load_checkpoint(write_diffusion_checkpoint())
    assert checkpoint.algo_class == "DiffusionPolicyUNet"
    network = checkpoint.networks["policy"]
    assert isinstance(network, DiffusionPolicyNetwork) and not network.training
    assert (network.observation_horizon, network.action_horizon) == (TO, TA)
    assert (network.prediction_horizon, network.noise_scheduler) == (TP, "DDIM")
    assert network.num_inference_timesteps == 10
    assert network.noise_scheduler_kwargs["set_alpha_to_one"] is True
    io = parity_case("23_conditional_unet1d").io
    source = _source_unet(unet_weights)
    with torch.no_grad():
        for timestep in (io["in/timestep"], io["in/timestep"].long(), 42):
            got = network.nets["noise_pred_net"](io["in/sample"], timestep, io["in/global_cond"])
            want = source(io["in/sample"], timestep, global_cond=io["in/global_cond"])
            assert torch.equal(got, want)
    # and robomimic's own recorded prediction for these weights
    torch.testing.assert_close(got, io["out/forward_int_timestep/noise_pred"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ema_enabled", [True, False])
def test_ema_weights_are_the_ones_acted_with_when_ema_is_enabled(
    write_diffusion_checkpoint, unet_weights, ema_enabled
):
    path = write_diffusion_checkpoint(algo={"ema": {"enabled": ema_enabled}})
    checkpoint = load_checkpoint(path)
    assert checkpoint.weights == ("ema" if ema_enabled else "nets")
    state = checkpoint.networks["policy"].nets["noise_pred_net"].state_dict()
    for key, value in unet_weights.items():
        want = value if ema_enabled else value * 0.5  # model["nets"] holds the halved copy
        assert torch.equal(state[key], want), key


def test_ema_enabled_without_a_stored_ema_copy_is_an_error(write_diffusion_checkpoint):
    with pytest.raises(CheckpointFormatError, match=r"model\['ema'\] is missing or None"):
        load_checkpoint(write_diffusion_checkpoint(ema=None))


def test_an_ema_copy_that_does_not_fit_names_the_tensors(write_diffusion_checkpoint, unet_weights):
    broken = dict(unet_weights)
    del broken["final_conv.1.bias"]
    with pytest.raises(StateDictMismatchError) as excinfo:
        load_checkpoint(write_diffusion_checkpoint(ema=broken))
    message = str(excinfo.value)
    assert "model['ema'] does not fit the DiffusionPolicyNetwork" in message  # the file's names
    assert "\n    policy.noise_pred_net.final_conv.1.bias\n" in message
    assert excinfo.value.missing == ["policy.noise_pred_net.final_conv.1.bias"]


@pytest.mark.parametrize("schedule", [{}, DDPM], ids=["ddim", "ddpm"])
def test_rollout_executes_ta_actions_of_a_seeded_chunk_then_replans(
    write_diffusion_checkpoint, unet_weights, schedule
):
    policy = policy_from_checkpoint(write_diffusion_checkpoint(algo=schedule))
    algo = _merged(ALGO, schedule)
    source = _source_unet(unet_weights)  # the EMA copy: ema is enabled
    first, later = _observation(1), _observation(2)
    torch.manual_seed(7)
    want = np.concatenate([_robomimic_chunk(source, algo, first) for _ in range(2)])
    policy.start_episode()
    torch.manual_seed(7)
    # steps 1..Ta act from the chunk planned at step 1 (later observations are not looked
    # at); step Ta + 1 plans again, from its own observation
    got = [policy(first if step in (0, TA) else later) for step in range(2 * TA)]
    assert all(a.dtype == np.float64 and a.shape == (AC_DIM,) for a in got)
    np.testing.assert_allclose(np.stack(got), want, rtol=1e-6, atol=1e-6)
    assert not np.allclose(want[:TA], want[TA:])


def test_seeded_rollouts_repeat_and_start_episode_drops_the_plan(write_diffusion_checkpoint):
    policy = policy_from_checkpoint(write_diffusion_checkpoint())
    ob = _observation(3)

    def episode(seed: int) -> np.ndarray:
        policy.start_episode()
        torch.manual_seed(seed)
        return np.stack([policy(ob) for _ in range(3)])

    first = episode(11)
    np.testing.assert_array_equal(episode(11), first)
    assert not np.allclose(episode(12), first)
    policy(ob)  # leaves Ta - 1 planned actions ...
    torch.manual_seed(11)
    policy.start_episode()  # ... which a new episode drops
    np.testing.assert_array_equal(np.stack([policy(ob) for _ in range(3)]), first)


def test_the_rollout_needs_to_stacked_frames(write_diffusion_checkpoint):
    policy = policy_from_checkpoint(write_diffusion_checkpoint())
    policy.start_episode()
    with pytest.raises(ShapeError, match=r"\(2, 7\)"):
        policy({"object": np.zeros(7, np.float32), "robot0_eef_pos": np.zeros(3, np.float32)})


@pytest.mark.parametrize(
    ("algo", "error", "message"),
    [
        (
            {"unet": {"enabled": False}, "transformer": {"enabled": True}},
            UnsupportedAlgorithmError,
            r"transformer diffusion policy, which robomimic does not implement",
        ),
        ({"unet": {"enabled": False}}, ConfigError, r"needs config.algo.unet.enabled"),
        (
            {"ddim": {"enabled": False}},
            ConfigError,
            r"Neither config.algo.ddpm.enabled nor config.algo.ddim.enabled",
        ),
        ({"ddim": {"beta_schedule": "cubic"}}, ConfigError, r"DDIMScheduler refused.*cubic"),
        ({"ddim": {"prediction_type": "noise"}}, ConfigError, r"prediction_type must be one of"),
        ({"horizon": {"action_horizon": 8}}, ConfigError, r"observation_horizon - 1 \+ action"),
    ],
    ids=["transformer", "no_variant", "no_scheduler", "beta_schedule", "prediction", "horizon"],
)
def test_unsupported_or_malformed_configs_are_clear_errors(
    write_diffusion_checkpoint, algo, error, message
):
    with pytest.raises(error, match=message):
        load_checkpoint(write_diffusion_checkpoint(algo=algo))


def test_a_missing_horizon_setting_is_named(write_diffusion_checkpoint, tmp_path):
    path = write_diffusion_checkpoint()
    data = torch.load(path, weights_only=True)
    config = json.loads(data["config"])
    del config["algo"]["horizon"]["prediction_horizon"]
    data["config"] = json.dumps(config)
    torch.save(data, tmp_path / "no_tp.pth")
    with pytest.raises(ConfigError, match=r"config.algo.horizon lacks \['prediction_horizon'\]"):
        load_checkpoint(tmp_path / "no_tp.pth")


def _cli(capsys, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RobomimicMigrationWarning)
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_shows_the_diffusion_policy(capsys, write_diffusion_checkpoint, unet_weights):
    path = str(write_diffusion_checkpoint())
    code, out, _ = _cli(capsys, "inspect", path, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["details"]["algorithm"] == "DiffusionPolicyUNet"
    assert data["details"]["algo_name"] == "diffusion_policy"
    assert data["details"]["weights"] == "model['ema']"
    numel = sum(v.numel() for v in unet_weights.values())  # low-dim encoders hold no tensors
    assert data["networks"] == {
        "policy": {"class": "DiffusionPolicyNetwork", "parameters_and_buffers": numel}
    }
    code, out, _ = _cli(capsys, "inspect", path)
    assert code == 0 and "algorithm: DiffusionPolicyUNet" in out
    code, out, _ = _cli(capsys, "build", path, "--json")  # one sampled chunk per network
    assert code == 0
    assert json.loads(out)["networks"]["policy"]["forward_output"] == [2, TA, AC_DIM]


def test_convert_writes_a_diffusion_policy_that_samples_the_same(
    capsys, write_diffusion_checkpoint, tmp_path
):
    path = write_diffusion_checkpoint()
    out_dir = tmp_path / "converted"
    code, _, _ = _cli(capsys, "convert", str(path), "--out", str(out_dir))
    assert code == 0
    original = load_checkpoint(path).networks["policy"]
    reloaded = obsnets.load(out_dir).eval()
    assert type(reloaded) is DiffusionPolicyNetwork
    assert reloaded.encoder_norm == "group" and reloaded.noise_scheduler == "DDIM"
    state, want = reloaded.state_dict(), original.state_dict()
    assert list(state) == list(want) and all(torch.equal(state[k], want[k]) for k in state)
    obs = {k: torch.rand(2, TO, *s) for k, s in OBS_SHAPES.items()}
    got = reloaded(obs, generator=torch.Generator().manual_seed(0))
    expected = original(obs, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got, expected)
