"""Saved visual models load from their folder alone: no pretrained file, no name ambiguity."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision

import obsnets
from obsnets import AmbiguousNameError, ConvBase
from obsnets.registry import qualified_name_of, registry
from obsnets.saving import CONFIG_FILE, load, save_pretrained
from obsnets_visual import ResNet18Conv, TorchvisionConv, VisualCore


def _resnet18_file(path):
    """A torchvision-layout resnet18 state_dict unlike any fresh initialisation."""
    torch.manual_seed(7)
    model = torchvision.models.resnet18(weights=None)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.state_dict()


def _assert_same_outputs(model, loaded, shape=(2, 3, 32, 32)):
    x = torch.rand(*shape)
    model.eval()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_pretrained_file_is_not_needed_to_load(tmp_path):
    weights = tmp_path / "weights" / "resnet18-custom.pth"
    state = _resnet18_file(weights)
    model = VisualCore(
        input_shape=[3, 32, 32], backbone_kwargs={"pretrained": str(weights)}, pool_class=None
    )
    torch.testing.assert_close(model.backbone.nets[0].weight, state["conv1.weight"])
    save_pretrained(model, tmp_path / "saved")
    weights.unlink()
    with pytest.raises(obsnets.ConfigError, match="no such file"):
        VisualCore(input_shape=[3, 32, 32], backbone_kwargs={"pretrained": str(weights)})
    loaded = load(tmp_path / "saved")
    torch.testing.assert_close(loaded.backbone.nets[1].running_var, state["bn1.running_var"])
    _assert_same_outputs(model, loaded)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ResNet18Conv(pretrained=True),
        lambda: TorchvisionConv("resnet18", pretrained=True, weights="IMAGENET1K_V1"),
    ],
)
def test_hub_cache_weights_are_not_needed_to_load(tmp_path, monkeypatch, build):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    state = _resnet18_file(cached)
    model = build()
    torch.testing.assert_close(model.nets[0].weight, state["conv1.weight"])
    save_pretrained(model, tmp_path / "saved")
    cached.unlink()
    _assert_same_outputs(model, load(tmp_path / "saved"))


def test_default_backbone_name_keeps_its_class_when_another_provider_appears(tmp_path):
    torch.manual_seed(0)
    model = VisualCore(input_shape=[3, 32, 32])  # ResNet18Conv and SpatialSoftmax by default
    save_pretrained(model, tmp_path)
    recorded = json.loads((tmp_path / CONFIG_FILE).read_text())["components"]
    saved_as = "obsnets_visual.resnet18_conv:ResNet18Conv"
    assert {"kind": "backbone", "name": "ResNet18Conv", "qualified_name": saved_as} in recorded

    with registry.isolated():

        class ResNet18Conv(ConvBase):  # a later provider of the same plain name
            def output_shape(self, input_shape=None):
                return [512, 1, 1]

        with pytest.raises(AmbiguousNameError) as excinfo:
            VisualCore(input_shape=[3, 32, 32])
        message = str(excinfo.value)
        assert f"{saved_as!r}" in message and f"{qualified_name_of(ResNet18Conv)!r}" in message
        assert "OBSNETS_DISABLE_PLUGINS=visual" in message

        loaded = load(tmp_path)
    assert qualified_name_of(type(loaded.backbone)) == saved_as
    _assert_same_outputs(model, loaded)
