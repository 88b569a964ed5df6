"""TimmConv(pretrained=True): timm's own weights, read offline from the Hugging Face cache.

Every test runs with ``HF_HUB_OFFLINE=1`` and a cache in ``tmp_path`` laid out as the hub
lays it out, holding weights the test itself wrote: nothing can reach the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import timm
import torch
from safetensors.torch import save_file

import obsnets
from obsnets.bases import InputNormalization
from obsnets.errors import ConfigError
from obsnets_timm.timm_conv import TimmConv

MODEL = "test_resnet.r160_in1k"
"""timm's smallest test model with a published pretrained tag (0.4 M parameters)."""

HUB_ID = f"timm/{MODEL}"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache in tmp_path, with offline mode on."""
    from huggingface_hub import constants

    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads the variables once, when imported: set what it read as well.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def cache_weights(cache, repo_id: str, seed: int = 1) -> dict[str, torch.Tensor]:
    """Write a random test_resnet state dict as ``repo_id``'s model.safetensors in ``cache``."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    torch.manual_seed(seed)
    state = timm.create_model("test_resnet").state_dict()
    save_file(state, str(snapshot / "model.safetensors"))
    return state


def assert_loaded(net: TimmConv, state: dict[str, torch.Tensor]) -> None:
    """Every tensor of the trunk equals the cached file's tensor of the same timm key."""
    for key, value in net.nets.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("model_name", [MODEL, "test_resnet"])  # tagged, default tag
def test_cached_weights_load_offline(offline_cache, model_name):
    state = cache_weights(offline_cache, HUB_ID)
    net = TimmConv(model_name, pretrained=True)
    assert_loaded(net, state)
    assert net.pretrained is True
    with pytest.raises(AssertionError):  # a trunk that did not load fails the same check
        assert_loaded(TimmConv(model_name), state)


def test_absent_weights_say_where_timm_looked_and_how_to_fix(offline_cache):
    with pytest.raises(ConfigError) as info:
        TimmConv(MODEL, pretrained=True)
    message = str(info.value)
    for expected in (
        f"TimmConv({MODEL!r})",
        f"timm model {MODEL!r}",
        f"repository {HUB_ID!r}",
        f"cache {str(offline_cache)!r}",
        "HF_HUB_OFFLINE is set",
        f"`hf download {HUB_ID}`",
        "pretrained='/path/to/model.safetensors'",
        "pretrained=False",
    ):
        assert expected in message, expected


def test_weights_of_another_repository_are_not_used(offline_cache):
    cache_weights(offline_cache, "timm/test_resnet.other_tag")
    with pytest.raises(ConfigError, match=f"repository {HUB_ID!r}"):
        TimmConv(MODEL, pretrained=True)


def test_a_model_without_published_weights_is_refused_before_building(offline_cache):
    with pytest.raises(ConfigError, match=r"no pretrained weights for 'botnet50ts_256"):
        TimmConv("botnet50ts_256", pretrained=True)


def test_input_normalization_is_timms_pretrained_cfg(offline_cache):
    cache_weights(offline_cache, HUB_ID)
    expected = InputNormalization(
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_size=(3, 160, 160),
        interpolation="bilinear",
        crop_pct=0.95,
    )
    assert TimmConv(MODEL, pretrained=True).input_normalization == expected
    assert TimmConv(MODEL).input_normalization is None  # random weights: nothing to match


def test_a_saved_model_loads_without_the_cache(offline_cache, tmp_path):
    state = cache_weights(offline_cache, HUB_ID)
    net = TimmConv(MODEL, pretrained=True)
    net.save_pretrained(tmp_path / "saved")
    for file in offline_cache.rglob("model.safetensors"):
        file.unlink()
    loaded = obsnets.load(tmp_path / "saved")
    assert_loaded(loaded, state)
    assert loaded.input_normalization == net.input_normalization


def test_the_environment_variables_are_honoured_in_a_fresh_process(tmp_path):
    # The variables are set before huggingface_hub is imported, as a user sets them.
    cache = tmp_path / "home" / "hub"
    state = cache_weights(cache, HUB_ID, seed=4)
    expected = tmp_path / "expected.safetensors"
    save_file(state, str(expected))
    script = textwrap.dedent(
        f"""
        import torch
        from safetensors.torch import load_file
        from obsnets_timm import TimmConv

        state = load_file({str(expected)!r})
        net = TimmConv({MODEL!r}, pretrained=True)
        same = all(torch.equal(v, state[k]) for k, v in net.nets.state_dict().items())
        print("loaded" if same else "different")
        """
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"
