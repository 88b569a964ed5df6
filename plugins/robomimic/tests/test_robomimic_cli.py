"""The obsnets CLI on robomimic checkpoints: inspect, build, convert, and its errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import obsnets
from obsnets.cli.main import main
from obsnets_robomimic import RobomimicMigrationWarning, load_checkpoint


def _cli(capsys, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RobomimicMigrationWarning)
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, command):
    assert code == 2
    lines = [line for line in err.splitlines() if not line.startswith("  caused by")]
    assert len(lines) == 1 and lines[0].startswith(f"obsnets {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_inspect_shows_algorithm_and_networks(capsys, checkpoint_path, sidecar):
    code, out, _ = _cli(capsys, "inspect", str(checkpoint_path("bc_rnn_gmm_image")))
    assert code == 0
    assert out.startswith("robomimic checkpoint  (")
    assert "algorithm: BC_RNN_GMM" in out and "env_name: PickPlaceCan" in out
    row = next(line for line in out.splitlines() if line.startswith("policy"))
    side = sidecar("bc_rnn_gmm_image")  # aliased tensors counted once, as the file stores them
    assert row.split() == [
        "policy",
        "RNNGMMActorNetwork",
        f"{side['nets_unique_num_elements']:,}",
        str(side["nets_unique_tensors"]),
    ]
    code, out, _ = _cli(capsys, "inspect", str(checkpoint_path("bc_lowdim")), "--json")
    data = json.loads(out)
    assert data["details"]["algorithm"] == "BC" and data["details"]["ac_dim"] == 7
    assert data["networks"] == {"policy": {"class": "ActorNetwork", "parameters_and_buffers": 1927}}


def test_build_summarises_and_runs_each_network(capsys, checkpoint_path):
    code, out, _ = _cli(capsys, "build", str(checkpoint_path("bc_lowdim")), "--summary")
    assert code == 0
    assert "built policy = ActorNetwork: 1,927 parameters" in out
    assert "robot0_gripper_qpos" in out  # the per-key table
    assert "output shapes: [2, 7]" in out
    code, out, _ = _cli(capsys, "build", str(checkpoint_path("bc_rnn_gmm_image")), "--json")
    report = json.loads(out)["networks"]["policy"]
    assert report["forward_output"] == [2, 3, 7]


@pytest.mark.parametrize("name", ["bc_lowdim", "bc_rnn_gmm_image"])
def test_convert_writes_a_saved_model_with_the_same_outputs(
    capsys, checkpoint_path, tmp_path, name
):
    out_dir = tmp_path / "converted"
    code, out, _ = _cli(capsys, "convert", str(checkpoint_path(name)), "--out", str(out_dir))
    assert code == 0 and str(out_dir) in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RobomimicMigrationWarning)
        original = load_checkpoint(checkpoint_path(name)).networks["policy"]
    reloaded = obsnets.load(out_dir).eval()
    assert type(reloaded) is type(original)
    expected_state, state = original.state_dict(), reloaded.state_dict()
    assert list(state) == list(expected_state)
    assert all(torch.equal(state[k], expected_state[k]) for k in state)
    generator = torch.Generator().manual_seed(0)
    shapes = original.obs_shapes
    obs = {k: torch.rand(2, 4, *shape, generator=generator) for k, shape in shapes.items()}
    if name == "bc_lowdim":
        obs = {k: v[:, 0] for k, v in obs.items()}
        with torch.no_grad():
            torch.testing.assert_close(reloaded(obs), original(obs), rtol=0, atol=0)
    else:
        with torch.no_grad():
            got, want = reloaded.forward_train(obs), original.forward_train(obs)
        for part in (lambda d: d.component_distribution.base_dist.loc,
                     lambda d: d.mixture_distribution.logits):  # fmt: skip
            torch.testing.assert_close(part(got), part(want), rtol=0, atol=0)


def test_convert_picks_one_network_or_names_the_ones_there(capsys, checkpoint_path, tmp_path):
    path = str(checkpoint_path("bc_lowdim"))
    code, _, _ = _cli(
        capsys, "convert", path, "--out", str(tmp_path / "one"), "--network", "policy"
    )
    assert code == 0 and (tmp_path / "one" / "config.json").is_file()
    code, _, err = _cli(
        capsys, "convert", path, "--out", str(tmp_path / "x"), "--network", "critic"
    )
    line = _one_line_error(code, err, "convert")
    assert "has no network 'critic'; it has 'policy'" in line
    assert not (tmp_path / "x").exists()


def test_cli_errors_are_one_line(capsys, write_checkpoint, tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"algo_name": "bc", "shape_metadata": {}, "x": np.zeros(2)}, evil)
    code, _, err = _cli(capsys, "inspect", str(evil))
    line = _one_line_error(code, err, "inspect")
    assert "numpy._core.multiarray._reconstruct" in line and "Refused to read" in line
    assert len(err.splitlines()) == 1
    unsupported = write_checkpoint("bc_lowdim", replace={"algo_name": "bcq"})
    code, _, err = _cli(capsys, "inspect", str(unsupported))
    assert "BCQ" in _one_line_error(code, err, "inspect")
    other = tmp_path / "weights.pth"
    torch.save({"weight": torch.zeros(2)}, other)
    code, _, err = _cli(capsys, "convert", str(other), "--out", str(tmp_path / "y"))
    assert "not a model file any installed plugin recognises" in _one_line_error(
        code, err, "convert"
    )
