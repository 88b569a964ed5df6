"""``obsnets examples``: the bundled example configs, listed and written out.

After a pip install there is no repository to copy an example from; these tests follow the
README's path: ``obsnets examples reach_gmm_policy --out reach.json``, then
``obsnets demo --config reach.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from obsnets.cli.examples_command import describe_example
from obsnets.cli.exit_status import EXIT_USER_ERROR
from obsnets.cli.main import main

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "core" / "obsnets" / "examples"


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """``obsnets ARGV`` in this process: exit status (argparse's too), stdout, stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def bundled_files() -> dict[str, Path]:
    files = {path.stem: path for path in BUNDLED.glob("*.json")}
    assert files, f"no example configs in {BUNDLED}"
    return files


def test_listing_shows_each_bundled_config_with_its_network_and_inputs(capsys):
    status, out, err = run_main(capsys, "examples")
    assert (status, err) == (0, "")
    header, rule, *rows = out.splitlines()
    assert header.split() == ["name", "network", "inputs"]
    assert set(rule) == {"-", " "}
    assert [row.split()[0] for row in rows] == sorted(bundled_files())
    for row, path in zip(rows, (bundled_files()[n] for n in sorted(bundled_files()))):
        config = json.loads(path.read_text())
        assert row.split()[1] == config["network"]
        for key, shape in config["kwargs"]["obs_shapes"].items():
            assert f"{key} ({', '.join(map(str, shape))}" in row


def test_a_config_missing_its_parts_is_described_with_question_marks():
    assert describe_example({"network": "MIMO_MLP", "kwargs": {}}) == ("MIMO_MLP", "?")
    assert describe_example([1, 2]) == ("?", "?")
    shapes = {"kwargs": {"obs_shapes": {"a": [3], "b": [1, 2]}}}
    assert describe_example(shapes) == ("?", "a (3,), b (1, 2)")


@pytest.mark.parametrize("name", ["reach_gmm_policy", "reach_gmm_policy.json"])
def test_a_named_example_is_printed_exactly_as_bundled(name, capsys):
    status, out, _ = run_main(capsys, "examples", name)
    assert status == 0
    assert out == (BUNDLED / "reach_gmm_policy.json").read_text()


def test_out_writes_the_file_and_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "configs" / "reach.json"  # a missing folder is created
    status, out, _ = run_main(capsys, "examples", "reach_gmm_policy", "--out", str(target))
    assert status == 0
    assert target.read_bytes() == (BUNDLED / "reach_gmm_policy.json").read_bytes()
    assert f"obsnets demo --config {target}" in out

    target.write_text("my edits\n")
    status, out, err = run_main(capsys, "examples", "reach_gmm_policy", "--out", str(target))
    assert status == EXIT_USER_ERROR
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert target.read_text() == "my edits\n"

    status, _, _ = run_main(
        capsys, "examples", "reach_diffusion_policy", "--out", str(target), "--force"
    )
    assert status == 0
    assert target.read_bytes() == (BUNDLED / "reach_diffusion_policy.json").read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["reach.json"]  # no temporaries


def test_out_into_a_folder_writes_name_json_there(tmp_path, capsys):
    status, _, _ = run_main(capsys, "examples", "reach_diffusion_policy", "--out", str(tmp_path))
    assert status == 0
    written = tmp_path / "reach_diffusion_policy.json"
    assert written.read_bytes() == (BUNDLED / "reach_diffusion_policy.json").read_bytes()


def test_an_unknown_name_suggests_close_matches_and_writes_nothing(tmp_path, capsys):
    target = tmp_path / "x.json"
    status, out, err = run_main(capsys, "examples", "reach_gmm", "--out", str(target))
    assert status == EXIT_USER_ERROR
    assert out == "" and "Traceback" not in err
    assert "No bundled example config is named 'reach_gmm'" in err
    assert "Did you mean 'reach_gmm_policy'?" in err
    assert not target.exists()


def test_out_without_a_name_is_a_user_error(tmp_path, capsys):
    status, _, err = run_main(capsys, "examples", "--out", str(tmp_path / "x.json"))
    assert status == EXIT_USER_ERROR
    assert "name it" in err
    assert not (tmp_path / "x.json").exists()


def test_examples_are_read_as_package_data_so_they_work_from_a_wheel(tmp_path):
    # A wheel on sys.path is a zip: nothing may rely on the files being on disk.
    archive = tmp_path / "obsnets.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (REPO / "core" / "obsnets").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(REPO / "core"))
    env = {**os.environ, "PYTHONPATH": str(archive)}
    target = tmp_path / "reach.json"
    where = subprocess.run(
        [sys.executable, "-c", "import obsnets; print(obsnets.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert where.stdout.startswith(str(archive))
    done = subprocess.run(
        [sys.executable, "-m", "obsnets", "examples", "reach_gmm_policy", "--out", str(target)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == (BUNDLED / "reach_gmm_policy.json").read_bytes()
    listing = subprocess.run(
        [sys.executable, "-m", "obsnets", "examples"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert [line.split()[0] for line in listing.stdout.splitlines()[2:]] == sorted(bundled_files())


def test_the_readme_path_writes_an_example_and_trains_it_with_one_eval_episode(
    tmp_path, capsys, monkeypatch
):
    # `obsnets demo --eval-episodes 1` crashed once (issue 14); this is the smallest demo run
    monkeypatch.chdir(tmp_path)
    assert run_main(capsys, "examples", "reach_gmm_policy", "--out", "reach.json")[0] == 0
    status, out, err = run_main(
        capsys,
        "demo",
        "--config",
        "reach.json",
        "--steps",
        "1",
        "--episodes",
        "1",
        "--eval-episodes",
        "1",
        "--out",
        "report",
    )
    assert status == 0, err
    assert "trained 1 steps" in out
    rate = out.split("success rate: trained policy ")[1].split("%")[0]
    assert rate in ("0", "100")  # one episode: solved or not
    saved = json.loads((tmp_path / "report" / "config.json").read_text())
    assert saved["network"] == "GMMActorNetwork"


def test_out_failing_midway_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path, capsys, monkeypatch
):
    target = tmp_path / "reach.json"
    target.write_text("my edits\n")

    def disk_full(path, text, *args, **kwargs):
        Path.write_bytes(path, text[:10].encode())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    status, _, err = run_main(
        capsys, "examples", "reach_gmm_policy", "--out", str(target), "--force"
    )
    monkeypatch.undo()
    assert status == EXIT_USER_ERROR
    assert err == (
        "obsnets examples: error: No space left on device. Check the path, its permissions and "
        "the free disk space.\n"
    )
    assert target.read_text() == "my edits\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reach.json"]


def test_out_gets_the_mode_of_a_plainly_created_file(tmp_path, capsys):
    target = tmp_path / "reach.json"
    previous = os.umask(0o027)
    try:
        status, _, _ = run_main(capsys, "examples", "reach_gmm_policy", "--out", str(target))
        (tmp_path / "plain").write_text("")
    finally:
        os.umask(previous)
    assert status == 0
    assert target.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777 == 0o640
