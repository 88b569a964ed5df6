"""The demo pipeline: demonstrations -> a policy from a config -> training -> closed-loop tests.

Every network in it is named in a JSON config and built through the registry; the demo itself
imports no plugin. How a policy is trained and run (a likelihood or its own loss, single steps
or observation histories and action chunks) follows :mod:`obsnets.demo.policy_protocol`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.config import build_from_config, load_config
from obsnets.demo.policy_protocol import policy_horizons, policy_loss, trains_by_loss
from obsnets.demo.reach_task import ReachTask
from obsnets.demo.report import draw_learning_curve, draw_rollouts
from obsnets.demo.windows import window_rows
from obsnets.errors import ConfigError
from obsnets.examples import SUFFIX, example_names, example_text
from obsnets.precision import PRECISIONS, autocast_cpu
from obsnets.saved_folder import write_file
from obsnets.saving import save_pretrained

__all__ = ["DEFAULT_CONFIG", "LIMITS", "DemoResult", "run_demo"]

IMAGE_KEY, POSITION_KEY = "agentview_image", "agent_pos"
DEFAULT_CONFIG = "reach_gmm_policy.json"
RECORDED_ROLLOUTS = 6
LIMITS: dict[str, tuple[int, int]] = {
    "steps": (1, 1_000_000),
    "seed": (0, 2**32 - 1),
    "episodes": (1, 1_000),  # about 2.5 MB of images per demonstration
    "eval_episodes": (1, 5_000),  # every step renders all episodes at once
    "batch_size": (1, 4_096),
}
"""Inclusive range of each integer argument of :func:`run_demo` (the CLI's ranges too)."""


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


def bundled_config(name: str = DEFAULT_CONFIG) -> dict[str, Any]:
    """A network config bundled with obsnets (:mod:`obsnets.examples`): by default the demo's
    image GMM policy; ``"reach_diffusion_policy"`` is an image diffusion policy (needs
    obsnets-diffusion). ``.json`` is optional."""
    return dict(json.loads(example_text(name)))


def demo_config(config_path: str | Path | None) -> dict[str, Any]:
    """The config to train: a JSON file, else a bundled config's name (see
    :func:`bundled_config`), else the default bundled one."""
    if not config_path:
        return bundled_config()
    name = str(config_path)
    if not Path(name).exists() and name.removesuffix(SUFFIX) in example_names():
        return bundled_config(name)
    return load_config(config_path)


def collect_demonstrations(
    task: ReachTask, rng: np.random.Generator, episodes: int
) -> dict[str, np.ndarray]:
    """Roll the expert out.

    Returns:
        Images ``(N, 3, H, W)``, positions and actions ``(N, 2)``, and each row's
        ``"episode"`` and ``"step"`` ``(N,)``.
    """
    agents, targets = task.reset(rng, episodes)
    images, positions, actions, episode_ids, steps = [], [], [], [], []
    active = np.ones(episodes, dtype=bool)
    for step in range(task.max_steps):
        expert = task.expert_actions(agents, targets)
        images.append(task.render(agents[active], targets[active]))
        positions.append(agents[active])
        actions.append(expert[active])
        episode_ids.append(np.flatnonzero(active))
        steps.append(np.full(int(active.sum()), step))
        agents = task.step(agents, expert)
        active &= ~task.reached(agents, targets)
        if not active.any():
            break
    return {
        IMAGE_KEY: np.concatenate(images),
        POSITION_KEY: np.concatenate(positions),
        "actions": np.concatenate(actions),
        "episode": np.concatenate(episode_ids),
        "step": np.concatenate(steps),
    }


def train(
    policy: torch.nn.Module,
    data: dict[str, np.ndarray],
    steps: int,
    batch_size: int,
    generator: torch.Generator,
    progress: bool = True,
    precision: str = "fp32",
) -> tuple[list[float], float]:
    """Behaviour cloning with the policy's loss (see :func:`policy_loss`).

    With ``precision="bf16"`` the forward pass and loss run under bf16 autocast (the
    weights and the optimiser stay float32).

    Policies with horizons get observation histories ``(B, To, ...)`` and action chunks
    ``(B, Tp, A)`` cut from the demonstrations' episodes.

    Returns:
        The loss per step and the training steps per second.
    """
    tensors = {k: torch.from_numpy(v) for k, v in data.items()}
    horizons = policy_horizons(policy)
    obs_rows = _rows(data, horizons.observation, first=1 - (horizons.observation or 1))
    action_rows = _rows(data, horizons.prediction, first=0)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    policy.train()
    losses: list[float] = []
    start = time.perf_counter()
    count = len(tensors["actions"])
    for step in range(steps):
        index = torch.randint(count, (batch_size,), generator=generator)
        obs_index = index if obs_rows is None else obs_rows[index]  # (B,) or (B, To)
        obs = {k: tensors[k][obs_index] for k in (IMAGE_KEY, POSITION_KEY)}
        action_index = index if action_rows is None else action_rows[index]  # (B,) or (B, Tp)
        with autocast_cpu(precision):
            loss = policy_loss(policy, obs, tensors["actions"][action_index])
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
    """Wrap a policy as ``act(images, positions) -> actions`` in eval mode, for one run of
    :func:`evaluate` (fresh episodes start together).

    A policy with an observation horizon sees the last ``To`` frames (the first repeated
    before the start); one with an action horizon is asked every ``Ta`` steps and its actions
    are executed in order.
    """
    horizons = policy_horizons(policy)
    frames: list[dict[str, torch.Tensor]] = []
    planned: list[np.ndarray] = []  # actions still to execute, each (n, 2)

    @torch.no_grad()
    def act(images: np.ndarray, positions: np.ndarray) -> np.ndarray:
        policy.eval()
        obs = {IMAGE_KEY: torch.from_numpy(images), POSITION_KEY: torch.from_numpy(positions)}
        if horizons.observation is not None:
            frames[:] = [*(frames or [obs] * horizons.observation)[1:], obs]
            obs = {k: torch.stack([f[k] for f in frames], dim=1) for k in obs}  # (n, To, ...)
        if horizons.action is None:
            return policy(obs_dict=obs).numpy()
        if not planned:
            planned.extend(policy(obs_dict=obs).numpy().swapaxes(0, 1))  # Ta x (n, 2)
        return planned.pop(0)

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
    precision: str = "fp32",
) -> DemoResult:
    """Generate demonstrations, train a policy from a config, evaluate it, write a report.

    Args:
        steps: Training steps.
        seed: Seeds data, weights, training order and evaluation episodes.
        output_dir: Report folder (config.json, model/, learning_curve.png, rollouts.png).
        config_path: A network config (JSON) to use instead of the bundled one, or the file
            name of another bundled config (``"reach_diffusion_policy.json"``).
        episodes: Expert demonstrations to collect.
        eval_episodes: Closed-loop evaluation episodes for each policy.
        batch_size: Training batch size.
        progress: Show a progress bar on stderr.
        precision: ``"fp32"``, or ``"bf16"`` to train and evaluate under bf16 autocast.

    Raises:
        ConfigError: an integer argument outside its range in :data:`LIMITS`, an unknown
            ``precision``, or a config
            that does not build a policy with ``forward_train`` and 2-D actions (both found
            before any data is collected).
    """
    _check_limits(
        steps=steps,
        seed=seed,
        episodes=episodes,
        eval_episodes=eval_episodes,
        batch_size=batch_size,
    )
    if precision not in PRECISIONS:
        raise ConfigError(f"run_demo: precision must be one of {PRECISIONS}, got {precision!r}.")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    task = ReachTask()
    config = demo_config(config_path)
    policy = _demo_policy(config)
    data = collect_demonstrations(task, rng, episodes)
    losses, rate = train(
        policy, data, steps, batch_size, torch.Generator().manual_seed(seed), progress, precision
    )
    eval_seed = seed + 1
    with autocast_cpu(precision):
        success, trajectories = evaluate(
            task,
            policy_actor(policy),
            np.random.default_rng(eval_seed),
            eval_episodes,
            record=min(RECORDED_ROLLOUTS, eval_episodes),
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
    text = json.dumps(config, indent=2) + "\n"
    write_file(output / "config.json", lambda staging: staging.write_text(text))
    save_pretrained(policy, output / "model")
    draw_learning_curve(losses, output / "learning_curve.png")
    draw_rollouts(policy, task, trajectories, output / "rollouts.png")
    return DemoResult(success, random_success, losses, rate, output)


def _check_limits(**values: int) -> None:
    for name, value in values.items():
        low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"run_demo: {name} must be an integer from {low:,} to {high:,}, got {value!r}."
            )


