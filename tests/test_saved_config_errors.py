"""Every malformed saved model is a ConfigError naming the file and the field, never a crash."""

from __future__ import annotations

import json
import os

import pytest
import torch

from obsnets import ConfigError, ObservationDecoder
from obsnets.saved_config import MAX_NESTING
from obsnets.saving import CONFIG_FILE, WEIGHTS_FILE, load, read_saved_config, save_pretrained


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    save_pretrained(ObservationDecoder({"a": [3], "b": [2]}, input_feat_dim=4), tmp_path)
    return tmp_path


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def _set(path, value):
    def edit(config):
        *parents, last = path
        for key in parents:
            config = config[key]
        config[last] = value

    return edit


def _delete(*path):
    def edit(config):
        *parents, last = path
        for key in parents:
            config = config[key]
        del config[last]

    return edit


TENSOR = ("weights", "tensors", "nets.a.weight")

CASES = {
    "no component": (_delete("component"), "lacks the field 'component'"),
    "component a list": (_set(["component"], []), "field 'component' must be an object"),
    "no kwargs": (_delete("component", "kwargs"), "lacks the field 'component.kwargs'"),
    "kwargs a list": (_set(["component", "kwargs"], [1]), "'component.kwargs' must be an object"),
    "name a number": (_set(["component", "name"], 5), "'component.name' must be a non-empty"),
    "empty kind": (_set(["component", "kind"], ""), "'component.kind' must be a non-empty"),
    "version a string": (_set(["format_version"], "1"), "format_version '1', expected 1"),
    "version true": (_set(["format_version"], True), "format_version True, expected 1"),
    "components an object": (_set(["components"], {}), "'components' must be a list"),
    "component entry a string": (_set(["components", 0], "x"), "'components[0]' must be an"),
    "component entry lacks kind": (_delete("components", 0, "kind"), "'components[0].kind'"),
    "requires a list": (_set(["requires"], ["obsnets"]), "'requires' must be an object"),
    "requires a number": (_set(["requires", "obsnets"], 1), "\"requires['obsnets']\" must be"),
    "no weights": (_delete("weights"), "lacks the field 'weights'"),
    "weights file up": (_set(["weights", "file"], "../model.safetensors"), "'weights.file'"),
    "weights file absolute": (_set(["weights", "file"], "/etc/passwd"), "'weights.file'"),
    "weights file nested": (_set(["weights", "file"], "a/b"), "'weights.file'"),
    "weights file a number": (_set(["weights", "file"], 3), "'weights.file'"),
    "tensors a list": (_set(["weights", "tensors"], []), "'weights.tensors' must be an object"),
    "tensor a list": (_set(list(TENSOR), []), "\"weights.tensors['nets.a.weight']\" must be"),
    "shape a string": (_set([*TENSOR, "shape"], "3x4"), "['nets.a.weight'].shape\" must be"),
    "negative size": (_set([*TENSOR, "shape"], [-3, 4]), "['nets.a.weight'].shape\" must be"),
    "boolean size": (_set([*TENSOR, "shape"], [True, 4]), "['nets.a.weight'].shape\" must be"),
    "unknown dtype": (_set([*TENSOR, "dtype"], "object"), "['nets.a.weight'].dtype\" must be"),
    "complex dtype": (_set([*TENSOR, "dtype"], "complex64"), "got 'complex64'"),
    "bad digest": (_set([*TENSOR, "sha256"], "zz"), "['nets.a.weight'].sha256\" must be"),
    "tied a list": (_set(["weights", "tied"], []), "'weights.tied' must be an object"),
    "alias of a stored tensor": (
        _set(["weights", "tied", "nets.a.bias"], "nets.b.bias"),
        "\"weights.tied['nets.a.bias']\": 'nets.a.bias' is stored itself",
    ),
    "alias of nothing": (
        _set(["weights", "tied", "extra.weight"], "missing.weight"),
        "\"weights.tied['extra.weight']\" must be the key of a stored tensor",
    ),
    "kwargs nested absurdly": (
        _set(["component", "kwargs", "input_feat_dim"], _nested(MAX_NESTING + 5)),
        f"deeper than {MAX_NESTING} levels",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_field_is_named(saved, case):
    edit, expected = CASES[case]
    config = json.loads((saved / CONFIG_FILE).read_text())
    edit(config)
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    for read in (read_saved_config, load):
        with pytest.raises(ConfigError) as excinfo:
            read(saved)
        message = str(excinfo.value)
        assert expected in message, message
        assert str(saved / CONFIG_FILE) in message


RAW = {
    "not UTF-8": (b'{"format_version": 1, "x": "\xff\xfe"}', "is not UTF-8 text (byte 28)"),
    "UTF-16": ('{"format_version": 1}'.encode("utf-16"), "is not UTF-8 text"),
    "not JSON": (b"{format_version: 1}", "is not valid JSON"),
    "an array": (b"[1, 2]", "is not an obsnets saved-model config"),
    "a string": (b'"config"', "is not an obsnets saved-model config"),
    "absurd nesting": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "huge integer": (b'{"format_version": ' + b"9" * 5000 + b"}", "is not valid JSON"),
    "repeated key": (b'{"format_version": 1, "format_version": 1}', "repeats the key"),
}


@pytest.mark.parametrize("case", list(RAW))
def test_a_malformed_file_is_a_config_error(saved, case):
    raw, expected = RAW[case]
    (saved / CONFIG_FILE).write_bytes(raw)
    for read in (read_saved_config, load):
        with pytest.raises(ConfigError, match=r"config\.json") as excinfo:
            read(saved)
        assert expected in str(excinfo.value)


def test_a_weights_file_that_is_a_symlink_out_is_refused(saved, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "stolen.safetensors"
    (saved / WEIGHTS_FILE).rename(outside)
    (saved / WEIGHTS_FILE).symlink_to(outside)
    with pytest.raises(ConfigError, match="is a symlink"):
        load(saved)


def test_a_config_that_is_a_symlink_is_refused(saved, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "config.json"
    (saved / CONFIG_FILE).rename(outside)
    (saved / CONFIG_FILE).symlink_to(outside)
    with pytest.raises(ConfigError, match="is a symlink"):
        read_saved_config(saved)


def test_a_weights_file_that_is_a_fifo_is_refused_without_blocking(saved):
    (saved / WEIGHTS_FILE).unlink()
    os.mkfifo(saved / WEIGHTS_FILE)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load(saved)


def test_a_missing_weights_file_is_named(saved):
    (saved / WEIGHTS_FILE).unlink()
    with pytest.raises(Exception, match=r"Cannot read weights .*model.safetensors.*No such file"):
        load(saved)
