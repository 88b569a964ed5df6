"""The demo pipeline: demonstrations -> a policy from a config -> training -> closed-loop tests.

Every network in it is named in a JSON config and built through the registry; the demo itself
imports no plugin.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.config import build_from_config, load_config
from obsnets.demo.reach_task import ReachTask
from obsnets.demo.report import draw_learning_curve, draw_rollouts
from obsnets.saving import save_pretrained

__all__ = ["DEFAULT_CONFIG", "DemoResult", "run_demo"]

IMAGE_KEY, POSITION_KEY = "agentview_image", "agent_pos"
DEFAULT_CONFIG = "reach_gmm_policy.json"


@dataclass
class DemoResult:
    """What a demo run produced.

    Attributes:
        success_rate: Fraction of evaluation episodes the trained policy solved.
        random_success_rate: The same for uniformly random actions.
        losses: Training loss per step.
        steps_per_second: Training throughput.
        output_dir: The report folder.
    """

    success_rate: float
    random_success_rate: float
    losses: list[float] = field(default_factory=list)
    steps_per_second: float = 0.0
    output_dir: Path | None = None


def bundled_config() -> dict[str, Any]:
    """The demo's default network config (an image GMM policy)."""
    text = resources.files("obsnets.examples").joinpath(DEFAULT_CONFIG).read_text()
    return dict(json.loads(text))


def collect_demonstrations(
    task: ReachTask, rng: np.random.Generator, episodes: int
) -> dict[str, np.ndarray]:
    """Roll the expert out; returns images ``(N, 3, H, W)``, positions and actions ``(N, 2)``."""
    agents, targets = task.reset(rng, episodes)
    images, positions, actions = [], [], []
    active = np.ones(episodes, dtype=bool)
    for _ in range(task.max_steps):
        expert = task.expert_actions(agents, targets)
        images.append(task.render(agents[active], targets[active]))
        positions.append(agents[active])
        actions.append(expert[active])
        agents = task.step(agents, expert)
        active &= ~task.reached(agents, targets)
        if not active.any():
            break
    return {
        IMAGE_KEY: np.concatenate(images),
        POSITION_KEY: np.concatenate(positions),
        "actions": np.concatenate(actions),
    }


def train(
    policy: torch.nn.Module,
    data: dict[str, np.ndarray],
    steps: int,
    batch_size: int,
    generator: torch.Generator,
    progress: bool = True,
) -> tuple[list[float], float]:
    """Behaviour cloning: maximise the GMM log-likelihood of expert actions.

    Returns:
        The loss per step and the training steps per second.
    """
    tensors = {k: torch.from_numpy(v) for k, v in data.items()}
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    policy.train()
    losses: list[float] = []
    start = time.perf_counter()
    count = len(tensors["actions"])
    for step in range(steps):
        index = torch.randint(count, (batch_size,), generator=generator)
        obs = {IMAGE_KEY: tensors[IMAGE_KEY][index], POSITION_KEY: tensors[POSITION_KEY][index]}
        distribution = policy.forward_train(obs_dict=obs)  # type: ignore[operator]
        loss = -distribution.log_prob(tensors["actions"][index]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if progress:
            _progress(step + 1, steps, losses[-1], (step + 1) / (time.perf_counter() - start))
    rate = steps / max(time.perf_counter() - start, 1e-9)
    if progress:
        print(file=sys.stderr)
    return losses, rate


def evaluate(
    task: ReachTask, act: Any, rng: np.random.Generator, episodes: int, record: int = 0
) -> tuple[float, list[dict[str, np.ndarray]]]:
    """Run ``act(images, positions) -> actions`` closed loop on fresh episodes.

    Returns:
        The success rate and, for the first ``record`` episodes, their trajectories.
    """
    agents, targets = task.reset(rng, episodes)
    done = np.zeros(episodes, dtype=bool)
    paths = [agents.copy()]
    first_images = task.render(agents[:record], targets[:record])
    for _ in range(task.max_steps):
        actions = act(task.render(agents, targets), agents)
        agents = np.where(done[:, None], agents, task.step(agents, actions))
        paths.append(agents.copy())
        done |= task.reached(agents, targets)
    trajectories = [
        {"image": first_images[i], "path": np.stack([p[i] for p in paths]), "target": targets[i]}
        for i in range(record)
    ]
    return float(done.mean()), trajectories


def policy_actor(policy: torch.nn.Module) -> Any:
    """Wrap a policy as ``act(images, positions) -> actions`` in eval mode."""

    @torch.no_grad()
    def act(images: np.ndarray, positions: np.ndarray) -> np.ndarray:
        policy.eval()
        obs = {IMAGE_KEY: torch.from_numpy(images), POSITION_KEY: torch.from_numpy(positions)}
        return policy(obs_dict=obs).numpy()

    return act


def run_demo(
    steps: int = 1000,
    seed: int = 0,
    output_dir: str | Path = "reports/demo",
    config_path: str | Path | None = None,
    episodes: int = 150,
    eval_episodes: int = 100,
    batch_size: int = 32,
    progress: bool = True,
) -> DemoResult:
    """Generate demonstrations, train a policy from a config, evaluate it, write a report.

    Args:
        steps: Training steps.
        seed: Seeds data, weights, training order and evaluation episodes.
        output_dir: Report folder (config.json, model/, learning_curve.png, rollouts.png).
        config_path: A network config (JSON) to use instead of the bundled one.
        episodes: Expert demonstrations to collect.
        eval_episodes: Closed-loop evaluation episodes for each policy.
        batch_size: Training batch size.
        progress: Show a progress bar on stderr.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    task = ReachTask()
    config = load_config(config_path) if config_path else bundled_config()
    data = collect_demonstrations(task, rng, episodes)
    policy = build_from_config(config)
    losses, rate = train(
        policy, data, steps, batch_size, torch.Generator().manual_seed(seed), progress
    )
    eval_seed = seed + 1
    success, trajectories = evaluate(
        task, policy_actor(policy), np.random.default_rng(eval_seed), eval_episodes, record=6
    )
    random_rng = np.random.default_rng(seed + 2)
    random_success, _ = evaluate(
        task,
        lambda images, positions: random_rng.uniform(-1, 1, size=(len(positions), 2)),
        np.random.default_rng(eval_seed),
        eval_episodes,
    )
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_pretrained(policy, output / "model")
    draw_learning_curve(losses, output / "learning_curve.png")
    draw_rollouts(policy, task, trajectories, output / "rollouts.png")
    return DemoResult(success, random_success, losses, rate, output)


def _progress(step: int, total: int, loss: float, rate: float) -> None:
    width = 30
    filled = int(width * step / total)
    bar = "#" * filled + "." * (width - filled)
    line = f"[{bar}] {step}/{total}  loss {loss:7.3f}  {rate:5.1f} steps/s"
    if sys.stderr.isatty():
        print("\r" + line, end="", file=sys.stderr, flush=True)
    elif step % max(total // 10, 1) == 0 or step == total:
        print(line, file=sys.stderr, flush=True)
