"""Start-up cost of obsnets: what ``import obsnets`` plus plugin discovery adds to ``import torch``.

Prints a small table (and, with ``--json PATH``, writes ``[{"name", "value", "unit"}, ...]``):

* ``import torch`` in a fresh interpreter;
* ``import obsnets`` after it, then ``obsnets.registry.entries()``, which discovers every
  installed plugin (entry points, pluggy registration, component declarations); their sum is
  what obsnets adds to ``import torch`` (the target is under 50 ms);
* resolving a component name from another plugin (``VisualCore`` and ``ResNet18Conv`` from
  obsnets-visual when installed, else any component not provided by obsnets-timm): the first
  resolution, which imports the defining module, and a repeated one;
* whether timm (a heavy plugin's dependency) is in ``sys.modules`` after discovery and after
  that resolution: it must not be;
* ``import timm`` after torch, for scale: what an eagerly importing plugin would cost.

Every figure is the median over fresh interpreters (``--runs``, default 5; 3 for ``import
timm``), each timing its own imports with ``time.perf_counter``, so interpreter start-up is
excluded. On a shared machine wall times grow with the load; the process CPU times
(``time.process_time``) and the ratio to ``import torch`` move much less, so they are printed
too. Takes about half a minute on an idle 2-core machine.

    python benchmarks/startup.py [--runs N] [--json out.json]

To see what dominates a slow discovery: ``python -X importtime -c "import torch, obsnets;
obsnets.registry.entries()" 2>&1 | sort -t'|' -k2 -n | tail``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from _startup_cli import run

BUDGET_MS = 50.0
"""The most ``import obsnets`` plus discovery may add to ``import torch``."""

HEAVY_MODULE = "timm"
HEAVY_RUNS = 3
HEAVY_DISTRIBUTION = "obsnets-timm"

STARTUP_CHILD = f"""
import json, sys, time
c0, t0 = time.process_time(), time.perf_counter()
import torch
c1, t1 = time.process_time(), time.perf_counter()
import obsnets
t2 = time.perf_counter()
entries = obsnets.registry.entries()
c3, t3 = time.process_time(), time.perf_counter()
heavy_after_discovery = {HEAVY_MODULE!r} in sys.modules

preferred = [n for n in ("VisualCore", "ResNet18Conv") if obsnets.is_component(n)]
others = [e.name for e in entries
          if e.provider not in (None, {HEAVY_DISTRIBUTION!r}) and obsnets.is_component(e.name)]
names = preferred or others[:1]
first_ms = {{}}
for name in names:
    t4 = time.perf_counter()
    obsnets.resolve_component(name)
    first_ms[name] = (time.perf_counter() - t4) * 1e3
t5 = time.perf_counter()
for name in names:
    obsnets.resolve_component(name)
t6 = time.perf_counter()

from obsnets.plugins import list_plugins
print(json.dumps({{
    "torch_ms": (t1 - t0) * 1e3,
    "torch_cpu_ms": (c1 - c0) * 1e3,
    "added_cpu_ms": (c3 - c1) * 1e3,
    "obsnets_ms": (t2 - t1) * 1e3,
    "discovery_ms": (t3 - t2) * 1e3,
    "resolve_first_ms": first_ms,
    "resolve_again_us": (t6 - t5) * 1e6 / max(len(names), 1),
    "resolved": names,
    "heavy_after_discovery": heavy_after_discovery,
    "heavy_after_resolve": {HEAVY_MODULE!r} in sys.modules,
    "torchvision_after_resolve": "torchvision" in sys.modules,
    "plugins": len([p for p in list_plugins() if p.status == "loaded"]),
    "heavy_plugin": any(p.distribution == {HEAVY_DISTRIBUTION!r} and p.status == "loaded"
                        for p in list_plugins()),
    "components": len(entries),
}}))
"""

HEAVY_CHILD = f"""
import importlib.util, json, time
import torch
t0 = time.perf_counter()
found = importlib.util.find_spec({HEAVY_MODULE!r}) is not None
if found:
    import {HEAVY_MODULE}
