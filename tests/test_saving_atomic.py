"""Saving never loses a model: failed, killed and concurrent saves; foreign folders; dtypes."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
import warnings
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


# write_file: one small file (a config, a picture) replaced atomically.


def test_write_file_failing_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old\n")

    def half_written(path):
        path.write_text('{"half": ')
        _disk_full()

    with pytest.raises(OSError, match="No space left"):
        saved_folder.write_file(target, half_written)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_write_file_failing_before_the_file_exists_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "curve.png"  # a missing folder is created
    with pytest.raises(KeyboardInterrupt):
        saved_folder.write_file(target, lambda path: (path.write_bytes(b"\x89P"), _interrupt()))
    assert list(target.parent.iterdir()) == []


def _interrupt():
    raise KeyboardInterrupt


def test_write_file_gives_the_mode_of_a_plainly_created_file(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old\n")
    os.chmod(target, 0o600)  # replaced, not kept: the new file is a new file
    previous = os.umask(0o027)
    try:
        # A writer that makes its file private (as mkstemp does) does not decide the mode.
        saved_folder.write_file(target, lambda path: (path.write_text("new\n"), path.chmod(0o600)))
        (tmp_path / "plain").write_text("plain\n")
    finally:
        os.umask(previous)
    assert target.read_text() == "new\n"
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o640


def test_write_file_hands_the_writer_a_hidden_path_with_the_target_suffix(tmp_path):
    target = tmp_path / "learning_curve.png"
    given = []
    saved_folder.write_file(target, lambda path: (given.append(path), path.write_bytes(b"png")))
    [path] = given
    assert path.parent == tmp_path
    assert path.name.startswith(".learning_curve.saving-") and path.suffix == ".png"
    assert not path.exists()
    assert target.read_bytes() == b"png"


def test_write_file_under_a_file_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "config.json"
    message = (
        f"Cannot write {str(target)!r}: {str(tmp_path / 'file')!r} is a file, not a folder. "
        "Choose another location."
    )
    with pytest.raises(ConfigError) as caught:
        saved_folder.write_file(target, lambda path: path.write_text("{}"))
    assert str(caught.value) == message


def test_a_load_whose_folder_is_replaced_before_the_weights_are_read_reads_the_new_one(
    tmp_path, monkeypatch
):
    target = tmp_path / "model"
    save_pretrained(_decoder(0), target)
    read = saved_folder.FolderReader.read
    weights_reads = []

    def replaced_before_the_weights(self, name, limit):
        if name == WEIGHTS_FILE:
            weights_reads.append(name)
            if len(weights_reads) == 1:
                # The opened folder is swapped out and removed: its weights file is gone.
                save_pretrained(_decoder(1), target)
        return read(self, name, limit)

    monkeypatch.setattr(saved_folder.FolderReader, "read", replaced_before_the_weights)
    _assert_same_weights(load(target), _decoder(1))
    assert weights_reads == [WEIGHTS_FILE, WEIGHTS_FILE]


def test_weights_that_cannot_be_read_are_named(tmp_path, monkeypatch):
    target = tmp_path / "model"
    save_pretrained(_decoder(0), target)
    read = saved_folder.FolderReader.read

    def denied(self, name, limit):
        if name == WEIGHTS_FILE:
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return read(self, name, limit)

    monkeypatch.setattr(saved_folder.FolderReader, "read", denied)
    with pytest.raises(obsnets.ObsnetsError) as raised:
        load(target)
    assert str(raised.value) == (
        f"Cannot read weights {str(target / WEIGHTS_FILE)!r}: Permission denied."
    )
    assert not isinstance(raised.value, ConfigError)  # not "No saved obsnets model"


def test_a_complex_model_is_refused_with_the_reason_and_nothing_is_written(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: complex modules are experimental
        model = obsnets.MLP(3, 2, layer_dims=(4,)).to(torch.complex64)
    with pytest.raises(ConfigError) as raised:
        save_pretrained(model, tmp_path / "model")
    assert str(raised.value) == (
        "Cannot save MLP: tensors '_model.0.weight' (complex64), '_model.0.bias' (complex64), "
        "'_model.2.weight' (complex64), '_model.2.bias' (complex64) have dtypes a saved model "
        "cannot hold. Complex weights cannot be saved: a saved model is rebuilt with real ones. "
        "Convert them to one of ['bfloat16', 'bool', 'float16', 'float32', 'float64', "
        "'float8_e4m3fn', 'float8_e5m2', 'int16', 'int32', 'int64', 'int8', 'uint8'] "
        "(e.g. model.float()). Nothing was written."
    )
    assert list(tmp_path.iterdir()) == []


def test_the_refused_dtypes_list_the_first_six_tensors(tmp_path):
    model = obsnets.MLP(3, 2, layer_dims=(4, 4, 4))
    for index in range(8):
        model.register_buffer(f"counts{index}", torch.zeros(2, dtype=torch.uint32))
    with pytest.raises(ConfigError) as raised:
        save_pretrained(model, tmp_path / "model")
    message = str(raised.value)
    assert message.startswith(
        "Cannot save MLP: tensors 'counts0' (uint32), 'counts1' (uint32), 'counts2' (uint32), "
        "'counts3' (uint32), 'counts4' (uint32), 'counts5' (uint32) and 2 more have dtypes a "
        "saved model cannot hold. Convert them to one of ['bfloat16', "
    ), message
