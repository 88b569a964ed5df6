"""The command line never prints a traceback for a user's mistake.

Exit status 2 and one line saying what to do for wrong input, a missing or unreadable file, an
absurd size or an output that cannot be written (found before the work starts); 1 and a request
to report only for real bugs; 130 for Ctrl-C; a quiet exit when stdout is closed early.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import obsnets.cli.build_command
import obsnets.cli.demo_command
import obsnets.cli.list_command
import obsnets.demo.run
from obsnets.cli.exit_status import EXIT_BROKEN_PIPE, EXIT_BUG, EXIT_INTERRUPTED, EXIT_USER_ERROR
from obsnets.cli.main import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = REPO / "core" / "obsnets" / "examples" / "reach_gmm_policy.json"


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """``obsnets ARGV`` in this process: exit status (argparse's too), stdout, stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse rejects the arguments
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def assert_user_error(status: int, err: str, *fragments: str) -> None:
    assert status == EXIT_USER_ERROR, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def a_file(tmp_path) -> Path:
    """A regular file, to use where a folder is expected (nothing can be created under it)."""
    path = tmp_path / "a_file.txt"
    path.write_text("not a folder\n")
    return path


def forbid(monkeypatch, target: object, name: str) -> None:
    """Make ``target.name`` fail the test if called: the work must not start."""

    def called(*args: object, **kwargs: object) -> None:
        pytest.fail(f"{name} ran although the arguments were already known to be wrong")

    monkeypatch.setattr(target, name, called)


# -- stdout closed early (obsnets list | head) -----------------------------------------------


@pytest.mark.parametrize(
    "argv", [["list"], ["plugins"], ["describe", "MIMO_MLP", "--json"]], ids=lambda a: a[0]
)
def test_closed_stdout_exits_quietly(argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "obsnets.cli.main", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""


# -- Ctrl-C, bugs, the environment ---------------------------------------------------------


def test_ctrl_c_is_one_line_and_status_130(capsys, monkeypatch):
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(obsnets.cli.list_command, "run", interrupted)
    status, _, err = run_main(capsys, "list")
    assert status == EXIT_INTERRUPTED
    assert err == "obsnets list: interrupted\n"


def _raise_bug(args: object) -> int:
    raise RuntimeError("index 7 is out of bounds for dimension 0 with size 3")


def test_a_bug_asks_for_a_report_without_a_traceback(capsys, monkeypatch):
    monkeypatch.delenv("OBSNETS_DEBUG", raising=False)
    monkeypatch.setattr(obsnets.cli.list_command, "run", _raise_bug)
    status, _, err = run_main(capsys, "list")
    assert status == EXIT_BUG
    assert "Traceback" not in err
    assert err.startswith("obsnets list: internal error: RuntimeError: index 7 is out of bounds")
    assert "please report it" in err and "--debug" in err
    assert len(err.splitlines()) == 2


def _warn_and_succeed(args):
    warnings.warn("reproduced 1 robomimic behaviour", UserWarning, stacklevel=1)
    return 0


@pytest.mark.filterwarnings("default")  # shown, as outside pytest
def test_warnings_are_one_message_line_without_library_source(capsys, monkeypatch):
    monkeypatch.delenv("OBSNETS_DEBUG", raising=False)
    monkeypatch.setattr(obsnets.cli.list_command, "run", _warn_and_succeed)
    status, _, err = run_main(capsys, "list")
    assert status == 0
    assert err == "obsnets: UserWarning: reproduced 1 robomimic behaviour\n"


@pytest.mark.parametrize("how", ["--debug", "OBSNETS_DEBUG=1"])
def test_debug_shows_the_traceback_of_a_bug(how, capsys, monkeypatch):
    monkeypatch.delenv("OBSNETS_DEBUG", raising=False)
    monkeypatch.setattr(obsnets.cli.list_command, "run", _raise_bug)
    argv = ["list"]
    if how == "--debug":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("OBSNETS_DEBUG", "1")
    status, _, err = run_main(capsys, *argv)
    assert status == EXIT_BUG
    assert "Traceback (most recent call last)" in err and "in _raise_bug" in err
    assert "internal error: RuntimeError" in err


def test_a_failed_write_names_the_file_and_is_a_user_error(capsys, monkeypatch):
    def disk_full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/model/model.safetensors")

    monkeypatch.setattr(obsnets.cli.list_command, "run", disk_full)
    status, _, err = run_main(capsys, "list")
    assert_user_error(status, err, "No space left on device", "'/data/model/model.safetensors'")


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 32000000000 bytes."
        ),
    ],
    ids=["MemoryError", "torch-allocator"],
)
def test_running_out_of_memory_asks_for_smaller_sizes(error, capsys, monkeypatch):
    def allocate(args: object) -> int:
        raise error

    monkeypatch.setattr(obsnets.cli.list_command, "run", allocate)
    status, _, err = run_main(capsys, "list")
    assert_user_error(status, err, "not enough memory", "smaller sizes")


# -- bad input files -----------------------------------------------------------------------


def test_build_rejects_a_config_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"network": "MIMO_MLP", "kwargs": {"note": "café"}}'.encode("latin-1"))
    status, _, err = run_main(capsys, "build", str(path))
    assert_user_error(status, err, "is not UTF-8", str(path))


