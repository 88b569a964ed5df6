"""``obsnets inspect PATH``: what a saved model needs (plugins) and holds (component, weights).

PATH is a saved-model folder, or a model file of another library that an installed plugin
recognises (a robomimic checkpoint, with obsnets-robomimic).
"""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path
from typing import Any

from torch import nn

from obsnets.cli.model_files import open_model_file
from obsnets.cli.needed_imports import needed_imports
from obsnets.cli.output import print_json, print_table
from obsnets.cli.trust_option import add_trust_code_argument
from obsnets.saving import read_saved_config

__all__ = ["add_parser", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``inspect`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "inspect",
        help=summary,
        description="Show a saved model's component, required plugins and weights, or the "
        "networks of a model file a plugin recognises (e.g. a robomimic checkpoint).",
    )
    parser.add_argument(
        "directory",
        metavar="PATH",
        help="directory written by save_pretrained, hf://org/name[@revision] (a saved model "
        "on the Hugging Face Hub), or a model file (robomimic .pth)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_trust_code_argument(parser)
    parser.set_defaults(run=run)


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "NOT INSTALLED"


def _network_rows(networks: dict[str, nn.Module]) -> list[tuple[str, str, int, int]]:
    """(name, class, parameters and buffers, tensors) per network; aliases counted once."""
    rows = []
    for name, network in networks.items():
        unique = {id(t): t for t in network.state_dict(keep_vars=True).values()}
        count = sum(t.numel() for t in unique.values())
        rows.append((name, type(network).__name__, count, len(unique)))
    return rows


def _run_model_file(path: str, as_json: bool) -> int:
    opened: dict[str, Any] = open_model_file(path)
    rows = _network_rows(opened["networks"])
    if as_json:
        networks = {name: {"class": cls, "parameters_and_buffers": n} for name, cls, n, _ in rows}
        print_json({"format": opened["format"], "details": opened["details"], "networks": networks})
        return 0
    print(f"{opened['format']}  ({path})")
    for name, value in opened["details"].items():
        print(f"  {name}: {value}")
    print()
    print_table(
        ["network", "class", "parameters and buffers", "tensors"],
        [(name, cls, f"{n:,}", tensors) for name, cls, n, tensors in rows],
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the saved model's (or model file's) summary."""
    if Path(args.directory).is_file():
        return _run_model_file(args.directory, args.json)
    config = read_saved_config(args.directory)
    imports = needed_imports(config)
    if args.json:
        print_json({**config, "imports": imports})
        return 0
    component = config["component"]
    tensors = config["weights"]["tensors"]
    count = sum(_numel(t["shape"]) for t in tensors.values())
    print(f"{component['name']}  ({component['kind']}, {component['qualified_name']})")
    print(
        f"parameters and buffers: {count:,} in {len(tensors)} tensors "
        f"({len(config['weights'].get('tied', {}))} aliases)"
    )
    print()
    print_table(
        ["needs", "saved with", "installed"],
        [(d, v or "-", _installed(d)) for d, v in config.get("requires", {}).items()],
    )
    print()
    print("kwargs:")
    for name, value in component["kwargs"].items():
        print(f"  {name} = {value!r}")
    print()
    print_table(["name", "module", "import"], [tuple(row.values()) for row in imports])
    return 0


def _numel(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total
