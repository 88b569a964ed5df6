"""``obsnets plugins``: every installed plugin, its distribution, components and load errors."""

from __future__ import annotations

import argparse

from obsnets.cli.output import print_json
from obsnets.plugins import DISABLE_ENV, LOAD_ENV, list_plugins

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``plugins`` subcommand."""
    parser = subparsers.add_parser(
        "plugins",
        help="list installed plugins",
        description=f"List installed plugins, what they provide and why any failed. "
        f"{DISABLE_ENV} and {LOAD_ENV} control which load.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the plugins; exit status 0 even when one failed (the listing is the point)."""
    plugins = list_plugins()
    if args.json:
        print_json([p.as_dict() for p in plugins])
        return 0
    if not plugins:
        print("No obsnets plugins installed (entry-point group 'obsnets').")
        return 0
    for plugin in plugins:
        version = f" {plugin.version}" if plugin.version else ""
        print(f"{plugin.name}  ({plugin.distribution}{version})  [{plugin.status}]")
        print(f"  module: {plugin.module}")
        if plugin.reason:
            print(f"  {'error' if plugin.status == 'failed' else 'note'}: {plugin.reason}")
        for hook, error in plugin.hook_errors.items():
            print(f"  hook error (skipped since): {hook}: {error}")
        for kind, name in sorted(plugin.components):
            print(f"  - {kind:<13} {name}")
    return 0
