"""Saving never loses a model: failed, killed and concurrent saves; foreign folders; dtypes."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import obsnets
import obsnets.saved_folder as saved_folder
from obsnets import ConfigError, ObservationDecoder
from obsnets.model_card import MODEL_CARD_FILE
from obsnets.saving import CONFIG_FILE, WEIGHTS_FILE, load, read_saved_config, save_pretrained


def _decoder(seed: int) -> ObservationDecoder:
    torch.manual_seed(seed)
    return ObservationDecoder({"a": [3], "b": [2, 2]}, input_feat_dim=8)


def _assert_same_weights(loaded: torch.nn.Module, expected: torch.nn.Module) -> None:
    got, want = loaded.state_dict(), expected.state_dict()
    assert list(got) == list(want)
    for key, value in want.items():
        assert torch.equal(got[key], value), key


def _beside(folder: Path) -> list[str]:
    """What a save left in the folder's parent, apart from the folder itself."""
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failing", ["weights", "config"])
def test_a_save_failing_midway_leaves_the_old_model(tmp_path, monkeypatch, failing):
    target = tmp_path / "model"
    old = _decoder(0)
    save_pretrained(old, target)
    if failing == "weights":

        def half_written(tensors, path, *args, **kwargs):
            Path(path).write_bytes(b"\0" * 100)
            _disk_full()

        monkeypatch.setattr(obsnets.saving, "save_file", half_written)
    else:
        monkeypatch.setattr(Path, "write_text", _disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_pretrained(_decoder(1), target)
    monkeypatch.undo()
    _assert_same_weights(load(target), old)
    assert sorted(p.name for p in target.iterdir()) == [MODEL_CARD_FILE, CONFIG_FILE, WEIGHTS_FILE]
    assert _beside(target) == []  # the temporary folder is gone


CHILD = """
import os, signal, sys
from pathlib import Path
import torch
import obsnets
import obsnets.saved_folder as saved_folder
from obsnets import ObservationDecoder

def decoder(seed):
    torch.manual_seed(seed)
    return ObservationDecoder({"a": [3], "b": [2, 2]}, input_feat_dim=8)

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

target, point = Path(sys.argv[1]), sys.argv[2]
obsnets.save_pretrained(decoder(0), target)
if point == "weights":
    real = obsnets.saving.save_file
    def half_written(tensors, path, *args, **kwargs):
        real(tensors, path)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        die()
    obsnets.saving.save_file = half_written
elif point == "config":
    Path.write_text = die
elif point == "swap":
    saved_folder._swap_in = die
elif point == "cleanup":
    saved_folder.shutil.rmtree = die
obsnets.save_pretrained(decoder(1), target)
"""


@pytest.mark.parametrize(
    ("point", "survivor"), [("weights", 0), ("config", 0), ("swap", 0), ("cleanup", 1)]
)
def test_a_save_killed_at_any_point_leaves_the_old_or_the_new_model(tmp_path, point, survivor):
    target = tmp_path / "model"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    result = subprocess.run(
        [sys.executable, str(script), str(target), point], capture_output=True, text=True
    )
    assert result.returncode == -9, result.stderr  # killed by SIGKILL at the chosen point
    _assert_same_weights(load(target), _decoder(survivor))


WRITER = """
import sys
from pathlib import Path
import torch
import obsnets
from obsnets import ObservationDecoder

def decoder(seed):
    torch.manual_seed(seed)
    return ObservationDecoder({"a": [3], "b": [2, 2]}, input_feat_dim=8)

target, stop = Path(sys.argv[1]), Path(sys.argv[2])
models = [decoder(0), decoder(1)]
i = 0
while not stop.exists():
    obsnets.save_pretrained(models[i % 2], target)
    i += 1
print(i)
"""


def test_concurrent_readers_see_one_complete_model(tmp_path):
    target, stop = tmp_path / "model", tmp_path / "stop"
    save_pretrained(_decoder(0), target)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writer = subprocess.Popen(
        [sys.executable, str(script), str(target), str(stop)], stdout=subprocess.PIPE, text=True
    )
    expected = [_decoder(0).state_dict(), _decoder(1).state_dict()]
    seen = []
    try:
        deadline = time.monotonic() + 60
        while len(seen) < 30 or len(set(seen)) < 2:
            assert time.monotonic() < deadline, f"the writer never replaced the model: {seen}"
            state = load(target).state_dict()
            matches = [
                i
                for i, want in enumerate(expected)
                if all(torch.equal(state[k], v) for k, v in want.items())
            ]
            assert len(matches) == 1, "a load saw neither saved model"
            seen.append(matches[0])
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert int(out) >= 2
    assert _beside(target) == ["stop", "writer.py"]


def test_a_folder_holding_other_files_is_refused_unless_overwrite(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / CONFIG_FILE).write_text('{"lr": 0.1}')  # the user's training config
    with pytest.raises(ConfigError, match=r"not part of an obsnets saved model: \['config.json'\]"):
        save_pretrained(_decoder(0), target)
    assert (target / CONFIG_FILE).read_text() == '{"lr": 0.1}'
    assert sorted(p.name for p in target.iterdir()) == [CONFIG_FILE]

    save_pretrained(_decoder(0), target, overwrite=True)
    _assert_same_weights(load(target), _decoder(0))

    (target / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"\['notes.txt'\].*overwrite=True"):
        _decoder(1).save_pretrained(target)
    assert (target / "notes.txt").read_text() == "mine"
    _assert_same_weights(load(target), _decoder(0))

    a_file = tmp_path / "file"
    a_file.write_text("data")
    with pytest.raises(ConfigError, match="not a folder"):
        save_pretrained(_decoder(0), a_file)
    assert a_file.read_text() == "data"


def test_resaving_replaces_an_obsnets_model_and_removes_its_stale_files(tmp_path, monkeypatch):
    target = tmp_path / "model"
    save_pretrained(_decoder(0), target)
    # An older model whose weights file had another name.
    config = read_saved_config(target)
    config["weights"]["file"] = "old.safetensors"
    (target / WEIGHTS_FILE).rename(target / "old.safetensors")
    (target / CONFIG_FILE).write_text(json.dumps(config))
    _assert_same_weights(load(target), _decoder(0))

    exchanged = []
    real_exchange = saved_folder._exchange

    def exchange(a, b):
        exchanged.append(real_exchange(a, b))
        return exchanged[-1]

    monkeypatch.setattr(saved_folder, "_exchange", exchange)
    save_pretrained(_decoder(1), target)  # an obsnets model: replaced without overwrite=True
    if sys.platform == "linux":
        assert exchanged == [True]  # swapped in one step
    assert sorted(p.name for p in target.iterdir()) == [MODEL_CARD_FILE, CONFIG_FILE, WEIGHTS_FILE]
    _assert_same_weights(load(target), _decoder(1))
    assert _beside(target) == []


def test_saving_into_an_empty_folder_or_through_a_symlink(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    save_pretrained(_decoder(0), empty)
    _assert_same_weights(load(empty), _decoder(0))
    link = tmp_path / "link"
    link.symlink_to(empty)
    save_pretrained(_decoder(1), link)
    assert link.is_symlink()
    _assert_same_weights(load(empty), _decoder(1))


def test_files_get_ordinary_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        save_pretrained(_decoder(0), tmp_path / "model")
    finally:
        os.umask(previous)
    folder = tmp_path / "model"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o640, name


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_dtype_is_kept(tmp_path, dtype):
    model = _decoder(0).to(dtype)
    save_pretrained(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert {p.dtype for p in loaded.parameters()} == {dtype}
    _assert_same_weights(loaded, model)
    x = torch.randn(4, 8, dtype=dtype)
    for key, value in model(x).items():
        torch.testing.assert_close(loaded(x)[key], value, rtol=0, atol=0)


def test_a_mixed_dtype_model_keeps_each_tensor_dtype(tmp_path):
    model = _decoder(0)
    model.nets["a"].to(torch.float64)
    save_pretrained(model, tmp_path)
    loaded = load(tmp_path)
    assert {k: v.dtype for k, v in loaded.state_dict().items()} == {
        k: v.dtype for k, v in model.state_dict().items()
    }
    _assert_same_weights(loaded, model)


def test_without_an_atomic_exchange_the_old_folder_is_renamed_aside_then_removed(
    tmp_path, monkeypatch
):
    target = tmp_path / "model"
    save_pretrained(_decoder(0), target)
    monkeypatch.setattr(saved_folder, "_exchange", lambda a, b: False)  # e.g. macOS, NFS
    renames = []
    real_rename = os.rename

    def rename(source, destination):
        renames.append((Path(source).name, Path(destination).name))
        real_rename(source, destination)

    monkeypatch.setattr(saved_folder.os, "rename", rename)
    save_pretrained(_decoder(1), target)
    assert [b for _, b in renames][-1] == "model" and renames[0][0] == "model"
    _assert_same_weights(load(target), _decoder(1))
    assert _beside(target) == []
