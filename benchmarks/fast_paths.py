"""The fast paths against the baseline (eager float32, NCHW, same threads), as ratios.

Three workloads, each timed in interleaved rounds in this one process (round r runs the
baseline, then every fast path, so a change in machine load hits all alike):

* VisualCore (ResNet18Conv + SpatialSoftmax(32) + Linear 64) forward+backward on 76x76 crops,
  batch 64: baseline, channels-last, bf16 autocast, bf16 autocast + channels-last;
* the BC-RNN-GMM image training step (2 cameras, LSTM 2x1000, 5 modes; the policy of
  ``benchmarks/policies.py``), batch 16 x T=10: ``forward_train`` + NLL + ``backward``,
  baseline and bf16 autocast;
* batch-1 ``forward_step`` of the same policy (eval mode, LSTM state carried): eager against
  the exported policy (``obsnets.export_policy`` + ``obsnets.load_exported``): ONNX Runtime
  for fp32, OpenVINO for bf16; median and 90th percentile.

``--precision`` picks the fast paths' precisions (default both). bf16 pays off only where the
CPU computes it natively (AVX512-BF16 or AMX, ``lscpu`` flags ``avx512_bf16`` / ``amx_bf16``);
elsewhere oneDNN emulates it and bf16 is slower than float32 — the script prints which. The
figures are measurements to read, never assertions. Writes ``[{"name", "value", "unit"}]``
with ``--json PATH``.

    python benchmarks/fast_paths.py [--precision fp32 bf16] [--rounds N] [--threads N]
                                    [--train-batch B] [--seq-len T] [--steps N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import obsnets
from obsnets import build_component

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policies import build_policy, observations, percentile, training_batch, training_step

Step = Callable[[], object]


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def interleaved(steps: dict[str, Step], rounds: int, per_round: int = 1) -> dict[str, list[float]]:
    """Wall times of each step: one warm-up call each, then ``rounds`` rounds of all in turn."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(per_round):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    return times


def visual_core_steps(precisions: list[str]) -> dict[str, Step]:
    """VisualCore forward+backward, batch 64, 76x76: baseline and fast paths."""
    kwargs = {
        "input_shape": [3, 76, 76],
        "backbone_class": "ResNet18Conv",
        "backbone_kwargs": {"pretrained": False, "input_coord_conv": False},
        "pool_class": "SpatialSoftmax",
        "pool_kwargs": {"num_kp": 32},
        "feature_dimension": 64,
    }
    torch.manual_seed(0)
    nchw = build_component("VisualCore", kwargs, kind="encoder_core").train()
    last = build_component("VisualCore", {**kwargs, "channels_last": True}, kind="encoder_core")
    last.load_state_dict(nchw.state_dict())
    images = torch.rand(64, 3, 76, 76)

    def step(core: torch.nn.Module, bf16: bool) -> Step:
        def run() -> None:
            core.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = core(images)
            out.float().square().mean().backward()

        return run

    steps = {"baseline": step(nchw, False)}
    if "fp32" in precisions:
        steps["fp32 channels-last"] = step(last, False)
    if "bf16" in precisions:
        steps["bf16"] = step(nchw, True)
        steps["bf16 channels-last"] = step(last, True)
    return steps


def training_steps(precisions: list[str], batch: int, seq_len: int) -> dict[str, Step]:
    """The BC-RNN-GMM image training step (``policies.training_step``): baseline and bf16."""
    policy = build_policy().train()
    obs, actions = training_batch(batch, seq_len, torch.device("cpu"))
    steps = {"baseline": training_step(policy, obs, actions)}
    if "bf16" in precisions:
        steps["bf16"] = training_step(policy, obs, actions, bf16=True)
    return steps


