"""``obsnets build CONFIG.json``: build the network a config describes and run it once."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from obsnets.cli.output import print_json
from obsnets.config import build_from_config, load_config
from obsnets.encoders.summary import example_inputs, format_summary, summarize

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``build`` subcommand."""
    parser = subparsers.add_parser(
        "build",
        help="build a network from a config and run one forward pass",
        description="Build the network CONFIG names (every component resolved by name), "
        "print observation keys -> randomizers -> net -> output shape with parameter counts, "
        "and run one forward pass on random inputs of the declared shapes.",
    )
    parser.add_argument("config", help="JSON config: {network, kwargs, obs_modalities}")
    parser.add_argument("--summary", action="store_true", help="print the per-key table")
    parser.add_argument("--batch-size", type=int, default=2, help="forward-pass batch size")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_shapes(v) for v in value]
    return type(value).__name__


def run(args: argparse.Namespace) -> int:
    """Build, summarise, run once."""
    network = build_from_config(load_config(args.config))
    rows = summarize(network)
    network.eval()
    with torch.no_grad():
        outputs = network(**example_inputs(network, batch_size=args.batch_size))
    if args.json:
        print_json({"rows": [r.as_dict() for r in rows], "forward_output": _shapes(outputs)})
        return 0
    total = rows[-1]
    print(f"built {type(network).__name__}: {total.params:,} parameters")
    if args.summary:
        print()
        print(format_summary(rows))
    print()
    print(f"forward pass (batch {args.batch_size}) output shapes: {_shapes(outputs)}")
    return 0
