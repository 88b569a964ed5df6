"""Entry point of the ``obsnets`` console script."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from obsnets.errors import ObsnetsError

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (
    "obsnets.cli.plugins_command",
    "obsnets.cli.list_command",
    "obsnets.cli.describe_command",
    "obsnets.cli.build_command",
    "obsnets.cli.inspect_command",
    "obsnets.cli.convert_command",
    "obsnets.cli.new_plugin_command",
    "obsnets.cli.show_randomizer",
    "obsnets.cli.demo_command",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="obsnets",
        description="Plugin-based PyTorch networks for robot learning: inspect plugins and "
        "components, build networks from configs.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors obsnets raises on purpose become a message and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except ObsnetsError as exc:
        print(f"obsnets {args.command}: error: {exc}", file=sys.stderr)
        cause = exc.__cause__
        if cause is not None:
            # first line only: causes from other libraries (torch.load) span many lines
            first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            print(f"  caused by {type(cause).__name__}: {first}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