def control_steps(precisions: list[str], folder: Path) -> tuple[dict[str, Step], dict[str, Any]]:
    """Batch-1 forward_step: eager and the exported policy at each precision."""
    policy = build_policy().eval()
    frames = [observations((1,), torch.device("cpu")) for _ in range(8)]
    info: dict[str, Any] = {}
    runners: dict[str, Callable[[dict[str, torch.Tensor], Any], Any]] = {}

    def eager(obs: dict[str, torch.Tensor], state: Any) -> Any:
        with torch.inference_mode():
            return policy.forward_step(obs, rnn_state=state)[1]

    runners["baseline"] = eager
    for precision in precisions:
        start = time.perf_counter()
        out = obsnets.export_policy(policy, folder / precision, precision)
        info[f"export_{precision}_s"] = time.perf_counter() - start
        info[f"artefact_{precision}_mb"] = (out / "policy.onnx").stat().st_size / 2**20
        start = time.perf_counter()
        exported = obsnets.load_exported(out)
        info[f"load_{precision}_s"] = time.perf_counter() - start
        runners[f"exported {precision} ({exported.engine})"] = lambda o, s, e=exported: e.step(
            o, s
        )[1]

    def loop(run: Callable[[dict[str, torch.Tensor], Any], Any]) -> Step:
        state: Any = None
        index = 0

        def one() -> None:
            nonlocal state, index
            state = run(frames[index % len(frames)], state)
            index += 1

        return one

    return {name: loop(run) for name, run in runners.items()}, info


def report(title: str, times: dict[str, list[float]], key: str, p90: bool = False) -> list[dict]:
    """Print baseline, each fast path and its speed-up; return the records."""
    base = statistics.median(times["baseline"])
    print(f"\n{title}")
    records = []
    for name, values in times.items():
        median = statistics.median(values)
        line = f"  {name:34s} median {median * 1e3:9.2f} ms"
        if p90:
            line += f"   p90 {percentile(values, 0.9) * 1e3:9.2f} ms"
        ratio = base / median
        print(line + ("" if name == "baseline" else f"   {ratio:5.2f}x"))
        slug = name.split(" (")[0].replace(" ", "_").replace("-", "_")
        records.append({"name": f"{key}_{slug}_median", "value": median * 1e3, "unit": "ms"})
        if p90:
            records.append({"name": f"{key}_{slug}_p90", "value": percentile(values, 0.9) * 1e3,
                            "unit": "ms"})  # fmt: skip
        if name != "baseline":
            records.append({"name": f"{key}_{slug}_speedup", "value": ratio, "unit": "x"})
    return records


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", nargs="+", choices=("fp32", "bf16"),
                        default=["fp32", "bf16"], help="fast-path precisions")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--train-batch", type=int, default=16, help="BC-RNN-GMM batch size")
    parser.add_argument("--seq-len", type=int, default=10, help="BC-RNN-GMM sequence length")
    parser.add_argument("--steps", type=int, default=20, help="forward_step calls per round")
    parser.add_argument("--skip", nargs="*", default=[], choices=("visual", "train", "control"),
                        help="workloads to leave out")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="write results to this file")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, CPU "
        f"{torch.backends.cpu.get_cpu_capability()}, native bf16: "
        f"{'yes' if native_bf16() else 'no (bf16 is emulated: expect it slower)'}"
    )
    records: list[dict[str, Any]] = []
    if "visual" not in args.skip:
        times = interleaved(visual_core_steps(args.precision), args.rounds)
        records += report("VisualCore fwd+bwd, batch 64, 76x76", times, "visual_core")
    if "train" not in args.skip:
        steps = training_steps(args.precision, args.train_batch, args.seq_len)
        times = interleaved(steps, args.rounds)
        title = f"BC-RNN-GMM image training step, batch {args.train_batch} x T={args.seq_len}"
        records += report(title, times, "bc_rnn_gmm_train")
    if "control" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            steps, info = control_steps(args.precision, Path(tmp))
            times = interleaved(steps, args.rounds, per_round=args.steps)
        records += report("BC-RNN-GMM forward_step, batch 1", times, "forward_step", p90=True)
        for name, value in info.items():
            print(f"  {name:34s} {value:9.2f}")
            unit = "MiB" if name.endswith("_mb") else "s"
            records.append({"name": name, "value": value, "unit": unit})
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return records


if __name__ == "__main__":
    main()
