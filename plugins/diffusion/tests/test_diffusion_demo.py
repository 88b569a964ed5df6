"""The demo trains the bundled image diffusion policy and it clearly beats a random policy."""

from __future__ import annotations

import json

import obsnets
from obsnets.demo import run_demo
from obsnets_diffusion import DiffusionPolicyNetwork


def test_short_demo_trains_the_bundled_diffusion_policy_from_pixels(tmp_path) -> None:
    # measured on the 2-core machine: success 0.90 vs random 0.04, about 25 s unloaded
    result = run_demo(
        steps=200,
        seed=0,
        output_dir=tmp_path,
        config_path="reach_diffusion_policy.json",
        episodes=60,
        eval_episodes=50,
        batch_size=16,
        progress=False,
    )
    assert result.random_success_rate < 0.2
    assert result.success_rate >= 0.6
    assert result.success_rate >= result.random_success_rate + 0.4
    assert sum(result.losses[-10:]) < 0.2 * sum(result.losses[:10])  # the denoising loss fell

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["network"] == "DiffusionPolicyNetwork"
    assert config["kwargs"]["noise_scheduler"] == "DDIM"
    reloaded = obsnets.load(tmp_path / "model")
    assert isinstance(reloaded, DiffusionPolicyNetwork)
    assert (reloaded.observation_horizon, reloaded.action_horizon) == (2, 4)
    assert (tmp_path / "rollouts.png").is_file() and (tmp_path / "learning_curve.png").is_file()
