"""``obsnets build CONFIG.json``: build the network a config describes and run it once.

A model file an installed plugin recognises (a robomimic checkpoint, with obsnets-robomimic),
or a saved model on the Hugging Face Hub (``hf://org/name[@revision]``), is accepted in place
of the config: each of its networks is summarised and run once.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from obsnets.cli.arguments import bounded_int
from obsnets.cli.model_files import is_model_reference, recognise_model_file
from obsnets.cli.output import print_json
from obsnets.cli.trust_option import add_trust_code_argument
from obsnets.config import build_from_config, load_config
from obsnets.encoders.summary import example_inputs, format_summary, summarize

__all__ = ["MAX_BATCH_SIZE", "add_parser", "run"]

MAX_BATCH_SIZE = 1024
"""The forward pass only shows shapes; larger batches only risk running out of memory."""


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``build`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "build",
        help=summary,
        description="Build the network CONFIG names (every component resolved by name), "
        "print observation keys -> randomizers -> net -> output shape with parameter counts, "
        "and run one forward pass on random inputs of the declared shapes.",
    )
    parser.add_argument(
        "config",
        help="JSON config: {network, kwargs, obs_modalities}; or a model file a plugin "
        "recognises (robomimic checkpoint .pth); or a saved model on the Hugging Face Hub, "
        "hf://org/name[@revision]",
    )
    parser.add_argument("--summary", action="store_true", help="print the per-key table")
    parser.add_argument(
        "--batch-size",
        type=bounded_int(1, MAX_BATCH_SIZE),
        default=2,
        help="forward-pass batch size (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_trust_code_argument(parser)
    parser.set_defaults(run=run)


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_shapes(v) for v in value]
    return type(value).__name__


def _report(network: nn.Module, args: argparse.Namespace, label: str) -> dict[str, Any]:
    """Summarise ``network``, run it once; print unless ``--json``; return the JSON view."""
    rows = summarize(network)
    network.eval()
    with torch.no_grad():
        outputs = network(**example_inputs(network, batch_size=args.batch_size))
    if not args.json:
        print(f"built {label}{type(network).__name__}: {rows[-1].params:,} parameters")
        if args.summary:
            print()
            print(format_summary(rows))
        print()
        print(f"forward pass (batch {args.batch_size}) output shapes: {_shapes(outputs)}")
    return {"rows": [r.as_dict() for r in rows], "forward_output": _shapes(outputs)}


def run(args: argparse.Namespace) -> int:
    """Build, summarise, run once."""
    opened = recognise_model_file(args.config) if is_model_reference(args.config) else None
    if opened is None:
        report = _report(build_from_config(load_config(args.config)), args, "")
        if args.json:
            print_json(report)
        return 0
    if not args.json:
        print(f"{opened['format']}: {args.config}")
    reports = {}
    for name, network in opened["networks"].items():
        if not args.json:
            print()
        reports[name] = _report(network, args, f"{name} = ")
    if args.json:
        print_json({"format": opened["format"], "networks": reports})
    return 0
