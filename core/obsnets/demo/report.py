"""Pictures for the demo report: the learning curve and rollouts with the learned keypoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from obsnets.bases import EncoderCore, PoolBase
from obsnets.demo.policy_protocol import policy_horizons
from obsnets.demo.reach_task import ReachTask
from obsnets.saved_folder import write_file

__all__ = ["draw_learning_curve", "draw_rollouts", "spatial_keypoints"]

SCALE = 3  # rollout images are drawn at 3x the camera resolution


def draw_learning_curve(
    losses: list[float], path: Path, size: tuple[int, int] = (640, 360)
) -> None:
    """Plot the training loss (and its running mean) against the step, as a PNG.

    The file is replaced atomically (:func:`obsnets.saved_folder.write_file`).
    """
    width, height = size
    margin = 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    values = np.asarray(losses, dtype=np.float64)
    window = max(len(values) // 50, 1)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    low, high = float(np.percentile(values, 1)), float(np.percentile(values, 99))
    span = max(high - low, 1e-6)

    def point(i: float, v: float) -> tuple[float, float]:
        x = margin + (width - 2 * margin) * i / max(len(values) - 1, 1)
        y = height - margin - (height - 2 * margin) * (min(max(v, low), high) - low) / span
        return x, y

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    draw.line([point(i, v) for i, v in enumerate(values)], fill=(180, 200, 230), width=1)
    draw.line([point(i + window - 1, v) for i, v in enumerate(smooth)], fill=(20, 60, 160), width=2)
    draw.text((margin, 15), "training loss per step", fill="black")
    draw.text((5, margin - 5), f"{high:.2f}", fill="black")
    draw.text((5, height - margin - 5), f"{low:.2f}", fill="black")
    draw.text((width - margin - 30, height - margin + 10), f"{len(values)}", fill="black")
    draw.text((margin, height - margin + 10), "0", fill="black")
    # PIL picks the format from the suffix, which the temporary file keeps.
    write_file(path, image.save)


@torch.no_grad()
def spatial_keypoints(policy: torch.nn.Module, obs: dict[str, torch.Tensor]) -> np.ndarray | None:
    """Keypoints ``(B, K, 2)`` in camera pixels (column, row) of the policy's first pool.

    The pool's output is read with a forward hook; keypoints in [-1, 1] of the (centre-cropped)
    network input are mapped back to the full camera image.
    """
    pools = [m for m in policy.modules() if isinstance(m, PoolBase)]
    cores = [m for m in policy.modules() if isinstance(m, EncoderCore)]
    if not pools or not cores:
        return None
    frames = policy_horizons(policy).observation
    batch = next(iter(obs.values())).shape[0]
    if frames is not None:  # the same frame as the whole history
        obs = {k: v.unsqueeze(1).expand(-1, frames, *v.shape[1:]) for k, v in obs.items()}
    captured: list[torch.Tensor] = []
    handle = pools[0].register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        policy.eval()
        policy(obs_dict=obs)
    finally:
        handle.remove()
    if not captured or captured[0].dim() != 3 or captured[0].shape[-1] != 2:
        return None
    points = captured[0].reshape(batch, -1, *captured[0].shape[1:])[:, -1]  # the latest frame
    crop_h, crop_w = cores[0].input_shape[-2:]
    full = next(iter(obs.values())).shape[-1]
    offset = np.array([(full - crop_w) // 2, (full - crop_h) // 2], dtype=np.float64)
    keypoints = points.numpy().astype(np.float64)
    return offset + (keypoints + 1.0) / 2.0 * np.array([crop_w, crop_h])


def draw_rollouts(
    policy: torch.nn.Module, task: ReachTask, trajectories: list[dict[str, Any]], path: Path
) -> None:
    """A grid of first camera frames with the agent's path, the target and the keypoints, as a
    PNG, replaced atomically (:func:`obsnets.saved_folder.write_file`)."""
    if not trajectories:
        return
    images = np.stack([t["image"] for t in trajectories]).astype(np.float32)
    positions = np.stack([t["path"][0] for t in trajectories]).astype(np.float32)
    obs = {"agentview_image": torch.from_numpy(images), "agent_pos": torch.from_numpy(positions)}
    keypoints = spatial_keypoints(policy, obs)
    tile = task.image_size * SCALE
    columns = min(3, len(trajectories))
    rows = -(-len(trajectories) // columns)
    canvas = Image.new("RGB", (columns * tile, rows * tile + 20), "white")
    for i, trajectory in enumerate(trajectories):
        frame = (np.transpose(trajectory["image"], (1, 2, 0)) * 255).astype(np.uint8)
        picture = Image.fromarray(frame).resize((tile, tile), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(picture)
        path_pixels = [tuple(p) for p in task.to_pixels(trajectory["path"]) * SCALE]
        draw.line(path_pixels, fill=(255, 255, 255), width=2)
        if keypoints is not None:
            for x, y in keypoints[i] * SCALE:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(255, 230, 0), width=2)
        canvas.paste(picture, ((i % columns) * tile, (i // columns) * tile))
    ImageDraw.Draw(canvas).text(
        (5, rows * tile + 4),
        "white: agent path   yellow: SpatialSoftmax keypoints   red: target",
        fill="black",
    )
    write_file(path, canvas.save)
