"""``obsnets inspect DIR``: what a saved model needs (plugins) and holds (component, weights)."""

from __future__ import annotations

import argparse
from importlib import metadata

from obsnets.cli.output import print_json, print_table
from obsnets.saving import read_saved_config

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``inspect`` subcommand."""
    parser = subparsers.add_parser(
        "inspect",
        help="show what a saved model needs and holds",
        description="Show a saved model's component, required plugins and weights.",
    )
    parser.add_argument("directory", help="directory written by save_pretrained")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "NOT INSTALLED"


def run(args: argparse.Namespace) -> int:
    """Print the saved model's summary."""
    config = read_saved_config(args.directory)
    if args.json:
        print_json(config)
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
    return 0


def _numel(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total
