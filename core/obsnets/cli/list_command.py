"""``obsnets list [KIND] [PATTERN]``: registered component names, glob-filtered."""

from __future__ import annotations

import argparse

from obsnets.cli.output import print_json, print_table
from obsnets.errors import UnknownComponentError, suggestion
from obsnets.registry import KINDS, list_components

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``list`` subcommand."""
    parser = subparsers.add_parser(
        "list",
        help="list registered components",
        description="List registered components. KIND is one of: " + ", ".join(KINDS) + ".",
    )
    parser.add_argument("kind", nargs="?", help="component kind, or a name pattern")
    parser.add_argument("pattern", nargs="?", default="*", help="glob over names, e.g. 'ResNet*'")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print matching components."""
    kind, pattern = args.kind, args.pattern
    if kind is not None and kind not in KINDS:
        if pattern != "*" or not any(ch in kind for ch in "*?["):
            raise UnknownComponentError(
                f"Unknown component kind {kind!r}; kinds are {', '.join(KINDS)}."
                f"{suggestion(kind, KINDS)}"
            )
        kind, pattern = None, kind  # `obsnets list 'ResNet*'`
    entries = list_components(kind, pattern)
    if args.json:
        print_json(
            [
                {
                    "kind": e.kind,
                    "name": e.name,
                    "qualified_name": e.qualified_name,
                    "provider": e.provider,
                    "loaded": e.is_loaded,
                }
                for e in entries
            ]
        )
        return 0
    if not entries:
        print("No components match.")
        return 0
    print_table(
        ["kind", "name", "provider", "qualified name"],
        [(e.kind, e.name, e.provider_label, e.qualified_name) for e in entries],
    )
    return 0
