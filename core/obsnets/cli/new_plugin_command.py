"""``obsnets new-plugin NAME --kind KIND [--dir PATH]``: write a complete plugin distribution."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from obsnets.cli.arguments import check_writable_folder
from obsnets.scaffold import SCAFFOLD_KINDS, create_plugin

__all__ = ["add_parser", "run"]

KIND_CHOICES = [k.replace("_", "-") for k in SCAFFOLD_KINDS]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``new-plugin`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "new-plugin",
        help=summary,
        description="Write a complete, installable obsnets plugin distribution: "
        "pyproject.toml with the obsnets entry point, a light plugin module, one documented "
        "component of the chosen kind, a README, and tests that run the conformance suite.",
    )
    parser.add_argument(
        "name",
        help="plugin name: lowercase words joined by '_' or '-', without the obsnets prefix "
        "(e.g. depth_edges gives obsnets-depth-edges / obsnets_depth_edges)",
    )
    parser.add_argument(
        "--kind",
        required=True,
        type=lambda value: value.replace("_", "-"),
        choices=KIND_CHOICES,
        help="kind of the component to write",
    )
    parser.add_argument(
        "--dir",
        dest="directory",
        metavar="PATH",
        help="directory to create (default: ./obsnets-NAME); must not exist, or be empty",
    )
    parser.add_argument(
        "--class-name", help="component class name (default: NAME in CamelCase + kind suffix)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the distribution and say what to do next."""
    # the default target, ./obsnets-NAME, is created in the current folder
    check_writable_folder(args.directory or Path.cwd(), "--dir")
    names, target, files = create_plugin(args.name, args.kind, args.directory, args.class_name)
    where = shlex.quote(str(target))
    print(f"Created {names.distribution} in {target}/ with {names.kind} {names.class_name}:")
    for path in files:
        print(f"  {path.as_posix()}")
    print()
    print("Next:")
    print(f"  python -m pip install -e {where}     # registers the '{names.plugin}' plugin")
    print(f"  python -m pytest {where}             # conformance suite + its own tests")
    print(f"  obsnets describe {names.class_name}")
    return 0
