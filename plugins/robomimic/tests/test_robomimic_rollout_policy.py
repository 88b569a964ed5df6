"""RolloutPolicy's processing around the network: normalization, goals, action keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from obsnets.errors import ConfigError, ShapeError
from obsnets_robomimic import (
    AlgorithmSpec,
    build_network,
    load_checkpoint,
    policy_from_checkpoint,
    register_algorithm,
)

OBS_SHAPES = {
    "object": [10],
    "robot0_eef_pos": [3],
    "robot0_eef_quat": [4],
    "robot0_gripper_qpos": [2],
}


def _obs(seed: int) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(seed)
    return {k: generator.uniform(-1, 1, s).astype(np.float32) for k, s in OBS_SHAPES.items()}


def _stats(seed: int, shapes) -> dict:
    generator = np.random.default_rng(seed)
    return {
        key: {
            "offset": generator.uniform(-1, 1, (1, *shape)).tolist(),
            "scale": generator.uniform(0.5, 2, (1, *shape)).tolist(),
        }
        for key, shape in shapes.items()
    }


def _direct(network, obs, goal=None) -> np.ndarray:
    batch = {k: torch.from_numpy(np.asarray(v, dtype=np.float32))[None] for k, v in obs.items()}
    goals = None if goal is None else {k: torch.from_numpy(v)[None] for k, v in goal.items()}
    with torch.no_grad():
        return network(batch, goal_dict=goals)[0].double().numpy()


def test_observations_are_normalized_and_actions_unnormalized(write_checkpoint, quietly):
    obs_stats = _stats(0, OBS_SHAPES)
    action_stats = {"actions": _stats(1, {"actions": [7]})["actions"]}
    path = write_checkpoint(
        "bc_lowdim",
        replace={"obs_normalization_stats": obs_stats, "action_normalization_stats": action_stats},
    )
    policy = quietly(policy_from_checkpoint, path)
    network = policy.checkpoint.networks["policy"]
    ob = _obs(2)
    normalized = {
        k: (v - np.float32(obs_stats[k]["offset"][0])) / np.float32(obs_stats[k]["scale"][0])
        for k, v in ob.items()
    }
    raw = _direct(network, normalized)
    offset = np.array(action_stats["actions"]["offset"][0])
    scale = np.array(action_stats["actions"]["scale"][0])
    action = policy(ob)
    assert action.dtype == np.float64
    np.testing.assert_allclose(action, offset + scale * raw, rtol=0, atol=1e-6)
    assert np.abs(action - raw).max() > 0.1  # the statistics did something


def test_actions_are_unnormalized_per_action_key(write_checkpoint, quietly):
    stats = _stats(3, {"pos": [3], "rot": [4]})
    path = write_checkpoint(
        "bc_lowdim",
        replace={"action_normalization_stats": stats},
        config={"train": {"action_keys": ["pos", "rot"], "action_config": {}}},
    )
    policy = quietly(policy_from_checkpoint, path)
    raw = _direct(policy.checkpoint.networks["policy"], _obs(4))
    offset = np.concatenate([np.array(stats[k]["offset"][0]) for k in ("pos", "rot")])
    scale = np.concatenate([np.array(stats[k]["scale"][0]) for k in ("pos", "rot")])
    np.testing.assert_allclose(policy(_obs(4)), offset + scale * raw, rtol=0, atol=1e-6)


def test_action_statistics_that_do_not_cover_the_action_are_an_error(write_checkpoint, quietly):
    stats = _stats(3, {"pos": [3]})
    path = write_checkpoint(
        "bc_lowdim",
        replace={"action_normalization_stats": stats},
        config={"train": {"action_keys": ["pos"], "action_config": {}}},
    )
    policy = quietly(policy_from_checkpoint, path)
    with pytest.raises(ShapeError, match=r"cover 3 action dimensions.*outputs 7"):
        policy(_obs(0))


def test_rotation_formats_are_refused_not_ignored(write_checkpoint, quietly):
    path = write_checkpoint(
        "bc_lowdim",
        config={"train": {"action_config": {"actions": {"format": "rot_6d"}}}},
    )
    with pytest.raises(ConfigError, match=r"format 'rot_6d'"):
        quietly(policy_from_checkpoint, path)


def test_goal_conditioned_policies_take_the_goal(write_checkpoint, quietly):
    goal_shapes = {"object": [10]}
    torch.manual_seed(0)
    crafted = quietly(
        build_network,
        "ActorNetwork",
        {
            "obs_shapes": OBS_SHAPES,
            "goal_shapes": goal_shapes,
            "ac_dim": 7,
            "mlp_layer_dims": [32, 32],
        },
        {"low_dim": list(OBS_SHAPES)},
    )
    nets = {f"policy.{k}": v for k, v in crafted.state_dict().items()}
    path = write_checkpoint(
        "bc_lowdim",
        nets=nets,
        config={"observation": {"modalities": {"goal": {"low_dim": ["object"]}}}},
    )
    checkpoint = quietly(load_checkpoint, path)
    assert list(checkpoint.networks["policy"].goal_shapes) == ["object"]
    policy = quietly(policy_from_checkpoint, path)
    goal = {"object": _obs(9)["object"]}
    expected = _direct(policy.checkpoint.networks["policy"], _obs(5), goal)
    np.testing.assert_allclose(policy(_obs(5), goal=goal), expected, rtol=0, atol=1e-7)
    assert np.abs(policy(_obs(5), goal={"object": -goal["object"]}) - expected).max() > 1e-4


def test_image_statistics_robomimic_cannot_apply_are_refused(write_checkpoint, quietly, sidecar):
    stats = _stats(0, {"agentview_image": [3, 32, 32]})
    path = write_checkpoint("bc_rnn_gmm_image", replace={"obs_normalization_stats": stats})
    policy = quietly(policy_from_checkpoint, path)
    side = sidecar("bc_rnn_gmm_image")
    ob = {k: np.array(v["value"], dtype=v["dtype"]) for k, v in side["observation"].items()}
    with pytest.raises(ShapeError, match=r"obs_normalization_stats\['agentview_image'\]"):
        policy(ob)


class _RecordingActions:
    """An action source that records what the policy hands it (for frame stacking)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, torch.Tensor]] = []

    def reset(self) -> None:
        self.seen.clear()

    def __call__(self, obs, goal):
        self.seen.append(dict(obs))
        return torch.zeros(1, 7)


