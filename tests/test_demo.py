"""The demo end to end: a short run learns a policy that clearly beats a random one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import obsnets
from obsnets.demo import run_demo
from obsnets.demo.report import draw_learning_curve
from obsnets.demo.run import LIMITS
from obsnets.errors import ConfigError


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


def test_fewer_evaluation_episodes_than_recorded_rollouts(tmp_path):
    # rollouts.png records up to six episodes; fewer evaluation episodes crashed after training
    result = run_demo(
        steps=1, seed=0, output_dir=tmp_path, episodes=1, eval_episodes=2, progress=False
    )
    assert len(result.losses) == 1
    assert result.success_rate in (0.0, 0.5, 1.0)  # two episodes
    with Image.open(tmp_path / "rollouts.png") as rollouts:
        assert rollouts.size == (2 * 84 * 3, 84 * 3 + 20)  # one row of the two episodes


@pytest.mark.parametrize(
    "argument, value",
    [
        ("steps", 0),
        ("episodes", 0),
        ("eval_episodes", 0),
        ("batch_size", 0),
        ("seed", -1),
        ("steps", 2.5),
        ("episodes", True),
        ("episodes", 10**9),
    ],
)
def test_run_demo_rejects_arguments_out_of_range_before_any_work(argument, value, tmp_path):
    low, high = LIMITS[argument]
    with pytest.raises(
        ConfigError, match=f"{argument} must be an integer from {low:,} to {high:,}"
    ):
        run_demo(output_dir=tmp_path / "report", progress=False, **{argument: value})
    assert not (tmp_path / "report").exists()


def test_report_pictures_are_replaced_atomically(tmp_path, monkeypatch):
    target = tmp_path / "learning_curve.png"
    draw_learning_curve([3.0, 2.0, 1.0], target)
    with Image.open(target) as image:
        assert (image.format, image.size) == ("PNG", (640, 360))
    old = target.read_bytes()

    def disk_full(image, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        draw_learning_curve([1.0, 0.5], target)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learning_curve.png"]
