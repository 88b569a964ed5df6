"""obsnets' pytest plugin costs an unrelated test suite nothing: no obsnets, no torch.

pytest imports every ``pytest11`` entry point at start-up, in every project of an environment
where obsnets is installed. The entry module (``pytest_obsnets``) imports obsnets only when a
test uses the ``obsnets_conformance`` fixture. How long the start-up takes with and without
the plugin is measured by ``benchmarks/cli_startup.py``; this checks the cause, not timings.
The fixture itself is tested in test_conformance.py (one test per case and check).
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

UNRELATED_TEST = """
import sys


def test_unrelated(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("obsnets")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("obsnets", "torch"))
    assert loaded == []
    assert "pytest_obsnets" in sys.modules
"""

FIXTURE_USER = """
def test_conformance(obsnets_conformance):
    obsnets_conformance.run()
"""


def run_pytest(folder, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``folder``, with obsnets' plugin as installed."""
    registered = any(ep.name == "obsnets" for ep in metadata.entry_points(group="pytest11"))
    load = [] if registered or "no:obsnets" in args else ["-p", "pytest_obsnets"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *load, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_entry_module_imports_neither_obsnets_nor_torch():
    code = (
        "import sys, pytest_obsnets\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('obsnets', 'torch')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unrelated_suite_runs_with_the_plugin_active_and_nothing_of_obsnets_imported(
    tmp_path,
):
    (tmp_path / "test_unrelated.py").write_text(UNRELATED_TEST)
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_disabling_the_plugin_by_name_removes_the_fixture(tmp_path):
    (tmp_path / "test_fixture_user.py").write_text(FIXTURE_USER)
    enabled = run_pytest(tmp_path, "-q")  # the module forgot CONFORMANCE_CASES: it says so
    assert enabled.returncode != 0
    assert "defines no CONFORMANCE_CASES" in enabled.stdout + enabled.stderr
    done = run_pytest(tmp_path, "-q", "-p", "no:obsnets")
    assert done.returncode != 0
    assert "fixture 'obsnets_conformance' not found" in done.stdout
