"""``obsnets describe NAME``: provider, signature with defaults, docstring, output-shape rule."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from obsnets.building import constructor_parameters, init_signature
from obsnets.cli.output import print_json
from obsnets.cli.trust_option import add_trust_code_argument
from obsnets.registry import registry

__all__ = ["add_parser", "describe", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``describe`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser("describe", help=summary, description="Describe one component.")
    parser.add_argument("name", help="plain or qualified component name")
    parser.add_argument("--kind", help="restrict the lookup to one kind")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_trust_code_argument(parser)
    parser.set_defaults(run=run)


def describe(name: str, kind: str | None = None) -> dict[str, Any]:
    """Everything ``obsnets describe`` shows, as a dict.

    Args:
        name: Plain or qualified component name.
        kind: Restrict the lookup to one kind.
    """
    entry = registry.lookup(name, kind) if ":" not in name else None
    cls = registry.resolve(name, kind)
    entry = entry or registry.lookup(f"{cls.__module__}:{cls.__qualname__}", kind)
    params = [
        {
            "name": p.name,
            "default": None if p.default is inspect.Parameter.empty else repr(p.default),
            "required": p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL),
            "annotation": None if p.annotation is inspect.Parameter.empty else str(p.annotation),
        }
        for p in constructor_parameters(cls).values()
    ]
    shape_doc = inspect.getdoc(getattr(cls, "output_shape", None)) or ""
    return {
        "name": entry.name,
        "kind": entry.kind,
        "qualified_name": entry.qualified_name,
        "provider": entry.provider_label,
        "signature": f"{cls.__name__}{init_signature(cls)}".replace("(self, ", "(").replace(
            "(self)", "()"
        ),
        "parameters": params,
        "doc": inspect.getdoc(cls) or "",
        "output_shape": shape_doc,
    }


def run(args: argparse.Namespace) -> int:
    """Print the description."""
    info = describe(args.name, args.kind)
    if args.json:
        print_json(info)
        return 0
    print(f"{info['name']}  ({info['kind']})")
    print(f"provided by: {info['provider']}")
    print(f"qualified name: {info['qualified_name']}")
    print()
    print(info["signature"])
    print()
    print(info["doc"])
    if info["output_shape"]:
        print()
        print("output shape:", info["output_shape"])
    return 0
