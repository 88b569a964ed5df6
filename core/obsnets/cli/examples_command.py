"""``obsnets examples [NAME] [--out PATH]``: list the bundled example configs, or write one out.

A pip-installed obsnets has no repository to copy an example from: this command is how a user
gets one (``obsnets examples reach_gmm_policy --out reach.json``) to edit, build or train.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from obsnets.cli.arguments import check_writable_file
from obsnets.cli.output import print_table
from obsnets.errors import ConfigError, format_shape
from obsnets.examples import SUFFIX, example_names, example_text
from obsnets.saved_folder import write_file

__all__ = ["add_parser", "describe_example", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``examples`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "examples",
        help=summary,
        description="Without NAME, list the network configs bundled with obsnets. With NAME, "
        "print that config (JSON), or write it to --out; then build it (obsnets build FILE "
        "--summary) or train it (obsnets demo --config FILE).",
    )
    parser.add_argument("name", nargs="?", help="an example's name, e.g. reach_gmm_policy")
    parser.add_argument(
        "--out",
        help="write the config to this file (into a folder: as NAME.json) instead of printing it",
    )
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.set_defaults(run=run)


def describe_example(config: Any) -> tuple[str, str]:
    """The network a config builds and its inputs, for the listing.

    Args:
        config: A parsed config: ``{"network": NAME, "kwargs": {"obs_shapes": {...}}, ...}``.

    Returns:
        ``(network name, "key (C, H, W), key (D,)")``; ``"?"`` for what the config lacks.
    """
    if not isinstance(config, dict):
        return "?", "?"
    kwargs = config.get("kwargs")
    shapes = kwargs.get("obs_shapes") if isinstance(kwargs, dict) else None
    inputs = (
        ", ".join(f"{key} {format_shape(shape)}" for key, shape in shapes.items())
        if isinstance(shapes, dict)
        else "?"
    )
    return str(config.get("network", "?")), inputs


def run(args: argparse.Namespace) -> int:
    """List the examples, print one, or write one to ``--out``."""
    if args.name is None:
        if args.out is not None or args.force:
            raise ConfigError(
                "--out and --force write one example: name it, e.g. "
                "`obsnets examples reach_gmm_policy --out reach.json`."
            )
        rows = [
            (name, *describe_example(json.loads(example_text(name)))) for name in example_names()
        ]
        print_table(("name", "network", "inputs"), rows)
        return 0
    text = example_text(args.name)
    if args.out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    out = Path(args.out)
    if out.is_dir():
        out = out / (args.name.removesuffix(SUFFIX) + SUFFIX)
    _write_new_file(out, text, force=args.force)
    print(
        f"wrote {out}: build it with `obsnets build {out} --summary`, train it with "
        f"`obsnets demo --config {out}`"
    )
    return 0


def _write_new_file(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename).

    Raises:
        ConfigError: ``path`` exists and ``force`` is false, or it cannot be written.
    """
    if path.exists() and not force:
        raise ConfigError(
            f"--out {str(path)!r} already exists; pass --force to overwrite it, or choose "
            f"another file name."
        )
    check_writable_file(path, "--out")
    write_file(path, lambda staging: staging.write_text(text, encoding="utf-8"))
