"""``obsnets plugins``: every installed plugin, its distribution, components and load errors."""

from __future__ import annotations

import argparse
from typing import Any

from obsnets.cli.output import print_json
from obsnets.name_conflicts import colliding_names, collision_advice
from obsnets.plugins import DISABLE_ENV, LOAD_ENV, PluginInfo, list_plugins
from obsnets.registry import ComponentEntry, registry

__all__ = ["add_parser", "run"]

_LABELS = {"failed": "error", "incompatible": "incompatible"}
"""How a plugin's reason is introduced, by status (``note`` for a disabled plugin)."""


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``plugins`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "plugins",
        help=summary,
        description=f"List installed plugins, what they provide and why any failed or is "
        f"incompatible with this obsnets. {DISABLE_ENV} and {LOAD_ENV} control which load.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _collisions_of(
    plugin: PluginInfo, clashes: dict[tuple[str, str], list[ComponentEntry]]
) -> dict[tuple[str, str], list[ComponentEntry]]:
    return {key: found for key, found in clashes.items() if key in plugin.components}


def run(args: argparse.Namespace) -> int:
    """Print the plugins; exit status 0 even when one failed (the listing is the point)."""
    plugins = list_plugins()
    clashes = colliding_names(registry.entries())
    if args.json:
        print_json([_as_json(p, _collisions_of(p, clashes)) for p in plugins])
        return 0
    if not plugins:
        print("No obsnets plugins installed (entry-point group 'obsnets').")
        return 0
    for plugin in plugins:
        version = f" {plugin.version}" if plugin.version else ""
        print(f"{plugin.name}  ({plugin.distribution}{version})  [{plugin.status}]")
        print(f"  module: {plugin.module}")
        if plugin.reason:
            print(f"  {_LABELS.get(plugin.status, 'note')}: {plugin.reason}")
        if plugin.fix:
            print(f"  fix: {plugin.fix}")
        for hook, error in plugin.hook_errors.items():
            print(f"  hook error (skipped since): {hook}: {error}")
        mine = _collisions_of(plugin, clashes)
        for kind, name in sorted(plugin.components):
            print(f"  - {kind:<13} {name}")
            if (kind, name) in mine:
                print(f"      name collision: {collision_advice(name, mine[(kind, name)])}")
    return 0


def _as_json(plugin: PluginInfo, mine: dict[tuple[str, str], list[ComponentEntry]]) -> Any:
    collisions = [
        {"kind": kind, "name": name, "write_one_of": [e.qualified_name for e in found]}
        for (kind, name), found in mine.items()
    ]
    return {**plugin.as_dict(), "name_collisions": collisions}
