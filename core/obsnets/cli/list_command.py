"""``obsnets list [KIND] [PATTERN]``: registered component names, glob-filtered.

Plain names that several providers share within a kind are flagged after the table, with the
qualified names to write instead (such a plain name resolves to none of them).
"""

from __future__ import annotations

import argparse

from obsnets.cli.output import print_json, print_table
from obsnets.errors import UnknownComponentError, suggestion
from obsnets.name_conflicts import colliding_names, collision_advice
from obsnets.registry import KINDS, list_components, registry

__all__ = ["add_parser", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``list`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "list",
        help=summary,
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
    listed = {(e.kind, e.name) for e in entries}
    clashes = {
        key: found for key, found in colliding_names(registry.entries()).items() if key in listed
    }
    if args.json:
        print_json(
            [
                {
                    "kind": e.kind,
                    "name": e.name,
                    "qualified_name": e.qualified_name,
                    "provider": e.provider,
                    "loaded": e.is_loaded,
                    "collides_with": [
                        o.qualified_name
                        for o in clashes.get((e.kind, e.name), [])
                        if o.qualified_name != e.qualified_name
                    ],
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
    if clashes:
        print(f"\n{len(clashes)} colliding name(s):")
        for (_, name), found in clashes.items():
            print(f"  {collision_advice(name, found)}")
    return 0
