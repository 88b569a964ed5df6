"""A small 2-D reaching task with image observations, and its expert.

An agent (blue disk) moves in the square [-1, 1]^2 towards a target (red disk) that appears
only in the camera image; the policy also observes the agent's position as a low-dimensional
vector. Actions are velocities in [-1, 1]^2; an episode succeeds when the agent comes within
``success_radius`` of the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ReachTask"]


@dataclass
class ReachTask:
    """The reaching task, vectorised over a batch of episodes.

    Args:
        image_size: Side of the square RGB camera image, in pixels.
        max_steps: Steps per episode.
        step_size: How far one action of norm 1 moves the agent.
        success_radius: Distance to the target that counts as reached.
        target_radius: Radius of the drawn target disk, in pixels.
        agent_radius: Radius of the drawn agent disk, in pixels.
    """

    image_size: int = 84
    max_steps: int = 30
    step_size: float = 0.12
    success_radius: float = 0.12
    target_radius: float = 5.0
    agent_radius: float = 3.0

    def reset(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` episodes: agent positions and targets, each ``(n, 2)``, at least 0.5 apart."""
        agents = rng.uniform(-0.85, 0.85, size=(n, 2))
        targets = rng.uniform(-0.85, 0.85, size=(n, 2))
        close = np.linalg.norm(agents - targets, axis=1) < 0.5
        while close.any():
            targets[close] = rng.uniform(-0.85, 0.85, size=(int(close.sum()), 2))
            close = np.linalg.norm(agents - targets, axis=1) < 0.5
        return agents.astype(np.float32), targets.astype(np.float32)

    def step(self, agents: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Move the agents by clipped actions ``(n, 2)``; positions stay in the square."""
        moved = agents + self.step_size * np.clip(actions, -1.0, 1.0)
        return np.clip(moved, -1.0, 1.0).astype(np.float32)

    def reached(self, agents: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Whether each agent is within ``success_radius`` of its target, ``(n,)`` bools."""
        return np.linalg.norm(agents - targets, axis=1) < self.success_radius

    def expert_actions(self, agents: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The expert: full speed towards the target, slowing down on arrival, ``(n, 2)``."""
        delta = (targets - agents) / self.step_size
        norm = np.maximum(np.linalg.norm(delta, axis=1, keepdims=True), 1.0)
        return (delta / norm).astype(np.float32)

    def render(self, agents: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Camera images ``(n, 3, H, W)``, float32 in [0, 1]: target red, agent blue."""
        size = self.image_size
        pixels = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
        ys, xs = np.meshgrid(pixels, pixels, indexing="ij")
        images = np.full((len(agents), 3, size, size), 0.15, dtype=np.float32)
        pixel_scale = size / 2.0
        for position, radius, colour in (
            (targets, self.target_radius, (0.95, 0.2, 0.2)),
            (agents, self.agent_radius, (0.2, 0.45, 0.95)),
        ):
            dx = xs[None] - position[:, 0, None, None]
            dy = ys[None] - position[:, 1, None, None]
            inside = (dx**2 + dy**2) * pixel_scale**2 <= radius**2
            for channel, value in enumerate(colour):
                images[:, channel][inside] = value
        return images

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Positions in [-1, 1] (x, y) to pixel coordinates (column, row)."""
        return (points + 1.0) / 2.0 * self.image_size