print(json.dumps({{"heavy_ms": (time.perf_counter() - t0) * 1e3 if found else None}}))
"""


def run_child(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON object it prints last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    """Median of one numeric field over runs."""
    return statistics.median(float(r[key]) for r in runs)


def measure(n_runs: int) -> list[dict[str, Any]]:
    """Run the children ``n_runs`` times each, alternating, and summarise as records."""
    startup: list[dict[str, Any]] = []
    heavy: list[dict[str, Any]] = []
    run_child(
        "import json, torch; print(json.dumps({}))"
    )  # warm the file cache so the first timed run is not an outlier
    for i in range(n_runs):
        startup.append(run_child(STARTUP_CHILD))
        if i < HEAVY_RUNS:  # for scale only; each costs seconds
            heavy.append(run_child(HEAVY_CHILD))

    added = [r["obsnets_ms"] + r["discovery_ms"] for r in startup]
    resolved = startup[0]["resolved"]
    records: list[dict[str, Any]] = [
        {"name": "import torch", "value": median(startup, "torch_ms"), "unit": "ms"},
        {
            "name": "  the same in process CPU time",
            "value": median(startup, "torch_cpu_ms"),
            "unit": "ms",
        },
        {
            "name": "import obsnets (after torch)",
            "value": median(startup, "obsnets_ms"),
            "unit": "ms",
        },
        {
            "name": "plugin discovery (registry.entries())",
            "value": median(startup, "discovery_ms"),
            "unit": "ms",
        },
        {
            "name": "obsnets + discovery added to import torch",
            "value": statistics.median(added),
            "unit": "ms",
        },
        {
            "name": "  the same in process CPU time",
            "value": median(startup, "added_cpu_ms"),
            "unit": "ms",
        },
        {
            "name": "  as a share of import torch (wall)",
            "value": 100 * statistics.median(a / r["torch_ms"] for a, r in zip(added, startup)),
            "unit": "%",
        },
        {
            "name": f"within the {BUDGET_MS:.0f} ms budget (wall)",
            "value": statistics.median(added) < BUDGET_MS,
            "unit": "bool",
        },
        {"name": "plugins loaded", "value": startup[0]["plugins"], "unit": "count"},
        {"name": "components declared", "value": startup[0]["components"], "unit": "count"},
        *(
            {
                "name": f"resolve {name} (first: imports its module)",
                "value": statistics.median(r["resolve_first_ms"][name] for r in startup),
                "unit": "ms",
            }
            for name in resolved
        ),
        {
            "name": "resolve a name again (per name)",
            "value": median(startup, "resolve_again_us"),
            "unit": "us",
        },
        {
            "name": f"{HEAVY_DISTRIBUTION} installed and loaded",
            "value": startup[0]["heavy_plugin"],
            "unit": "bool",
        },
        {
            "name": f"{HEAVY_MODULE} imported after discovery",
            "value": any(r["heavy_after_discovery"] for r in startup),
            "unit": "bool",
        },
        {
            "name": f"{HEAVY_MODULE} imported after resolving {'+'.join(resolved) or '(none)'}",
            "value": any(r["heavy_after_resolve"] for r in startup),
            "unit": "bool",
        },
        {
            "name": f"torchvision imported after resolving {'+'.join(resolved) or '(none)'}",
            "value": any(r["torchvision_after_resolve"] for r in startup),
            "unit": "bool",
        },
    ]
    if heavy[0]["heavy_ms"] is not None:
        records.append(
            {
                "name": f"import {HEAVY_MODULE} (after torch), for scale",
                "value": median(heavy, "heavy_ms"),
                "unit": "ms",
            }
        )
    return records


def print_table(records: list[dict[str, Any]]) -> None:
    """Print records as an aligned three-column table."""

    def show(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:.1f}"
        return str(value)

    rows = [(r["name"], show(r["value"]), r["unit"]) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for name, value, unit in rows:
        print(f"{name:<{widths[0]}}  {value:>{widths[1]}}  {unit}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure, print, and optionally write the records as JSON."""
    return run(__doc__ or "", measure, print_table, "fresh interpreters per figure", argv)


if __name__ == "__main__":
    main()
