"""``obsnets convert FILE --out DIR``: a model file of another library as obsnets saved models.

The file is opened by the installed plugin that recognises it (a robomimic checkpoint, with
obsnets-robomimic); each network is written with :func:`obsnets.save_pretrained`
(config.json + model.safetensors) and loads back with :func:`obsnets.load`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from obsnets.cli.arguments import check_writable_folder
from obsnets.cli.model_files import open_model_file
from obsnets.errors import ConfigError
from obsnets.saving import save_pretrained

__all__ = ["add_parser", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``convert`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "convert",
        help=summary,
        description="Write the networks of a model file a plugin recognises (e.g. a robomimic "
        "checkpoint) as obsnets saved models (config.json + model.safetensors). One network: "
        "written to OUT. Several: one folder per network, OUT/<name>, unless --network picks "
        "one.",
    )
    parser.add_argument("file", help="the model file, e.g. model_epoch_100.pth")
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument("--network", help="convert only this network (e.g. policy)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Open, pick the networks, save each."""
    check_writable_folder(args.out, "--out")  # before the file is read and converted
    opened = open_model_file(args.file)
    networks = opened["networks"]
    if args.network is not None:
        if args.network not in networks:
            raise ConfigError(
                f"{args.file!r} has no network {args.network!r}; it has "
                f"{', '.join(map(repr, networks))}."
            )
        networks = {args.network: networks[args.network]}
    out = Path(args.out)
    for name, network in networks.items():
        target = out if len(networks) == 1 else out / name
        save_pretrained(network, target)
        print(f"{name}: {type(network).__name__} -> {target}")
    return 0
