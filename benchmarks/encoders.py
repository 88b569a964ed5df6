"""Throughput of the image encoder path: VisualCore training steps and CropRandomizer.

Prints a small table (and, with ``--json PATH``, writes ``[{"name", "value", "unit"}, ...]``):

* VisualCore (ResNet18Conv + SpatialSoftmax + Linear 64) forward+backward on 76x76 crops of
  84x84 images, batch 64: images per second, default memory format and channels-last;
* the FLOPs of one such step (counted with ``torch.utils.flop_counter.FlopCounterMode``) and
  the achieved FLOP rate as a fraction of this machine's float32 matmul rate (a 2048^2
  product timed in turn with the encoder steps, so both see the same machine load);
* CropRandomizer (from obsnets-randomizers, resolved by name) training-mode throughput, or a
  note when that plugin is not installed.

The default run takes about a minute on 2 CPU cores; ``--iters`` trades time for precision.
Throughputs are medians over timed iterations after a warm-up; the two memory formats and
the matmul are timed in turn, so that a change in machine load affects all alike. On a machine
shared with other work the figures vary from run to run; compare those of one run. Not a test:
nothing is asserted.

    python benchmarks/encoders.py [--iters N] [--batch B] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import obsnets

IMAGE = (3, 84, 84)
CROP = 76


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    step: Callable[[], object], iters: int, warmup: int, device: torch.device
) -> float:
    """Median wall time of ``step`` over ``iters`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    _sync(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_median_seconds(
    steps: list[Callable[[], object]], iters: int, warmup: int, device: torch.device
) -> list[float]:
    """Median wall time of each step, timing them in turn so that load changes hit all alike."""
    for step in steps:
        for _ in range(warmup):
            step()
    _sync(device)
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(iters):
        for step, record in zip(steps, times):
            start = time.perf_counter()
            step()
            _sync(device)
            record.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def matmul_step_fn(device: torch.device) -> tuple[Callable[[], object], float]:
    """A float32 square matmul (the machine's reference rate) and its FLOP count."""
    n = 4096 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    return (lambda: a @ b), 2.0 * n**3


def crop_batch(images: torch.Tensor) -> torch.Tensor:
    """Center 76x76 crops (the eval-mode crop), for feeding the encoder without the plugin."""
    top = (images.shape[-2] - CROP) // 2
    left = (images.shape[-1] - CROP) // 2
    return images[..., top : top + CROP, left : left + CROP].contiguous()


def encoder_step_fn(
    channels_last: bool, inputs: torch.Tensor, device: torch.device
) -> tuple[Callable[[], None], torch.nn.Module]:
    """One training step's compute: forward, a scalar loss, backward (no optimizer)."""
    torch.manual_seed(0)
    core = obsnets.build_component(
        "VisualCore", {"input_shape": [3, CROP, CROP], "channels_last": channels_last}
    ).to(device)
    core.train()

    def step() -> None:
        core.zero_grad(set_to_none=True)
        core(inputs).square().mean().backward()

    return step, core


def count_flops(step: Callable[[], None]) -> int:
    """FLOPs of one call of ``step`` (matmuls and convolutions, forward and backward)."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return int(counter.get_total_flops())


def crop_randomizer_throughput(
    images: torch.Tensor, iters: int, device: torch.device
) -> tuple[float | None, str]:
    """Images per second through CropRandomizer.forward_in in training mode, if installed."""
    try:
        randomizer = obsnets.build_component(
            "CropRandomizer",
            {"input_shape": list(IMAGE), "crop_height": CROP, "crop_width": CROP, "num_crops": 1},
            kind="randomizer",
        )
    except (obsnets.UnknownComponentError, obsnets.PluginLoadError) as exc:
        return None, f"CropRandomizer skipped: obsnets-randomizers not available ({exc})"
    randomizer.to(device).train()
    with torch.no_grad():
        seconds = median_seconds(lambda: randomizer.forward_in(images), iters * 10, 3, device)
    return images.shape[0] / seconds, ""


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per figure")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    torch.manual_seed(0)
    images = torch.rand(args.batch, *IMAGE, device=device)
    crops = crop_batch(images)
    results: list[dict[str, object]] = []
    notes: list[str] = []

    def record(name: str, value: float, unit: str) -> None:
        results.append({"name": name, "value": value, "unit": unit})

    matmul, matmul_flops = matmul_step_fn(device)
    step, _ = encoder_step_fn(False, crops, device)
    step_cl, _ = encoder_step_fn(True, crops, device)
    flops = count_flops(step)
    seconds, seconds_cl, seconds_mm = interleaved_median_seconds(
        [step, step_cl, matmul], args.iters, args.warmup, device
    )
    peak = matmul_flops / seconds_mm
    record("matmul_fp32_rate", peak / 1e9, "GFLOP/s")
    record("visualcore_train_step_flops_per_image", flops / args.batch / 1e9, "GFLOP")
    record("visualcore_fwd_bwd_throughput", args.batch / seconds, "images/s")
    record("visualcore_fwd_bwd_flop_rate", flops / seconds / 1e9, "GFLOP/s")
    record("visualcore_fwd_bwd_fraction_of_matmul_rate", flops / seconds / peak, "fraction")
    record("visualcore_fwd_bwd_throughput_channels_last", args.batch / seconds_cl, "images/s")
    record("channels_last_speedup", seconds / seconds_cl, "x")

    crop_rate, note = crop_randomizer_throughput(images, args.iters, device)
    if crop_rate is None:
        notes.append(note)
    else:
        record("crop_randomizer_train_throughput", crop_rate, "images/s")

    header = (
        f"obsnets encoders benchmark: device={device}, threads={torch.get_num_threads()}, "
        f"batch={args.batch}, input {IMAGE[1]}x{IMAGE[2]} cropped to {CROP}x{CROP}, "
        f"median of {args.iters} iterations"
    )
    print(header)
    width = max(len(str(r["name"])) for r in results)
    for r in results:
        print(f"  {r['name']!s:<{width}}  {float(r['value']):>12.4g}  {r['unit']}")
    for note in notes:
        print(f"  note: {note}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
