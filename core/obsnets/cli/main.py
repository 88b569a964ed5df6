"""Entry point of the ``obsnets`` console script (also ``python -m obsnets``).

Each subcommand lives in its own module (``add_parser`` and ``run``). Only the module of the
command being run is imported: ``obsnets --help`` lists every command from :data:`COMMANDS`
and ``obsnets --version`` reads installed metadata, so neither imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import obsnets
from obsnets.cli.exit_status import (
    DEBUG_ENV,
    EXIT_USER_ERROR,
    debug_requested,
    quiet_on_closed_stdout,
    report_errors,
)
from obsnets.plugins import ENTRY_POINT_GROUP
from obsnets.trust import trusting_code

__all__ = ["COMMANDS", "Command", "build_parser", "main", "version_text"]


@dataclass(frozen=True)
class Command:
    """Where a subcommand is defined and how ``obsnets --help`` summarises it.

    Attributes:
        module: The module with its ``add_parser(subparsers, summary)`` and ``run(args)``.
        summary: Its one-line help, written only here: ``add_parser`` is given it.
    """

    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "plugins": Command("obsnets.cli.plugins_command", "list installed plugins"),
    "list": Command("obsnets.cli.list_command", "list registered components"),
    "describe": Command("obsnets.cli.describe_command", "describe one component"),
    "build": Command(
        "obsnets.cli.build_command", "build a network from a config and run one forward pass"
    ),
    "inspect": Command("obsnets.cli.inspect_command", "show what a saved model needs and holds"),
    "convert": Command(
        "obsnets.cli.convert_command",
        "convert a model file (robomimic checkpoint) into obsnets saved models",
    ),
    "export": Command(
        "obsnets.cli.export_command",
        "export a saved policy's control step to a fast, plugin-free ONNX artefact",
    ),
    "new-plugin": Command("obsnets.cli.new_plugin_command", "write a new plugin distribution"),
    "show-randomizer": Command(
        "obsnets.cli.show_randomizer",
        "write a PNG grid of an image and randomized versions of it",
    ),
    "examples": Command(
        "obsnets.cli.examples_command", "list the bundled example configs, or write one out"
    ),
    "demo": Command(
        "obsnets.cli.demo_command", "train an image policy end to end (about two minutes on a CPU)"
    ),
}
"""Every subcommand, in ``obsnets --help`` order."""


def version_text() -> str:
    """What ``obsnets --version`` prints: obsnets' version and every installed plugin's.

    Read from installed metadata (entry points of the group ``obsnets``): no plugin is
    imported, so a broken plugin still shows, with the version that is installed.
    """
    where = Path(obsnets.__file__).parent
    lines = [f"obsnets {obsnets.__version__} from {where} (Python {platform.python_version()})"]
    plugins: dict[tuple[str, str], list[str]] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if dist is None or dist.name == "obsnets":  # the core's own plugin is obsnets itself
            continue
        plugins.setdefault((dist.name, dist.version), []).append(entry_point.name)
    if not plugins:
        lines.append("plugins: none installed")
        return "\n".join(lines)
    lines.append("plugins:")
    for (name, version), plugin_names in sorted(plugins.items()):
        lines.append(f"  {name} {version} ({', '.join(sorted(plugin_names))})")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` and exit, reading metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(version_text())
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s module is imported to add its arguments.

    Args:
        command: The subcommand to parse fully (a key of :data:`COMMANDS`); the others are
            registered by name and summary only, enough for ``obsnets --help``.
    """
    parser = argparse.ArgumentParser(
        prog="obsnets",
        description="Plugin-based PyTorch networks for robot learning: inspect plugins and "
        "components, build networks from configs.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the obsnets version and the installed plugins' versions, then exit",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"print the traceback of an error (also: {DEBUG_ENV}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, entry in COMMANDS.items():
        if name == command:
            importlib.import_module(entry.module).add_parser(subparsers, entry.summary)
        else:
            subparsers.add_parser(name, help=entry.summary)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option.

    Sound because obsnets' own options (``--debug``, ``--version``, ``--help``) take no value.
    """
    return next((word for word in argv if not word.startswith("-")), None)


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
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(words))
    args = parser.parse_args(words)
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
