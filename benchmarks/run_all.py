"""Run every benchmark script in this folder and collect their figures in one JSON.

Each script in ``benchmarks/`` (except this one) exposes ``main(argv) -> records`` and writes
``[{"name", "value", "unit"}, ...]`` with ``--json PATH``. Each runs in its own interpreter,
one after the other (timings of concurrent runs would disturb each other), and this script
writes ``reports/benchmarks.json`` (``--out``) plus a short table with the machine it ran on.
Figures are measurements to read, never assertions.

    python benchmarks/run_all.py [--out reports/benchmarks.json] [--only encoders,mimo]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent


def scripts(only: set[str] | None) -> list[Path]:
    """The benchmark scripts to run, by name: all but this one and the shared ``_`` modules."""
    found = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    return [p for p in found if only is None or p.stem in only]


def run_script(script: Path) -> list[dict[str, Any]]:
    """Run one script in a fresh interpreter and return its records (tagged with the script)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.json"
        completed = subprocess.run(
            [sys.executable, str(script), "--json", str(out)], capture_output=True, text=True
        )
        if completed.returncode != 0 or not out.exists():
            print(f"{script.name} failed:\n{completed.stderr[-2000:]}", file=sys.stderr)
            return [{"script": script.stem, "name": "error", "value": None, "unit": ""}]
        records = json.loads(out.read_text())
    return [{"script": script.stem, **r} for r in records]


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the scripts, print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks.json"))
    parser.add_argument("--only", help="comma-separated script names (default: all)")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    records: list[dict[str, Any]] = []
    for script in scripts(only):
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        records.extend(run_script(script))
    report = {"machine": machine(), "figures": records}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nmachine: {report['machine']}")
    print(f"{'script':<10} {'figure':<58} {'value':>14}  unit")
    for r in records:
        value = r["value"]
        shown = f"{value:,.4g}" if isinstance(value, int | float) else str(value)
        print(f"{r['script']:<10} {r['name']:<58} {shown:>14}  {r['unit']}")
    print(f"\nwritten to {args.out}")
    return report


if __name__ == "__main__":
    main()
