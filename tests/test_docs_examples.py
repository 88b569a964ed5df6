"""The documentation's code runs as written and prints what the documentation says it prints.

A page is read block by block, in order, and replayed in a fresh folder by one Python process
(a user's session), so an edit to the guide that breaks its code fails here. The conventions,
visible in the Markdown source:

- a ```` ```python ```` block whose first line is a comment naming a file
  (``# obsnets_depth_edges/plugin.py``) is that file: it is written to that path;
- any other ```` ```python ```` block runs, in the session, where it stands;
- ``<!-- not-run -->`` on the line before a block: shown, never run (there should be few);
- a ```` ```bash ```` block runs (``bash -e``, the environment's scripts first on ``PATH``)
  only when ``<!-- run -->`` is on the line before it: most shell blocks install or publish;
- a ```` ```text ```` block after ``<!-- output -->`` is what the block before it prints,
  compared exactly.

The plugin-authoring guide's plugin is "installed" as pip would record it: a ``.dist-info``
folder next to the package, holding the entry point the guide's ``pyproject.toml`` declares,
so obsnets discovers it through ``importlib.metadata`` like any installed plugin.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^<!--\s*(?P<marker>not-run|run|output)\s*-->\s*$")
FILE_COMMENT = re.compile(r"^#\s*(?P<path>[\w./-]+\.py)\s*$")


@dataclass
class Block:
    """One fenced code block of a page."""

    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    marker: str | None  # the marker comment on the line before the fence, if any

    @property
    def file_path(self) -> str | None:
        """The file a python block is, from its first-line comment; ``None`` for code to run."""
        first = self.code.split("\n", 1)[0]
        match = FILE_COMMENT.match(first) if self.lang == "python" else None
        return match["path"] if match else None


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` with its language, line and preceding marker."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None or not opening["lang"]:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page.name}:{index + 1}: code block never closed")
        previous = MARKER.match(lines[index - 1]) if index else None
        blocks.append(
            Block(
                lang=opening["lang"],
                code="\n".join(lines[index + 1 : end]) + "\n",
                line=index + 1,
                marker=previous["marker"] if previous else None,
            )
        )
        index = end + 1
    return blocks


@dataclass
class Step:
    """What the session does with one block, and what it must print (``None``: unchecked)."""

    action: str  # "write", "python" or "bash"
    code: str
    where: str  # page:line, for messages
    path: str | None = None
    expected: str | None = None


def session_steps(page: Path) -> list[Step]:
    """The steps replaying ``page``: files to write, code to run, outputs to compare."""
    steps: list[Step] = []
    for block in read_blocks(page):
        where = f"{page.name}:{block.line}"
        if block.marker == "output":
            if block.lang != "text" or not steps or steps[-1].action == "write":
                raise AssertionError(f"{where}: <!-- output --> must mark a text block after code")
            steps[-1].expected = block.code
        elif block.marker == "not-run":
            continue
        elif block.lang == "python" and block.file_path:
            steps.append(Step("write", block.code, where, path=block.file_path))
        elif block.lang == "python":
            steps.append(Step("python", block.code, where))
        elif block.lang == "bash" and block.marker == "run":
            steps.append(Step("bash", block.code, where))
    return steps


def replay(steps: list[Step], folder: Path) -> list[dict[str, str | None]]:
    """Run ``steps`` in one Python process started in ``folder``; each step's output."""
    plan = folder / ".steps.json"
    plan.write_text(json.dumps([asdict(step) for step in steps]))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["OBSNETS_DOCS_SESSION"] = str(plan)
    for name in ("OBSNETS_DISABLE_PLUGINS", "OBSNETS_LOAD_PLUGINS", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-W", "error", __file__],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise AssertionError(f"the session failed:\n{done.stdout}\n{done.stderr}")
    return json.loads((folder / ".outputs.json").read_text())


def check_outputs(steps: list[Step], outputs: list[dict[str, str | None]]) -> None:
    """Fail on the first step that raised or printed something other than the page says."""
    for step, result in zip(steps, outputs, strict=False):
        if result["error"] is not None:
            raise AssertionError(f"{step.where}: the block fails:\n{result['error']}")
        if step.expected is not None:
            printed = "\n".join(line.rstrip() for line in result["stdout"].strip().splitlines())
            if printed != step.expected.strip():
                raise AssertionError(
                    f"{step.where}: the block prints\n{printed}\nbut the page says\n{step.expected}"
                )
    if len(outputs) != len(steps):
        raise AssertionError(f"the session stopped after {len(outputs)} of {len(steps)} steps")


def install_as_dist_info(folder: Path, distribution: str, pyproject: str) -> None:
    """Record ``distribution`` as installed in ``folder``, with the entry points ``pyproject``
    (a TOML fragment from the page) declares in the group ``obsnets``, as pip records them."""
    section = re.search(
        r"^\[project\.entry-points\.obsnets\]\n(?P<body>(?:.+\n?)+)", pyproject, re.M
    )
    assert section, "the page's pyproject.toml declares no [project.entry-points.obsnets]"
    entry_points = [
        f"{name.strip()} = {target.strip().strip(chr(34))}"
        for name, target in (line.split("=", 1) for line in section["body"].splitlines())
    ]
    info = folder / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n"
        "Requires-Dist: obsnets<0.2,>=0.1\n"
    )
    (info / "entry_points.txt").write_text("[obsnets]\n" + "\n".join(entry_points) + "\n")


