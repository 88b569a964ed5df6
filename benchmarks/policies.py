"""Speed of the BC-RNN-GMM image policy: training steps per second and control-loop latency.

The policy is robomimic's BC-RNN-GMM image configuration, built by name through the registry
(``RNNGMMActorNetwork`` from obsnets-policy, ``VisualCore`` from obsnets-visual,
``CropRandomizer`` from obsnets-randomizers):

* two 84x84 RGB cameras, each randomly cropped to 76x76 in training (center crop in eval),
  encoded by ResNet18Conv + SpatialSoftmax(32 keypoints) + Linear(64);
* three low-dimensional keys (end-effector position, quaternion, gripper), 9 values;
* a 2-layer LSTM with 1000 hidden units, a 5-mode GMM head over 7-d actions.

Prints (and, with ``--json PATH``, writes ``[{"name", "value", "unit"}, ...]``):

* training steps per second at batch 16 x T=10 (train mode; ``forward_train``, the negative
  log-likelihood of the actions, ``backward``; no optimiser step), the median over timed
  iterations after a warm-up;
* the latency of one ``forward_step`` at batch 1 in eval mode (what a robot control loop pays
  per action, carrying the LSTM state), median and 90th percentile over many steps.

The default run takes about a minute on 2 otherwise idle CPU cores; ``--train-iters`` and
``--step-iters`` trade time for precision. Not a test: nothing is asserted.

``--precision bf16`` runs both under bf16 autocast (on any device, e.g. ``--device cuda``).
``benchmarks/fast_paths.py`` times the same training step (built by :func:`training_step`
here) against float32 in interleaved rounds on the CPU, as ratios, with the exported policy.

    python benchmarks/policies.py [--train-iters N] [--step-iters N] [--device cpu]
                                  [--threads N] [--precision fp32|bf16] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from obsnets import build_component

CAMERAS = ("agentview_image", "robot0_eye_in_hand_image")
IMAGE = (3, 84, 84)
LOW_DIM = {"robot0_eef_pos": (3,), "robot0_eef_quat": (4,), "robot0_gripper_qpos": (2,)}
AC_DIM = 7


def policy_kwargs() -> dict[str, Any]:
    """Constructor arguments of the BC-RNN-GMM image policy (robomimic's defaults)."""
    obs_shapes = {**{c: IMAGE for c in CAMERAS}, **LOW_DIM}
    return {
        "obs_shapes": obs_shapes,
        "ac_dim": AC_DIM,
        "mlp_layer_dims": [],
        "rnn_hidden_dim": 1000,
        "rnn_num_layers": 2,
        "rnn_type": "LSTM",
        "rnn_kwargs": {"bidirectional": False},
        "num_modes": 5,
        "min_std": 0.0001,
        "std_activation": "softplus",
        "low_noise_eval": True,
        "use_tanh": False,
        "encoder_kwargs": {
            "rgb": {
                "core_class": "VisualCore",
                "core_kwargs": {
                    "backbone_class": "ResNet18Conv",
                    "backbone_kwargs": {"pretrained": False, "input_coord_conv": False},
                    "pool_class": "SpatialSoftmax",
                    "pool_kwargs": {
                        "num_kp": 32,
                        "learnable_temperature": False,
                        "temperature": 1.0,
                        "noise_std": 0.0,
                        "output_variance": False,
                    },
                    "flatten": True,
                    "feature_dimension": 64,
                },
                "obs_randomizer_class": "CropRandomizer",
                "obs_randomizer_kwargs": {
                    "crop_height": 76,
                    "crop_width": 76,
                    "num_crops": 1,
                    "pos_enc": False,
                },
            },
            "low_dim": {
                "core_class": None,
                "core_kwargs": {},
                "obs_randomizer_class": None,
                "obs_randomizer_kwargs": {},
            },
        },
        "obs_modalities": {"rgb": list(CAMERAS), "low_dim": list(LOW_DIM)},
    }


def observations(lead: tuple[int, ...], device: torch.device) -> dict[str, torch.Tensor]:
    """Random observations with leading dims ``lead``: images in [0, 1], low-dim normal."""
    obs = {c: torch.rand(*lead, *IMAGE, device=device) for c in CAMERAS}
    obs.update({k: torch.randn(*lead, *s, device=device) for k, s in LOW_DIM.items()})
    return obs


def build_policy(device: torch.device | str = "cpu") -> torch.nn.Module:
    """The BC-RNN-GMM image policy, built by name with seed 0, on ``device``."""
    torch.manual_seed(0)
    policy = build_component("RNNGMMActorNetwork", policy_kwargs(), kind="network")
    return policy.to(device)


def training_batch(
    batch: int, seq_len: int, device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Random observations ``(B, T, ...)`` and actions ``(B, T, AC_DIM)`` inside (-1, 1)."""
    obs = observations((batch, seq_len), device)
    actions = (torch.rand(batch, seq_len, AC_DIM, device=device) * 2 - 1) * 0.95
    return obs, actions


def training_step(
    policy: torch.nn.Module,
    obs: dict[str, torch.Tensor],
    actions: torch.Tensor,
    *,
    bf16: bool = False,
) -> Callable[[], None]:
    """One training step as a callable: ``forward_train``, the actions' negative
    log-likelihood, ``backward`` (no optimiser step), under bf16 autocast if ``bf16``.

    Args:
        policy: The policy, in train mode.
        obs: Observations ``(B, T, ...)`` per key.
        actions: Actions ``(B, T, AC_DIM)``, on the policy's device.
        bf16: Whether to run forward and loss under bf16 autocast on the actions' device.
    """

    def step() -> None:
        policy.zero_grad(set_to_none=True)
        with torch.autocast(actions.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = -policy.forward_train(obs).log_prob(actions).mean()
        loss.backward()

    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timings(
    step: Callable[[], object], iters: int, warmup: int, device: torch.device
) -> list[float]:
    """Wall time of each of ``iters`` calls of ``step``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    _sync(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by linear interpolation."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-iters", type=int, default=3, help="timed training steps")
    parser.add_argument("--train-warmup", type=int, default=1, help="untimed training steps")
    parser.add_argument("--step-iters", type=int, default=100, help="timed forward_step calls")
    parser.add_argument("--step-warmup", type=int, default=10, help="untimed forward_step calls")
    parser.add_argument("--batch", type=int, default=16, help="training batch size")
    parser.add_argument("--seq-len", type=int, default=10, help="training sequence length T")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="fp32, or bf16 autocast")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="write results to this file")
    args = parser.parse_args(argv)
    bf16 = args.precision == "bf16"

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    policy = build_policy(device)
    n_params = sum(p.numel() for p in policy.parameters())

    # -- training: forward_train + NLL + backward on (B, T) sequences, train mode ----------
    policy.train()
    obs, actions = training_batch(args.batch, args.seq_len, device)
    train_step = training_step(policy, obs, actions, bf16=bf16)
    train_times = timings(train_step, args.train_iters, args.train_warmup, device)
    train_median = statistics.median(train_times)

    # -- control loop: forward_step at batch 1, eval mode, carrying the LSTM state ---------
    policy.eval()
    frames = [observations((1,), device) for _ in range(8)]
    state: Any = None
    index = 0

    def control_step() -> None:
        nonlocal state, index
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            _, state = policy.forward_step(frames[index % len(frames)], rnn_state=state)
        index += 1

    step_times = timings(control_step, args.step_iters, args.step_warmup, device)

    results = [
        {"name": "bc_rnn_gmm_image_train_steps_per_s", "value": 1.0 / train_median,
         "unit": "steps/s"},
        {"name": "bc_rnn_gmm_image_train_step_median", "value": train_median * 1e3, "unit": "ms"},
        {"name": "bc_rnn_gmm_image_forward_step_latency_median",
         "value": statistics.median(step_times) * 1e3, "unit": "ms"},
        {"name": "bc_rnn_gmm_image_forward_step_latency_p90",
         "value": percentile(step_times, 0.9) * 1e3, "unit": "ms"},
    ]  # fmt: skip

    print(
        f"BC-RNN-GMM image policy: 2 cameras {IMAGE[1]}x{IMAGE[2]} -> crop 76, ResNet18 + "
        f"SpatialSoftmax, 3 low-dim keys, LSTM 2x1000, 5 modes, {AC_DIM}-d actions "
        f"({n_params / 1e6:.1f} M parameters)"
    )
    print(
        f"device {device}, {args.precision}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}; "
        f"training batch {args.batch} x T={args.seq_len}, {args.train_iters} timed steps; "
        f"{args.step_iters} timed forward_step calls"
    )
    for row in results:
        print(f"  {row['name']:48s} {row['value']:10.3f} {row['unit']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
