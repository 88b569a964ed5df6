"""The demo end to end: a short run learns a policy that clearly beats a random one."""

from __future__ import annotations

import json

from PIL import Image

import obsnets
from obsnets.demo import run_demo


def test_short_demo_learns_to_reach_from_pixels(tmp_path):
    result = run_demo(
        steps=80,
        seed=0,
        output_dir=tmp_path,
        episodes=60,
        eval_episodes=50,
        batch_size=16,
        progress=False,
    )
    assert result.random_success_rate < 0.2
    assert result.success_rate >= 0.6
    assert result.success_rate >= result.random_success_rate + 0.4
    assert sum(result.losses[-10:]) < sum(result.losses[:10])  # the loss went down

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["network"] == "GMMActorNetwork"
    core = config["kwargs"]["encoder_kwargs"]["rgb"]
    assert core["core_class"] == "VisualCore" and core["obs_randomizer_class"] == "CropRandomizer"
    with Image.open(tmp_path / "learning_curve.png") as curve:
        assert curve.size == (640, 360)
    with Image.open(tmp_path / "rollouts.png") as rollouts:
        assert rollouts.size[0] == 3 * 84 * 3  # three tiles per row, drawn at 3x
    reloaded = obsnets.load(tmp_path / "model")
    assert type(reloaded).__name__ == "GMMActorNetwork"
