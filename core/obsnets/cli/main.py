"""Entry point of the ``obsnets`` console script."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from obsnets.cli.exit_status import (
    DEBUG_ENV,
    EXIT_USER_ERROR,
    debug_requested,
    quiet_on_closed_stdout,
    report_errors,
)
from obsnets.trust import trusting_code

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (
    "obsnets.cli.plugins_command",
    "obsnets.cli.list_command",
    "obsnets.cli.describe_command",
    "obsnets.cli.build_command",
    "obsnets.cli.inspect_command",
    "obsnets.cli.convert_command",
    "obsnets.cli.export_command",
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
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"print the traceback of an error (also: {DEBUG_ENV}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; see :mod:`obsnets.cli.exit_status` for what each exit status means."""
    return quiet_on_closed_stdout(lambda: _parse_and_run(argv))


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings as ``obsnets: Category: message`` lines, without a library source line."""
    print(f"obsnets: {category.__name__}: {message}", file=file or sys.stderr)


def _parse_and_run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return EXIT_USER_ERROR

    def work() -> int:
        # The one place a command's --trust-code takes effect: every name it resolves.
        with trusting_code(getattr(args, "trust_code", False)), warnings.catch_warnings():
            if not (args.debug or debug_requested()):
                warnings.showwarning = _show_warning  # a user reads messages, not our code
            return int(args.run(args))

    return report_errors(args.command, work, debug=args.debug or debug_requested())


if __name__ == "__main__":
    sys.exit(main())
