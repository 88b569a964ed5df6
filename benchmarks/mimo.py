"""Per-forward overhead of ObservationEncoder (and MIMO_MLP) over calling their nets by hand.

A typical encoder: two low-dimensional keys ((3,) and (4,)) and one small image key
(3x32x32) encoded by a tiny custom core (Conv 3->8, stride 2, ReLU, Linear -> 16), batch 64,
eval mode, no gradients, one CPU thread. The "by hand" version calls the same modules
directly: ``torch.cat([pos, quat, relu(core(image))], -1)``. Calls of the two versions are
timed in turn (alternating which goes first), many times, and the medians compared; the overhead is
``(encoder - by_hand) / by_hand`` in percent. The same is done for a MIMO_MLP (that encoder,
an MLP [64, 64] and two heads) against its modules called by hand.

Prints a small table; ``--json PATH`` writes ``[{"name", "value", "unit"}, ...]``. Not a
test: nothing is asserted except that both versions compute the same numbers. On a machine
shared with other work the figures vary from run to run; compare those of one run.

    python benchmarks/mimo.py [--iters N] [--batch B] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from obsnets.bases import EncoderCore
from obsnets.encoders import ObservationEncoder
from obsnets.mimo import MIMO_MLP

IMAGE = [3, 32, 32]


class BenchTinyCore(EncoderCore):
    """Conv(3 -> 8, k3, s2) -> ReLU -> flatten -> Linear(-> 16)."""

    def __init__(self, input_shape: list[int], feature_dim: int = 16) -> None:
        super().__init__(input_shape)
        c, h, w = self.input_shape
        self.conv = nn.Conv2d(c, 8, kernel_size=3, stride=2)
        self.proj = nn.Linear(8 * ((h - 3) // 2 + 1) * ((w - 3) // 2 + 1), feature_dim)
        self.feature_dim = feature_dim

    def output_shape(self, input_shape: list[int] | None = None) -> list[int]:
        return [self.feature_dim]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.relu(self.conv(inputs)).flatten(1))


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], iters: int, warmup: int
) -> tuple[float, float]:
    """Median wall time (seconds) of two steps over ``iters`` calls each, timed in turn.

    The order alternates every iteration (first, second, then second, first), so neither
    version always runs on caches the other just warmed.
    """
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(iters):
        order = ((0, first), (1, second)) if i % 2 == 0 else ((1, second), (0, first))
        for slot, step in order:
            start = time.perf_counter()
            step()
            times[slot].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def build(batch: int) -> tuple[ObservationEncoder, MIMO_MLP, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    encoder = ObservationEncoder(feature_activation=nn.ReLU)
    encoder.register_obs_key("pos", [3])
    encoder.register_obs_key("quat", [4])
    encoder.register_obs_key("image", IMAGE, net_class=BenchTinyCore)
    encoder.make()
    mimo = MIMO_MLP(
        {"obs": {"pos": [3], "quat": [4], "image": IMAGE}},
        {"action": [7], "gripper": [1]},
        layer_dims=[64, 64],
        encoder_kwargs={"rgb": {"core_class": BenchTinyCore}},
        obs_modalities={"rgb": ["image"], "low_dim": ["pos", "quat"]},
    )
    obs = {
        "pos": torch.randn(batch, 3),
        "quat": torch.randn(batch, 4),
        "image": torch.rand(batch, *IMAGE),
    }
    return encoder.eval(), mimo.eval(), obs


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3000, help="timed calls per version")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    encoder, mimo, obs = build(args.batch)
    core = encoder.obs_nets["image"]
    activation = encoder.activation
    pos, quat, image = obs["pos"], obs["quat"], obs["image"]

    def by_hand() -> torch.Tensor:
        return torch.cat([pos, quat, activation(core(image))], dim=-1)

    mimo_core = mimo.nets["encoder"].nets["obs"].obs_nets["image"]
    mimo_act = mimo.nets["encoder"].nets["obs"].activation
    mlp, heads = mimo.nets["mlp"], mimo.nets["decoder"].nets

    def mimo_by_hand() -> dict[str, torch.Tensor]:
        hidden = mlp(torch.cat([pos, quat, mimo_act(mimo_core(image))], dim=-1))
        return {"action": heads["action"](hidden), "gripper": heads["gripper"](hidden)}

    with torch.no_grad():
        if not torch.equal(encoder(obs), by_hand()):
            raise SystemExit("ObservationEncoder and the by-hand composition disagree")
        if not torch.equal(mimo(obs=obs)["action"], mimo_by_hand()["action"]):
            raise SystemExit("MIMO_MLP and the by-hand composition disagree")
        enc_t, hand_t = paired_medians(lambda: encoder(obs), by_hand, args.iters, args.warmup)
        mimo_t, mimo_hand_t = paired_medians(
            lambda: mimo(obs=obs), mimo_by_hand, args.iters, args.warmup
        )

    results: list[dict[str, object]] = [
        {"name": "obs_encoder_forward_median", "value": enc_t * 1e6, "unit": "us"},
        {"name": "obs_encoder_by_hand_median", "value": hand_t * 1e6, "unit": "us"},
        {"name": "obs_encoder_overhead", "value": 100 * (enc_t - hand_t) / hand_t, "unit": "%"},
        {"name": "mimo_mlp_forward_median", "value": mimo_t * 1e6, "unit": "us"},
        {"name": "mimo_mlp_by_hand_median", "value": mimo_hand_t * 1e6, "unit": "us"},
        {
            "name": "mimo_mlp_overhead",
            "value": 100 * (mimo_t - mimo_hand_t) / mimo_hand_t,
            "unit": "%",
        },
    ]
    print(
        f"batch {args.batch}, {args.iters} timed calls each, {args.threads} thread(s); "
        f"keys: pos (3,), quat (4,), image {tuple(IMAGE)} -> BenchTinyCore"
    )
    for row in results:
        print(f"  {row['name']:<30} {row['value']:>10.2f} {row['unit']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