def test_frame_stacked_algorithms_get_the_stacked_frames(write_checkpoint, quietly, monkeypatch):
    from obsnets_robomimic import algorithms

    recorder = _RecordingActions()
    bc = algorithms.resolve_algorithm("bc", {})
    stacked = AlgorithmSpec("BC", bc.networks, lambda nets, cfg: recorder, frame_stacked=True)
    monkeypatch.setattr(algorithms, "_ALGORITHMS", dict(algorithms._ALGORITHMS))
    register_algorithm(stacked, replace=True)
    stats = _stats(0, OBS_SHAPES)
    path = write_checkpoint(
        "bc_lowdim",
        config={"train": {"frame_stack": 3}},
        replace={"obs_normalization_stats": stats},
    )
    policy = quietly(policy_from_checkpoint, path)
    frames = [_obs(seed) for seed in range(3)]
    ob = {k: np.stack([f[k] for f in frames]) for k in OBS_SHAPES}  # (T, D), oldest first
    policy.start_episode()
    policy(ob)
    (seen,) = recorder.seen
    for key, value in ob.items():
        offset = np.float32(stats[key]["offset"][0])
        scale = np.float32(stats[key]["scale"][0])
        assert tuple(seen[key].shape) == (1, 3, *OBS_SHAPES[key])
        np.testing.assert_allclose(seen[key][0].numpy(), (value - offset) / scale, atol=1e-6)
    with pytest.raises(ShapeError, match=r"'object' has shape \(10,\).*expects \(3, 10\)"):
        policy(frames[0])
