"""How the demo trains and runs policies: likelihood or own loss, histories and action chunks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from obsnets.demo.policy_protocol import PolicyHorizons, policy_horizons, policy_loss
from obsnets.demo.reach_task import ReachTask
from obsnets.demo.run import collect_demonstrations, demo_config, policy_actor, train
from obsnets.demo.windows import window_rows
from obsnets.errors import ConfigError


class ChunkPolicy(nn.Module):
    """A sequence policy that records what the demo gives it."""

    observation_horizon = 2
    prediction_horizon = 3
    action_horizon = 2

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.seen: list[dict[str, torch.Tensor]] = []
        self.chunks: list[torch.Tensor] = []

    def training_loss(self, obs: dict[str, torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        self.seen.append(obs)
        self.chunks.append(actions)
        return (self.weight - 1.0) ** 2

    def forward(self, obs_dict: dict[str, torch.Tensor]) -> torch.Tensor:
        self.seen.append(obs_dict)
        n = obs_dict["agent_pos"].shape[0]
        call = float(len(self.seen))
        return torch.tensor([call, -call]).expand(n, self.action_horizon, 2) * torch.tensor(
            [1.0, 10.0]
        ).view(1, 2, 1)  # step k of call c: (c, -c) * (1, 10)[k]


def test_window_rows_clamp_to_each_episode_in_any_row_order() -> None:
    # episode 0 has steps 0..2, episode 1 steps 0..1, recorded step-major as the demo does
    episode = np.array([0, 1, 0, 1, 0])
    step = np.array([0, 0, 1, 1, 2])
    history = window_rows(episode, step, np.array([-1, 0]))
    assert history.tolist() == [[0, 0], [1, 1], [0, 2], [1, 3], [2, 4]]
    chunk = window_rows(episode, step, np.array([0, 1, 2]))
    assert chunk.tolist() == [[0, 2, 4], [1, 3, 3], [2, 4, 4], [3, 3, 3], [4, 4, 4]]


def test_demonstrations_record_each_rows_episode_and_step() -> None:
    task = ReachTask()
    data = collect_demonstrations(task, np.random.default_rng(0), 6)
    pairs = set(zip(data["episode"].tolist(), data["step"].tolist()))
    assert len(pairs) == len(data["actions"])  # one row per (episode, step)
    for e in range(6):
        steps = sorted(s for ep, s in pairs if ep == e)
        assert steps == list(range(len(steps)))  # from 0, without gaps
    rows = window_rows(data["episode"], data["step"], np.array([0, 1]))
    moved = task.step(data["agent_pos"], data["actions"])
    inside = rows[:, 1] != rows[:, 0]
    np.testing.assert_allclose(data["agent_pos"][rows[inside, 1]], moved[inside], atol=1e-6)


def test_training_cuts_histories_and_chunks_from_the_episodes() -> None:
    data = collect_demonstrations(ReachTask(), np.random.default_rng(1), 4)
    policy = ChunkPolicy()
    losses, _ = train(policy, data, 3, 5, torch.Generator().manual_seed(0), progress=False)
    assert len(losses) == 3 and losses[0] == pytest.approx(1.0) and losses[-1] < losses[0]
    obs, chunk = policy.seen[0], policy.chunks[0]
    assert obs["agentview_image"].shape == (5, 2, 3, 84, 84)
    assert obs["agent_pos"].shape == (5, 2, 2) and chunk.shape == (5, 3, 2)
    positions = torch.from_numpy(data["agent_pos"])
    actions = torch.from_numpy(data["actions"])
    for b in range(5):  # the latest frame and the first action belong to the same row
        row = int(torch.nonzero((positions == obs["agent_pos"][b, -1]).all(1))[0])
        torch.testing.assert_close(chunk[b, 0], actions[row])


def test_actor_pads_the_history_and_executes_each_chunk_in_order() -> None:
    policy = ChunkPolicy()
    act = policy_actor(policy)
    images = np.zeros((3, 3, 84, 84), dtype=np.float32)
    positions = [np.full((3, 2), float(t), dtype=np.float32) for t in range(4)]
    executed = [act(images, p) for p in positions]
    assert len(policy.seen) == 2  # asked at steps 0 and 2 (action_horizon 2)
    first, second = (s["agent_pos"][0, :, 0].tolist() for s in policy.seen)
    assert first == [0.0, 0.0] and second == [1.0, 2.0]  # first frame repeated, then the last two
    assert [a[0].tolist() for a in executed] == [[1, -1], [10, -10], [2, -2], [20, -20]]


def test_single_step_policies_keep_the_likelihood_path() -> None:
    class Gaussian(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mean = nn.Parameter(torch.zeros(2))

        def forward_train(self, obs_dict):
            n = obs_dict["agent_pos"].shape[0]
            return torch.distributions.Independent(
                torch.distributions.Normal(self.mean.expand(n, 2), torch.ones(n, 2)), 1
            )

    policy = Gaussian()
    assert policy_horizons(policy) == PolicyHorizons(None, None, None)
    actions = torch.tensor([[0.5, -0.5], [0.1, 0.2]])
    loss = policy_loss(policy, {"agent_pos": torch.zeros(2, 2)}, actions)
    want = -policy.forward_train({"agent_pos": torch.zeros(2, 2)}).log_prob(actions).mean()
    torch.testing.assert_close(loss, want)


@pytest.mark.parametrize("value", [0, 2.0, True, "2"])
def test_a_malformed_horizon_is_a_config_error(value) -> None:
    policy = ChunkPolicy()
    policy.action_horizon = value
    with pytest.raises(ConfigError, match=r"ChunkPolicy.action_horizon .* int >= 1"):
        policy_horizons(policy)


def test_demo_config_reads_a_bundled_config_by_file_name(tmp_path) -> None:
    assert demo_config(None)["network"] == "GMMActorNetwork"
    assert demo_config("reach_diffusion_policy.json")["network"] == "DiffusionPolicyNetwork"
    with pytest.raises(ConfigError, match="Cannot read config"):
        demo_config("reach_no_such_policy.json")
    own = tmp_path / "reach_diffusion_policy.json"  # a file of that name wins
    own.write_text('{"network": "Mine"}')
    assert demo_config(own)["network"] == "Mine"
