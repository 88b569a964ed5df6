"""Reading robomimic checkpoint files as data: the allow-list, refusals, structure checks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from obsnets_robomimic import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    read_checkpoint_file,
)
from obsnets_robomimic.checkpoint_file import is_robomimic_checkpoint

MARKER_NAME = "payload_ran"


def _mark(path: str) -> None:  # what a malicious pickle would call
    Path(path).write_text("ran")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_mark, (str(self.marker),))


class _PlainObject:
    def __init__(self) -> None:
        self.value = 1


def test_the_image_checkpoint_loads_with_its_numpy_scalars(checkpoint_path):
    # torch's weights_only=True alone refuses it (numpy._core.multiarray.scalar).
    with pytest.raises(Exception, match=r"numpy\._core\.multiarray\.scalar"):
        torch.load(checkpoint_path("bc_rnn_gmm_image"), weights_only=True)
    contents = read_checkpoint_file(checkpoint_path("bc_rnn_gmm_image"))
    best = contents.variable_state["best_return"]["tiny_bc_rnn_gmm_image"]
    assert isinstance(best, np.float64) and best == 1.0
    assert contents.algo_name == "bc"
    assert contents.config["algo"]["rnn"]["horizon"] == 5
    assert len(contents.nets) == 48


def test_a_pickled_callable_is_refused_by_name_and_never_runs(tmp_path):
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "evil.pth"
    torch.save({"algo_name": "bc", "model": {"nets": {}}, "x": _Payload(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"_mark\b") as info:
        read_checkpoint_file(path)
    assert str(path) in str(info.value)
    assert "weights_only=False" not in str(info.value)  # never advise the unsafe way
    assert not marker.exists()


def test_a_pickled_instance_is_refused_naming_its_class(tmp_path):
    path = tmp_path / "object.pth"
    torch.save({"algo_name": "bc", "x": _PlainObject()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"_PlainObject"):
        read_checkpoint_file(path)


def test_numpy_arrays_are_outside_the_allow_list(tmp_path):
    path = tmp_path / "array.pth"
    torch.save({"x": np.zeros(3)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"numpy\._core\.multiarray\._reconstruct"):
        read_checkpoint_file(path)


def _rewrite_pickle(source: Path, target: Path, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            dst.writestr(item, data)


def test_numpy_1_spelling_of_the_scalar_is_allowed(checkpoint_path, tmp_path):
    numpy1 = tmp_path / "numpy1.pth"
    _rewrite_pickle(
        checkpoint_path("bc_rnn_gmm_image"),
        numpy1,
        b"numpy._core.multiarray\nscalar",
        b"numpy.core.multiarray\nscalar",
    )
    contents = read_checkpoint_file(numpy1)
    assert contents.variable_state["best_success_rate"]["tiny_bc_rnn_gmm_image"] == 1.0


@pytest.mark.parametrize(
    ("drop", "replace", "message"),
    [
        (("shape_metadata",), None, r"has no 'shape_metadata'"),
        ((), {"config": "{not json"}, r"\['config'\] is not valid JSON"),
        ((), {"algo_name": 3}, r"\['algo_name'\] must be a str; got int"),
        ((), {"model": {"nets": {"policy.w": [1.0]}}}, r"entry 'policy.w' is a list"),
        ((), {"shape_metadata": {"all_shapes": {}}}, r"\['shape_metadata'\] has no 'ac_dim'"),
        ((), {"action_normalization_stats": {"actions": {"scale": [[1.0]]}}}, r"has no 'offset'"),
    ],
)
def test_structure_errors_name_the_file_and_field(write_checkpoint, drop, replace, message):
    path = write_checkpoint("bc_lowdim", drop=drop, replace=replace)
    with pytest.raises(CheckpointFormatError, match=message) as info:
        read_checkpoint_file(path)
    assert str(path) in str(info.value)


def test_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(CheckpointFormatError, match="No checkpoint file"):
        read_checkpoint_file(tmp_path / "missing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(CheckpointFormatError, match="Cannot read"):
        read_checkpoint_file(garbage)
    listing = tmp_path / "list.pth"
    torch.save([1, 2], listing)
    with pytest.raises(CheckpointFormatError, match="holds a list, not the dict"):
        read_checkpoint_file(listing)
    assert not is_robomimic_checkpoint(garbage) and not is_robomimic_checkpoint(listing)


def test_recognition_reads_only_the_index(checkpoint_path, tmp_path):
    assert is_robomimic_checkpoint(checkpoint_path("bc_lowdim"))
    other = tmp_path / "weights.pth"
    torch.save({"weight": torch.zeros(2)}, other)
    assert not is_robomimic_checkpoint(other)