def test_page_conventions_are_parsed_as_documented(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\n# pkg/mod.py\nVALUE = 1\n```\n"
        "<!-- not-run -->\n```python\nraise SystemExit\n```\n"
        "```python\nprint('hi')\n```\n<!-- output -->\n```text\nhi\n```\n"
        "```bash\npip install x\n```\n<!-- run -->\n```bash\necho ok\n```\n"
    )
    steps = session_steps(page)
    assert [(s.action, s.path, s.expected) for s in steps] == [
        ("write", "pkg/mod.py", None),
        ("python", None, "hi\n"),
        ("bash", None, None),
    ]
    assert steps[2].code == "echo ok\n"


def test_a_wrong_output_or_a_failing_block_fails_with_its_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\n# pkg/__init__.py\nVALUE = 2\n```\n"
        "```python\nfrom pkg import VALUE\nprint(VALUE)\n```\n<!-- output -->\n```text\n3\n```\n"
        "```python\nraise ValueError('broken example')\n```\n"
    )
    steps = session_steps(page)
    outputs = replay(steps, tmp_path)
    assert outputs[0]["stdout"] == "" and outputs[1]["stdout"] == "2\n"
    with pytest.raises(AssertionError, match=r"page.md:5: the block prints\n2\nbut the page"):
        check_outputs(steps, outputs)
    with pytest.raises(
        AssertionError, match=r"(?s)page.md:13: the block fails:\n.*ValueError: broken example"
    ):
        check_outputs(steps[2:], outputs[2:])


def test_plugin_authoring_guide_runs_as_written(tmp_path):
    page = DOCS / "plugin-authoring.md"
    blocks = read_blocks(page)
    toml = [b.code for b in blocks if b.lang == "toml" and "entry-points.obsnets" in b.code]
    assert toml == ['[project.entry-points.obsnets]\ndepth_edges = "obsnets_depth_edges.plugin"\n']
    install_as_dist_info(tmp_path, "obsnets-depth-edges", toml[0])
    steps = session_steps(page)
    written = {s.path for s in steps if s.action == "write"}
    # the package the guide lays out, complete: lazy __init__, plugin.py, one module each
    assert {
        "obsnets_depth_edges/__init__.py",
        "obsnets_depth_edges/plugin.py",
        "obsnets_depth_edges/depth_edges_conv.py",
        "obsnets_depth_edges/pixel_dropout_randomizer.py",
    } <= written
    assert sum(s.expected is not None for s in steps) >= 4
    outputs = replay(steps, tmp_path)
    check_outputs(steps, outputs)
    pytest_run = [o for s, o in zip(steps, outputs, strict=True) if "pytest" in s.code]
    assert len(pytest_run) == 1
    summary = pytest_run[0]["stdout"].strip().splitlines()[-1]
    # every conformance check for DepthEdgesConv and the randomizer, + the randomizer's numbers
    from obsnets.testing import CHECKS

    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed)", summary)}
    assert "failed" not in counts, summary
    assert counts["passed"] + counts.get("skipped", 0) == 2 * len(CHECKS) + 1, summary
    assert counts.get("skipped", 0) <= 2, summary  # only the cuda checks, without a GPU


def test_quickstart_runs_as_written(tmp_path):
    page = DOCS / "quickstart.md"
    steps = session_steps(page)
    assert any(s.action == "bash" and "obsnets examples" in s.code for s in steps)
    outputs = replay(steps, tmp_path)
    check_outputs(steps, outputs)
    assert (tmp_path / "my_policy" / "model.safetensors").is_file()


def test_every_first_party_plugin_has_an_api_page():
    yaml = pytest.importorskip("yaml")  # installed with obsnets[docs]
    config = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text())
    pages = set(re.findall(r"api/([\w.]+)\.md", json.dumps(config["nav"])))
    plugins = {
        f"obsnets_{p.parent.name}" for p in (DOCS.parent / "plugins").glob("*/pyproject.toml")
    }
    assert len(plugins) >= 10
    assert plugins <= pages, f"no API page for {sorted(plugins - pages)}: add it to mkdocs.yml"
    assert {"obsnets", "obsnets.saving", "obsnets.config", "obsnets.registry"} <= pages


def _run_session(plan: Path) -> None:
    """The session process: replay the steps in the current folder, recording each output."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    outputs: list[dict[str, str | None]] = []
    for step in json.loads(plan.read_text()):
        stdout, error = io.StringIO(), None
        if step["action"] == "write":
            target = Path(step["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step["code"])
        elif step["action"] == "python":
            try:
                with contextlib.redirect_stdout(stdout):
                    exec(compile(step["code"], step["where"], "exec"), namespace)
            except BaseException:
                error = traceback.format_exc()
        else:
            shell = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", step["code"]],
                capture_output=True,
                text=True,
            )
            stdout.write(shell.stdout)
            if shell.returncode != 0:
                error = f"exit status {shell.returncode}\n{shell.stdout}\n{shell.stderr}"
        outputs.append({"stdout": stdout.getvalue(), "error": error})
        if error is not None:
            break
    Path(".outputs.json").write_text(json.dumps(outputs))


if __name__ == "__main__":
    sys.path.remove(str(Path(__file__).resolve().parent))  # a user's session has no tests/
    _run_session(Path(os.environ["OBSNETS_DOCS_SESSION"]))
