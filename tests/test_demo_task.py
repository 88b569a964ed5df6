"""The demo's reaching task: rendering, dynamics and the expert."""

from __future__ import annotations

import numpy as np

from obsnets.demo.reach_task import ReachTask
from obsnets.demo.run import collect_demonstrations, evaluate


def test_render_puts_target_and_agent_where_they_are():
    task = ReachTask()
    agents = np.array([[-0.5, 0.5]], dtype=np.float32)
    targets = np.array([[0.5, -0.5]], dtype=np.float32)
    image = task.render(agents, targets)[0]
    assert image.shape == (3, 84, 84) and image.min() >= 0 and image.max() <= 1
    col, row = task.to_pixels(targets[0]).astype(int)
    assert image[0, row, col] > 0.9 and image[2, row, col] < 0.3  # red target
    col, row = task.to_pixels(agents[0]).astype(int)
    assert image[2, row, col] > 0.9 and image[0, row, col] < 0.3  # blue agent
    assert image[:, 2, 2].tolist() == [np.float32(0.15)] * 3  # background


def test_expert_solves_every_episode_and_random_rarely_does():
    task = ReachTask()
    targets_holder = {}

    def expert(images, positions):
        return task.expert_actions(positions, targets_holder["t"])

    rng = np.random.default_rng(3)
    _, targets_holder["t"] = task.reset(np.random.default_rng(3), 200)  # evaluate's episodes
    rate, _ = evaluate(task, expert, rng, 200)
    assert rate == 1.0
    random_rng = np.random.default_rng(4)
    random_rate, _ = evaluate(
        task,
        lambda im, pos: random_rng.uniform(-1, 1, (len(pos), 2)),
        np.random.default_rng(3),
        200,
    )
    assert random_rate < 0.25


def test_demonstrations_pair_images_positions_and_expert_actions():
    task = ReachTask()
    data = collect_demonstrations(task, np.random.default_rng(0), 10)
    n = len(data["actions"])
    assert data["agentview_image"].shape == (n, 3, 84, 84)
    assert data["agent_pos"].shape == (n, 2) and 10 <= n <= 10 * task.max_steps
    assert np.abs(data["actions"]).max() <= 1.0 + 1e-6
    norms = np.linalg.norm(data["actions"], axis=1)
    assert (norms > 0.99).mean() > 0.5  # mostly full speed towards the target