def _demo_policy(config: dict[str, Any]) -> torch.nn.Module:
    """Build the config's network; it must be a policy the demo can train and run."""
    policy = build_from_config(config)
    if not (trains_by_loss(policy) or callable(getattr(policy, "forward_train", None))):
        raise ConfigError(
            f"The demo trains a policy network by its training_loss(obs_dict, actions) or by "
            f"the likelihood of forward_train's distribution (e.g. GMMActorNetwork, "
            f"DiffusionPolicyNetwork); the config builds {type(policy).__name__}, which has "
            f"neither."
        )
    policy_horizons(policy)  # a malformed horizon fails here, before any data is collected
    ac_dim = getattr(policy, "ac_dim", None)
    if ac_dim != 2:
        raise ConfigError(
            f"The demo's actions are 2-D velocities: the config's {type(policy).__name__} "
            f"needs ac_dim 2, got {ac_dim!r}."
        )
    return policy


def _rows(data: dict[str, np.ndarray], length: int | None, first: int) -> torch.Tensor | None:
    """Rows ``(N, length)`` of steps ``first .. first + length - 1`` around each recorded row,
    within its episode; ``None`` for single-step policies."""
    if length is None:
        return None
    offsets = np.arange(first, first + length)
    return torch.from_numpy(window_rows(data["episode"], data["step"], offsets))


def _progress(step: int, total: int, loss: float, rate: float) -> None:
    width = 30
    filled = int(width * step / total)
    bar = "#" * filled + "." * (width - filled)
    line = f"[{bar}] {step}/{total}  loss {loss:7.3f}  {rate:5.1f} steps/s"
    if sys.stderr.isatty():
        print("\r" + line, end="", file=sys.stderr, flush=True)
    elif step % max(total // 10, 1) == 0 or step == total:
        print(line, file=sys.stderr, flush=True)
