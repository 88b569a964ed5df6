"""Fused attention (``scaled_dot_product_attention``) against the written-out masked softmax.

obsnets-transformer's ``CausalSelfAttention`` runs PyTorch's fused
``scaled_dot_product_attention(is_causal=True)``; replacing its ``nets.attn_dropout`` by a
module that is not ``nn.Dropout`` switches it to the plain computation robomimic writes out
(scores, mask, softmax, dropout, values). Both are timed at robomimic's BC-Transformer context
of 10 steps: one attention layer in eval mode without gradients, and a training step (forward
and backward) of a GPT backbone. Calls of the two versions are timed in interleaved rounds
(alternating which goes first) and the medians compared; ``speed-up = plain / fused``.

Prints a small table; ``--json PATH`` writes ``[{"name", "value", "unit"}, ...]``. Not a test:
nothing is asserted except that both versions compute the same numbers. On a machine shared
with other work the figures vary from run to run; compare those of one run.

    python benchmarks/transformer.py [--iters N] [--batch B] [--device cpu|cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from obsnets_transformer import CausalSelfAttention, GPT_Backbone


def paired_medians(
    first: Callable[[], object],
    second: Callable[[], object],
    iters: int,
    warmup: int,
    sync: Callable[[], None],
) -> tuple[float, float]:
    """Median wall time (seconds) of two steps over ``iters`` calls each, in alternating order."""
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(iters):
        order = ((0, first), (1, second)) if i % 2 == 0 else ((1, second), (0, first))
        for slot, step in order:
            sync()
            start = time.perf_counter()
            step()
            sync()
            times[slot].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def written_out(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose attention layers take the written-out path."""
    plain = copy.deepcopy(module)
    for layer in plain.modules():
        if isinstance(layer, CausalSelfAttention):
            layer.nets["attn_dropout"] = nn.Identity()
    return plain


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200, help="timed calls per version")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--context", type=int, default=10)
    parser.add_argument("--embed-dim", type=int, default=128)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    torch.manual_seed(0)
    attention = CausalSelfAttention(args.embed_dim, args.heads, args.context, 0.0, 0.0)
    attention = attention.to(device).eval()
    plain_attention = written_out(attention)
    gpt = GPT_Backbone(
        args.embed_dim, args.context, 0.0, 0.0, num_layers=args.layers, num_heads=args.heads
    ).to(device)
    plain_gpt = written_out(gpt)
    x = torch.randn(args.batch, args.context, args.embed_dim, device=device)

    def train_step(model: nn.Module) -> Callable[[], None]:
        def step() -> None:
            model.zero_grad(set_to_none=True)
            model(x).square().mean().backward()

        return step

    with torch.no_grad():
        fused_out, plain_out = attention(x), plain_attention(x)
        if not torch.allclose(fused_out, plain_out, atol=1e-5, rtol=1e-4):
            raise SystemExit("the fused and written-out attention disagree")
        fused_t, plain_t = paired_medians(
            lambda: attention(x), lambda: plain_attention(x), args.iters, args.warmup, sync
        )
    step_fused, step_plain = paired_medians(
        train_step(gpt), train_step(plain_gpt), args.iters, args.warmup, sync
    )

    results: list[dict[str, object]] = [
        {"name": "attention_fused_median", "value": fused_t * 1e6, "unit": "us"},
        {"name": "attention_plain_median", "value": plain_t * 1e6, "unit": "us"},
        {"name": "attention_speedup", "value": plain_t / fused_t, "unit": "x"},
        {"name": "gpt_train_step_fused_median", "value": step_fused * 1e6, "unit": "us"},
        {"name": "gpt_train_step_plain_median", "value": step_plain * 1e6, "unit": "us"},
        {"name": "gpt_train_step_speedup", "value": step_plain / step_fused, "unit": "x"},
    ]
    print(
        f"context {args.context}, batch {args.batch}, embed {args.embed_dim}, {args.heads} "
        f"heads, GPT {args.layers} layers, {args.iters} timed calls each, device {device}, "
        f"{args.threads} thread(s)"
    )
    for row in results:
        print(f"  {row['name']:<30} {row['value']:>10.2f} {row['unit']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
