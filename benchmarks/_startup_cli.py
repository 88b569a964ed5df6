"""The command line the start-up benchmarks share: ``--runs N`` and ``--json PATH``.

A module of this folder, not a benchmark: ``run_all.py`` skips names starting with ``_``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Records = list[dict[str, Any]]
"""``[{"name", "value", "unit"}, ...]``, the format every benchmark script writes."""


def run(
    doc: str,
    measure: Callable[[int], Records],
    print_table: Callable[[Records], None],
    runs_help: str,
    argv: list[str] | None = None,
) -> Records:
    """Parse ``argv``, measure ``--runs`` times, print the table, write ``--json`` if given.

    Args:
        doc: The script's module docstring; its first paragraph describes the command.
        measure: Takes the number of runs (at least 1), returns the records.
        print_table: Prints the records.
        runs_help: What one run is, for ``--help``.
        argv: The arguments (``None``: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help=runs_help)
    parser.add_argument("--json", type=Path, default=None, help="write results to this file")
    args = parser.parse_args(argv)
    records = measure(max(args.runs, 1))
    print_table(records)
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
    return records
