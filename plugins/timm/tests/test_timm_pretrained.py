"""TimmConv(pretrained=path): weights come from the local file, never from the network.

``pretrained=True`` (timm's weights through the Hugging Face cache) is tested in
test_timm_hub_weights.py.
"""

from __future__ import annotations

import pytest
import timm
import timm.models._builder as timm_builder
import torch
from safetensors.torch import save_file

from obsnets.errors import ConfigError
from obsnets_timm.timm_conv import TimmConv


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Every way timm fetches weights fails, so a test that passes loaded a local file."""

    def refuse(*args, **kwargs):
        raise AssertionError("TimmConv tried to download weights")

    for name in ("load_state_dict_from_url", "load_state_dict_from_hf", "download_cached_file"):
        monkeypatch.setattr(timm_builder, name, refuse)


def source_state(model_name: str, seed: int = 1) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return timm.create_model(model_name).state_dict()


def assert_loaded(net: TimmConv, state: dict[str, torch.Tensor]) -> None:
    """Every tensor of the trunk equals the checkpoint's tensor of the same timm key."""
    for key, value in net.nets.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("model_name", ["resnet18", "mobilenetv3_small_050"])
def test_safetensors_checkpoint_round_trips(tmp_path, model_name):
    state = source_state(model_name)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    net = TimmConv(model_name, pretrained=path)
    assert_loaded(net, state)
    torch.manual_seed(2)
    with pytest.raises(AssertionError):  # a trunk that did not load fails the same check
        assert_loaded(TimmConv(model_name), state)


def test_torch_checkpoint_nested_and_headless(tmp_path):
    state = source_state("resnet18")
    headless = {k: v for k, v in state.items() if not k.startswith("fc.")}
    path = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in headless.items()}}, path)
    net = TimmConv("resnet18", pretrained=str(path))
    assert_loaded(net, state)
    assert net.pretrained == str(path)


def test_pretrained_first_conv_is_adapted_to_one_channel(tmp_path):
    state = source_state("resnet18")
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    net = TimmConv("resnet18", input_channel=1, pretrained=path)
    # timm sums the RGB filters for a single channel, so grey images give RGB responses.
    expected = state["conv1.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(net.nets.conv1.weight, expected)
    torch.testing.assert_close(net.nets.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        TimmConv("resnet18", pretrained=tmp_path / "nope.safetensors")


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    # resnet34 holds every resnet18 key with the same shapes, plus more blocks: a non-strict
    # load would pass silently with the wrong weights.
    path = tmp_path / "resnet34.safetensors"
    save_file(source_state("resnet34"), str(path))
    with pytest.raises(ConfigError, match=r"0 of its \d+ keys are missing.*'layer1.2.bn1.bias'"):
        TimmConv("resnet18", pretrained=path)


def test_timm_conv_state_dict_is_not_a_timm_checkpoint(tmp_path):
    path = tmp_path / "timm_conv.safetensors"
    save_file(TimmConv("resnet18").state_dict(), str(path))
    with pytest.raises(ConfigError, match=r"'nets.bn1.bias'.*timm's format"):
        TimmConv("resnet18", pretrained=path)


def test_torch_file_with_objects_is_refused(tmp_path):
    path = tmp_path / "pickled.pth"
    torch.save({"state_dict": source_state("resnet18"), "optimizer": torch.optim.SGD}, path)
    with pytest.raises(ConfigError, match="weights_only=True"):
        TimmConv("resnet18", pretrained=path)


def test_the_download_guard_catches_timms_own_download():
    # Without a file timm would fetch weights; the guard above turns that into a failure.
    with pytest.raises(AssertionError, match="download"):
        timm.create_model("resnet18", pretrained=True)


def test_pretrained_file_through_visual_core_config(tmp_path):
    import obsnets

    if not obsnets.is_component("VisualCore", kind="encoder_core"):
        pytest.skip("obsnets-visual (VisualCore) is not installed")
    state = source_state("resnet18")
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    core = obsnets.build_component(
        "VisualCore",
        {
            "input_shape": [3, 32, 32],
            "backbone_class": "TimmConv",
            "backbone_kwargs": {"model_name": "resnet18", "pretrained": str(path)},
        },
        kind="encoder_core",
    )
    assert_loaded(core.backbone, state)


def test_tensor_of_the_wrong_shape_is_a_config_error(tmp_path):
    state = source_state("resnet18")
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:, :32].contiguous()
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    with pytest.raises(ConfigError, match=r"(?s)do not fit the model.*layer1.0.conv1.weight"):
        TimmConv("resnet18", pretrained=path)


def test_the_checkpoint_is_not_kept_beside_the_parameters(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(source_state("mobilenetv3_small_050"), str(path))
    net = TimmConv("mobilenetv3_small_050", pretrained=path)
    configs = [getattr(m, "pretrained_cfg", None) for m in net.modules()]
    configs = [c for c in configs if isinstance(c, dict)]
    assert configs  # timm does keep a config on the trunk...
    assert not any("state_dict" in c for c in configs)  # ...but not the weights in it
