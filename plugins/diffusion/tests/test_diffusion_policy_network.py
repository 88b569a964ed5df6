"""DiffusionPolicyNetwork: the loss, sampling with DDPM and DDIM, seeds, saving, errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import obsnets
from obsnets import build_component
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_diffusion import DiffusionPolicyNetwork

LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
SMALL: dict[str, Any] = {
    "obs_shapes": {"pos": [2], "goal": [2]},
    "ac_dim": 2,
    "observation_horizon": 2,
    "action_horizon": 3,
    "prediction_horizon": 4,
    "diffusion_step_embed_dim": 8,
    "down_dims": [16, 32],
    "kernel_size": 3,
    "encoder_kwargs": LOW_DIM,
    "obs_modalities": {"low_dim": ["pos", "goal"]},
}


def policy(**kwargs: Any) -> DiffusionPolicyNetwork:
    torch.manual_seed(0)
    return build_component("DiffusionPolicyNetwork", {**SMALL, **kwargs}, kind="network")


def observations(batch: int = 4, seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(batch, 2, 2, generator=generator) for k in ("pos", "goal")}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_condition_is_every_frame_encoded_and_flattened() -> None:
    net = policy()
    obs = observations()
    condition = net.encode_observations(obs)
    # low_dim keys pass through the encoder unchanged: frame 0 (pos, goal), then frame 1
    want = torch.cat([obs["pos"][:, 0], obs["goal"][:, 0], obs["pos"][:, 1], obs["goal"][:, 1]], 1)
    torch.testing.assert_close(condition, want)
    assert net.nets["noise_pred_net"].global_cond_dim == 8


def test_loss_is_the_mse_between_predicted_and_added_noise() -> None:
    net = policy(noise_scheduler_kwargs={"num_train_timesteps": 50})
    obs, actions = observations(), torch.rand(4, 4, 2) * 2 - 1
    loss = net.training_loss(obs, actions, generator=seeded(3))
    # the same draws in the same order: noise (B, Tp, A), then one step per chunk
    generator = seeded(3)
    noise = torch.randn(4, 4, 2, generator=generator)
    steps = torch.randint(50, (4,), generator=generator)
    alpha_bar = net.build_noise_scheduler().alphas_cumprod[steps][:, None, None]
    noisy = alpha_bar.sqrt() * actions + (1 - alpha_bar).sqrt() * noise
    prediction = net.nets["noise_pred_net"](noisy, steps, net.encode_observations(obs))
    torch.testing.assert_close(loss, ((prediction - noise) ** 2).mean())


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction"])
def test_other_prediction_types_regress_onto_their_targets(prediction_type: str) -> None:
    net = policy(noise_scheduler_kwargs={"prediction_type": prediction_type})
    obs, actions = observations(), torch.rand(4, 4, 2) * 2 - 1
    loss = net.training_loss(obs, actions, generator=seeded(3))
    generator = seeded(3)
    noise = torch.randn(4, 4, 2, generator=generator)
    steps = torch.randint(100, (4,), generator=generator)
    scheduler = net.build_noise_scheduler()
    noisy = scheduler.add_noise(actions, noise, steps)
    prediction = net.nets["noise_pred_net"](noisy, steps, net.encode_observations(obs))
    if prediction_type == "sample":
        target = actions
    else:
        target = scheduler.get_velocity(actions, noise, steps)
    torch.testing.assert_close(loss, ((prediction - target) ** 2).mean())


def test_loss_decreases_on_a_fixed_batch() -> None:
    net = policy().train()
    obs, actions = observations(), torch.rand(4, 4, 2) * 2 - 1
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def loss_on_fixed_draws() -> float:  # averaged: one draw of 4 noisy chunks is noisy
        with torch.no_grad():
            draws = [net.training_loss(obs, actions, generator=seeded(90 + i)) for i in range(8)]
        return float(torch.stack(draws).mean())

    before = loss_on_fixed_draws()
    generator = seeded(0)
    for _ in range(100):
        loss = net.training_loss(obs, actions, generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss_on_fixed_draws() < 0.8 * before  # measured: 1.16 -> 0.75


@pytest.mark.parametrize("scheduler", ["DDPM", "DDIM"])
def test_sampling_is_reproducible_with_a_generator(scheduler: str) -> None:
    net = policy(noise_scheduler=scheduler, num_inference_timesteps=8)
    obs = observations()
    first = net(obs, generator=seeded(5))
    assert first.shape == (4, 3, 2)  # (B, Ta, A)
    torch.testing.assert_close(net(obs, generator=seeded(5)), first, rtol=0, atol=0)
    assert not torch.equal(net(obs, generator=seeded(6)), first)
    torch.manual_seed(7)
    global_draw = net(obs)
    torch.manual_seed(7)
    torch.testing.assert_close(net(obs), global_draw, rtol=0, atol=0)


def test_forward_returns_the_chunk_from_the_last_observed_step() -> None:
    net = policy(observation_horizon=2, action_horizon=2, prediction_horizon=4)
    chunk = net.sample_action_sequence(observations(), generator=seeded(1))
    actions = net(observations(), generator=seeded(1))
    torch.testing.assert_close(actions, chunk[:, 1:3], rtol=0, atol=0)  # [To - 1, To - 1 + Ta)


def test_ddim_with_few_steps_runs_that_many_denoising_steps() -> None:
    net = policy(noise_scheduler="DDIM", num_inference_timesteps=3).eval()
    calls: list[int] = []
    net.nets["noise_pred_net"].register_forward_hook(lambda *_: calls.append(1))
    actions = net(observations(), generator=seeded(2))
    assert len(calls) == 3
    assert actions.shape == (4, 3, 2) and bool(actions.isfinite().all())
    assert actions.abs().max() <= 1.0  # clip_sample keeps the chunk in [-1, 1]


def test_a_trained_policy_denoises_towards_its_expert_chunks() -> None:
    # two observation contexts with opposite expert chunks; DDIM with 10 steps must tell them
    # apart (predicting the clean chunk: noise prediction needs far more steps to get there)
    net = policy(
        noise_scheduler="DDIM",
        noise_scheduler_kwargs={"prediction_type": "sample"},
        num_inference_timesteps=10,
    ).train()
    obs = {k: torch.stack([torch.ones(2, 2), -torch.ones(2, 2)]) for k in ("pos", "goal")}
    actions = torch.stack([torch.full((4, 2), 0.6), torch.full((4, 2), -0.6)])
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = seeded(0)
    for _ in range(150):
        loss = net.training_loss(obs, actions, generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    sampled = net(obs, generator=seeded(1))
    assert (sampled[0] - 0.6).abs().max() < 0.1 and (sampled[1] + 0.6).abs().max() < 0.1


def test_save_and_load_round_trip_samples_the_same_actions(tmp_path) -> None:
    net = policy(noise_scheduler="DDIM", num_inference_timesteps=4)
    obs = observations()
    expected = net(obs, generator=seeded(8))
    obsnets.save_pretrained(net, tmp_path / "model")
    loaded = obsnets.load(tmp_path / "model")
    assert type(loaded) is DiffusionPolicyNetwork
    assert loaded.noise_scheduler == "DDIM" and loaded.num_inference_timesteps == 4
    torch.testing.assert_close(loaded(obs, generator=seeded(8)), expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"action_horizon": 4}, ConfigError, r"2 - 1 \+ 4 > 4"),
        ({"observation_horizon": 0}, ConfigError, "observation_horizon must be >= 1"),
        ({"prediction_horizon": 6, "down_dims": [16, 32, 48]}, ConfigError, "multiple of 4"),
        ({"noise_scheduler": "DDPMS"}, ConfigError, "Did you mean 'DDPM'"),
        ({"noise_scheduler_kwargs": {"beta_shedule": "linear"}}, InvalidKwargsError, "valid:"),
        ({"noise_scheduler_kwargs": {"prediction_type": "x0"}}, ConfigError, "'epsilon'"),
        ({"noise_scheduler_kwargs": {"beta_schedule": "cubic"}}, ConfigError, "refused"),
        ({"num_inference_timesteps": 101}, ConfigError, r"num_train_timesteps \(100\)"),
    ],
)
def test_configuration_errors_name_the_setting(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        policy(**kwargs)


def test_input_shapes_are_checked() -> None:
    net = policy()
    one_frame = {k: v[:, :1] for k, v in observations().items()}
    with pytest.raises(ShapeError, match=r"obs_dict\['pos'\] must be \(B, 2, 2\)"):
        net(one_frame)
    with pytest.raises(ShapeError, match=r"actions must be expert chunks \(B, 4, 2\)"):
        net.training_loss(observations(), torch.zeros(4, 3, 2))


@pytest.mark.parametrize("steps", [0, -5])
@pytest.mark.parametrize("scheduler", ["DDPM", "DDIM"])
def test_a_training_step_count_below_one_is_named(scheduler: str, steps: int) -> None:
    # diffusers took these and failed later (ZeroDivisionError, RuntimeError from linspace)
    message = (
        "DiffusionPolicyNetwork: argument 'noise_scheduler_kwargs['num_train_timesteps']' "
        f"must be an int >= 1; got {steps}."
    )
    with pytest.raises(ConfigError) as caught:
        policy(noise_scheduler=scheduler, noise_scheduler_kwargs={"num_train_timesteps": steps})
    assert str(caught.value) == message


def test_a_fractional_training_step_count_is_refused() -> None:
    with pytest.raises(InvalidKwargsError, match=r"'num_train_timesteps'\]' must be an int >= 1; "):
        policy(noise_scheduler_kwargs={"num_train_timesteps": 2.5})


def test_an_unknown_scheduler_setting_gets_a_close_match() -> None:
    with pytest.raises(InvalidKwargsError) as caught:
        policy(noise_scheduler_kwargs={"beta_shedule": "linear"})
    message = str(caught.value)
    assert message.startswith(
        "DiffusionPolicyNetwork: noise_scheduler_kwargs (valid: the settings of diffusers' "
        "DDPMScheduler) got unexpected keyword argument(s) 'beta_shedule'. Did you mean "
        "'beta_schedule'"
    )
    assert "Valid parameters: num_train_timesteps, beta_start, " in message


def test_an_inference_step_count_below_one_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'num_inference_timesteps' must be an int in \[1, "):
        policy(num_inference_timesteps=0)


def test_example_inputs_are_seeded_observation_histories_on_the_networks_device() -> None:
    net = policy()
    inputs = net.example_inputs(batch_size=3)
    generator = torch.Generator().manual_seed(0)  # the draws before random_observations existed
    want = {k: torch.randn(3, 2, 2, generator=generator) for k in ("pos", "goal")}
    assert list(inputs) == ["obs_dict"]
    assert list(inputs["obs_dict"]) == ["pos", "goal"]
    for key, value in want.items():
        torch.testing.assert_close(inputs["obs_dict"][key], value, rtol=0, atol=0)
    assert net(**inputs, generator=seeded(0)).shape == (3, 3, 2)  # (B, Ta, A)
