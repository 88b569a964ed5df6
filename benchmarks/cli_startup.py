"""Start-up cost of what runs without a network: the pytest plugin and the cheap CLI commands.

Prints a small table (and, with ``--json PATH``, writes ``[{"name", "value", "unit"}, ...]``):

* ``pytest -p no:cacheprovider`` on a one-test project (a temporary folder holding
  ``def test_x(): pass``), with obsnets' pytest plugin (entry point ``pytest11``) and without
  it (``-p no:obsnets``): what obsnets adds to every unrelated test suite in an environment
  where it is installed (issue 14: 3.8 s against 0.65 s when the plugin imported torch);
* ``obsnets --help``, ``obsnets --version``, ``obsnets examples`` and
  ``python -c "import obsnets"``, none of which may import torch; ``python -c pass`` for scale.

Each figure is the median over whole processes (``--runs``, default 5), the commands run in
turn so that a change in machine load affects all alike: wall time, and the process's CPU time
(user + system), which a loaded machine disturbs much less. On a machine shared with other
work compare the figures of one run. Not a test: nothing is asserted. Takes about half a
minute on an idle machine.

    python benchmarks/cli_startup.py [--runs N] [--json out.json]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _startup_cli import run

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

COMMANDS: dict[str, list[str]] = {
    "pytest, one-test project, with the obsnets plugin": PYTEST,
    "pytest, one-test project, without it (-p no:obsnets)": [*PYTEST, "-p", "no:obsnets"],
    "obsnets --help": [sys.executable, "-m", "obsnets", "--help"],
    "obsnets --version": [sys.executable, "-m", "obsnets", "--version"],
    "obsnets examples": [sys.executable, "-m", "obsnets", "examples"],
    "python -c 'import obsnets'": [sys.executable, "-c", "import obsnets"],
    "python -c pass (interpreter start, for scale)": [sys.executable, "-c", "pass"],
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], folder: Path) -> tuple[float, float]:
    """Run ``command`` in ``folder`` (it must succeed): its wall and CPU time in seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OBSNETS_", "PYTEST_"))}
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, cpu


def measure(n_runs: int) -> list[dict[str, Any]]:
    """Time every command ``n_runs`` times, in turn, in a one-test project folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_one.py").write_text("def test_x():\n    pass\n")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
        for command in COMMANDS.values():  # warm the file cache: no first-run outlier
            timed(command, folder)
        for _ in range(n_runs):
            for name, command in COMMANDS.items():
                times[name].append(timed(command, folder))
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in times.items()}
    with_plugin, without = list(COMMANDS)[:2]
    wall["  added by the obsnets plugin"] = wall[with_plugin] - wall[without]
    cpu["  added by the obsnets plugin"] = cpu[with_plugin] - cpu[without]
    order = [with_plugin, without, "  added by the obsnets plugin", *list(COMMANDS)[2:]]
    records = []
    for name in order:
        records.append({"name": name, "value": wall[name], "unit": "s wall"})
        records.append({"name": name, "value": cpu[name], "unit": "s CPU"})
    return records


def print_table(records: list[dict[str, Any]]) -> None:
    """Print the records as a table: one row per command, wall and CPU seconds."""
    rows: dict[str, dict[str, float]] = {}
    for record in records:
        rows.setdefault(record["name"], {})[record["unit"]] = record["value"]
    width = max(len(name) for name in rows)
    print(f"{'median of whole processes':<{width}}  {'wall s':>7}  {'CPU s':>7}")
    for name, values in rows.items():
        print(f"{name:<{width}}  {values['s wall']:>7.3f}  {values['s CPU']:>7.3f}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure, print, and optionally write the records as JSON."""
    return run(__doc__ or "", measure, print_table, "timed runs per command", argv)


if __name__ == "__main__":
    main()