def test_build_rejects_a_config_nested_too_deeply(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    status, _, err = run_main(capsys, "build", str(path))
    assert_user_error(status, err, "nested too deeply", str(path))


def test_inspect_rejects_a_saved_config_that_is_not_utf8(tmp_path, capsys):
    (tmp_path / "config.json").write_bytes(b'{"component": "\xff"}')
    status, _, err = run_main(capsys, "inspect", str(tmp_path))
    assert_user_error(status, err, "is not UTF-8", "config.json")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_build_rejects_a_device_instead_of_reading_it_forever(capsys):
    status, _, err = run_main(capsys, "build", "/dev/zero")
    assert_user_error(status, err, "not a regular file")


def test_demo_rejects_a_non_utf8_config_before_training(tmp_path, capsys, monkeypatch):
    forbid(monkeypatch, obsnets.demo.run, "collect_demonstrations")
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe{}")
    status, _, err = run_main(capsys, "demo", "--config", str(path), "--out", str(tmp_path / "r"))
    assert_user_error(status, err, "is not UTF-8")


def test_demo_rejects_a_config_that_is_not_a_policy_before_training(tmp_path, capsys, monkeypatch):
    forbid(monkeypatch, obsnets.demo.run, "collect_demonstrations")
    config = {
        "network": "MIMO_MLP",
        "kwargs": {
            "input_obs_group_shapes": {"obs": {"agent_pos": [2]}},
            "output_shapes": {"action": [2]},
            "layer_dims": [8],
        },
    }
    path = tmp_path / "mlp.json"
    path.write_text(json.dumps(config))
    status, _, err = run_main(capsys, "demo", "--config", str(path), "--out", str(tmp_path / "r"))
    assert_user_error(status, err, "forward_train", "MIMO_MLP")
    assert not (tmp_path / "r").exists()


# -- numbers out of range: rejected while parsing, naming the range -------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", str(EXAMPLE_CONFIG), "--batch-size", "0"], "from 1 to 1,024, got 0"),
        (["build", str(EXAMPLE_CONFIG), "--batch-size", "-1"], "from 1 to 1,024, got -1"),
        (["build", str(EXAMPLE_CONFIG), "--batch-size", "100000000"], "got 100,000,000"),
        (["build", str(EXAMPLE_CONFIG), "--batch-size", "2.5"], "got '2.5'"),
        (["demo", "--steps", "0"], "--steps: expected an integer from 1 to 1,000,000, got 0"),
        (["demo", "--steps", "10000000000"], "--steps: expected an integer from 1 to 1,000,000"),
        (["demo", "--episodes", "0"], "--episodes: expected an integer from 1 to 1,000, got 0"),
        (["demo", "--eval-episodes", "0"], "--eval-episodes: expected an integer from 1 to"),
        (["demo", "--seed", "-5"], "--seed: expected an integer from 0 to 4,294,967,295"),
    ],
)
def test_numbers_out_of_range_are_rejected_before_any_work(argv, message, capsys, monkeypatch):
    forbid(monkeypatch, obsnets.cli.demo_command, "run_demo")
    forbid(monkeypatch, obsnets.cli.build_command, "build_from_config")
    status, out, err = run_main(capsys, *argv)
    assert_user_error(status, err, message)
    assert out == ""


# -- outputs that cannot be written: found before the work starts ---------------------------


def test_demo_checks_its_output_folder_before_training(a_file, capsys, monkeypatch):
    forbid(monkeypatch, obsnets.cli.demo_command, "run_demo")
    status, _, err = run_main(capsys, "demo", "--out", str(a_file / "report"))
    assert_user_error(status, err, "--out", "is a file, not a folder")
    status, _, err = run_main(capsys, "demo", "--out", str(a_file))
    assert_user_error(status, err, "--out", "is a file, not a folder")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_demo_checks_folder_permissions_before_training(tmp_path, capsys, monkeypatch):
    forbid(monkeypatch, obsnets.cli.demo_command, "run_demo")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        status, _, err = run_main(capsys, "demo", "--out", str(locked / "report"))
    finally:
        locked.chmod(0o700)
    assert_user_error(status, err, "no permission to write in")


def test_convert_checks_its_output_folder_before_opening_the_file(a_file, tmp_path, capsys):
    missing = tmp_path / "no_such_checkpoint.pth"
    status, _, err = run_main(capsys, "convert", str(missing), "--out", str(a_file / "model"))
    assert_user_error(status, err, "--out", "is a file, not a folder")
    assert "no_such_checkpoint" not in err


def test_new_plugin_under_a_file_is_a_user_error(a_file, capsys):
    status, _, err = run_main(
        capsys, "new-plugin", "depth_edges", "--kind", "encoder-core", "--dir", str(a_file / "p")
    )
    assert_user_error(status, err, "--dir", "is a file, not a folder")
    assert a_file.read_text() == "not a folder\n"


@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_show_randomizer_checks_its_output_before_reading_the_image(
    where, a_file, tmp_path, capsys
):
    out = a_file / "grid.png" if where == "under_a_file" else tmp_path
    missing_image = tmp_path / "no_such_image.png"
    argv = ["show-randomizer", "CropRandomizer", "--image", str(missing_image), "--out", str(out)]
    status, _, err = run_main(capsys, *argv)
    assert_user_error(status, err, "--out")
    assert "no_such_image" not in err
