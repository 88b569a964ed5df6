"""Pretrained weights come from local files only; a missing file is a clear error."""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision

from obsnets.errors import ConfigError
from obsnets_visual import ResNet18Conv, ResNet18ConvFiLM, ResNet50Conv, TorchvisionConv


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache in a temporary TORCH_HOME."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert torch.hub.get_dir() == str(tmp_path / "hub")
    return tmp_path / "hub" / "checkpoints"


@pytest.mark.parametrize(
    ("build", "file_name"),
    [
        (lambda: ResNet18Conv(pretrained=True), "resnet18-f37072fd.pth"),
        (lambda: ResNet50Conv(pretrained=True), "resnet50-0676ba61.pth"),
        (lambda: ResNet18ConvFiLM(pretrained=True), "resnet18-f37072fd.pth"),
        (
            lambda: TorchvisionConv("resnet18", pretrained=True, weights="IMAGENET1K_V1"),
            "resnet18-f37072fd.pth",
        ),
    ],
)
def test_missing_hub_file_says_where_it_looked_and_how_to_fix(hub, build, file_name):
    with pytest.raises(ConfigError) as info:
        build()
    message = str(info.value)
    assert file_name in message and str(hub) in message
    assert "never downloads" in message and "pretrained='/path/to/" in message


def test_missing_explicit_path(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        ResNet18Conv(pretrained=str(tmp_path / "absent.pth"))
    with pytest.raises(ConfigError, match="pretrained must be"):
        ResNet18Conv(pretrained=3)
    with pytest.raises(ConfigError, match="IMAGENET1K_V1"):
        TorchvisionConv("resnet18", pretrained=True, weights="IMAGENET9K")


def test_weights_load_from_the_hub_cache_and_from_a_path(hub, tmp_path):
    torch.manual_seed(3)
    source = torchvision.models.resnet18()
    hub.mkdir(parents=True)
    torch.save(source.state_dict(), hub / "resnet18-f37072fd.pth")
    loaded = ResNet18Conv(pretrained=True)
    assert torch.equal(loaded.nets[0].weight, source.conv1.weight)
    assert torch.equal(loaded.nets[7][1].bn2.running_var, source.layer4[1].bn2.running_var)

    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file(source.state_dict(), str(path))
    tv = TorchvisionConv("resnet18", pretrained=str(path))
    assert torch.equal(tv.nets[4][0].conv1.weight, source.layer1[0].conv1.weight)


def test_replacing_a_pretrained_first_layer_warns(hub):
    hub.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), hub / "resnet18-f37072fd.pth")
    with pytest.warns(UserWarning, match="pretrained first convolution 'conv1'"):
        backbone = ResNet18Conv(input_channel=1, pretrained=True)
    assert backbone.nets[0].weight.shape == (64, 1, 7, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ResNet18Conv(input_channel=3, pretrained=True)  # nothing replaced, nothing said


def test_a_file_of_the_wrong_model_is_a_clear_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ConfigError, match="do not fit"):
        ResNet18Conv(pretrained=str(path))
    torch.save({"not": "tensors"}, path)
    with pytest.raises(ConfigError, match="state_dict"):
        ResNet18Conv(pretrained=str(path))
