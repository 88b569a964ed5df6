"""The ``--trust-code`` option of the commands that resolve names read from files."""

from __future__ import annotations

import argparse

__all__ = ["add_trust_code_argument"]


def add_trust_code_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-code`` (stored as ``args.trust_code``, off by default)."""
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="let names that no installed plugin declares ('package.module:Class') import "
        "their modules; only for files from a source you trust (off: names resolve to "
        "installed plugins' components only, nothing else is imported)",
    )
