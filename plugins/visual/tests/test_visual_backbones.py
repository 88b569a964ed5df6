"""Backbones: output_shape equals the real output for several sizes; layers do what they say."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets.building import build_component
from obsnets.errors import ConfigError, ShapeError
from obsnets_visual import (
    CoordConv2d,
    FiLMLayer,
    ResNet18Conv,
    ResNet18ConvFiLM,
    ShallowConv,
    TorchvisionConv,
)

SIZES = [(32, 32), (33, 47), (20, 9)]

BACKBONES = [
    ("ResNet18Conv", {}),
    ("ResNet18Conv", {"input_channel": 1}),
    ("ResNet18Conv", {"input_coord_conv": True}),
    ("ResNet50Conv", {}),
    ("ShallowConv", {}),
    ("ShallowConv", {"input_channel": 2, "output_channel": 64}),
    ("TorchvisionConv", {"model_name": "resnet18"}),
    ("TorchvisionConv", {"model_name": "squeezenet1_0", "input_channel": 4}),
    ("TorchvisionConv", {"model_name": "mobilenet_v3_small", "input_coord_conv": True}),
    ("TorchvisionConv", {"model_name": "convnext_tiny"}),
]


@pytest.mark.parametrize(("name", "kwargs"), BACKBONES, ids=lambda v: str(v))
def test_output_shape_equals_forward(name, kwargs):
    backbone = build_component(name, kwargs, kind="backbone").eval()
    channels = kwargs.get("input_channel", 3)
    for size in SIZES:
        if name == "TorchvisionConv" and min(size) < 32:
            continue  # some torchvision trunks need at least 32 pixels
        shape = (channels, *size)
        predicted = backbone.output_shape(shape)
        assert all(type(d) is int for d in predicted)
        with torch.no_grad():
            out = backbone(torch.rand(2, *shape))
        assert list(out.shape[1:]) == predicted, (name, kwargs, size)
    with pytest.raises(
        ShapeError, match=rf"{name}.*\(B, {channels}, H, W\).*\(2, {channels + 1}, 32, 32\)"
    ):
        backbone(torch.rand(2, channels + 1, 32, 32))
    with pytest.raises(ShapeError, match=name):
        backbone.output_shape((channels + 1, 32, 32))


def test_film_output_shape_equals_forward_and_construction_leaves_batchnorm_alone():
    backbone = ResNet18ConvFiLM(lang_emb_dim=6)
    bns = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(int(bn.num_batches_tracked) == 0 for bn in bns)  # robomimic ran a probe here
    assert all(torch.count_nonzero(bn.running_mean) == 0 for bn in bns)
    assert [f.channels for f in backbone._film_layers] == [64, 64, 128, 128, 256, 256, 512, 512]
    backbone.eval()
    for size in SIZES:
        out = backbone(torch.rand(2, 3, *size), torch.randn(2, 6))
        assert list(out.shape[1:]) == backbone.output_shape((3, *size))


def test_film_with_zero_modulation_is_the_plain_resnet():
    plain = ResNet18Conv().eval()
    film = ResNet18ConvFiLM(lang_emb_dim=4).eval()
    mapped = {}
    for key, value in plain.state_dict().items():
        index, rest = key.split(".", 2)[1], key.split(".", 2)[2]
        if int(index) < 4:
            mapped[f"_base_block.{index}.{rest}"] = value
        else:
            block, rest = rest.split(".", 1)
            mapped[f"_conv_blocks.{2 * (int(index) - 4) + int(block)}.{rest}"] = value
    for j, layer in enumerate(film._film_layers):
        mapped[f"_film_layers.{j}.lang_proj.weight"] = torch.zeros_like(layer.lang_proj.weight)
        mapped[f"_film_layers.{j}.lang_proj.bias"] = torch.zeros_like(layer.lang_proj.bias)
    film.load_state_dict(mapped, strict=True)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(film(x, torch.randn(2, 4)), plain(x))


def test_film_layer_applies_one_plus_gamma_and_beta_then_relu():
    layer = FiLMLayer(lang_emb_dim=2, channels=3)
    with torch.no_grad():
        layer.lang_proj.weight.zero_()
        layer.lang_proj.bias.copy_(torch.tensor([1.0, -5.0, 0.0, 1.0, 0.0, -2.0]))  # beta, gamma
    x = torch.ones(1, 3, 2, 2)
    out = layer(x, torch.zeros(1, 2))
    # channel c: relu((1 + gamma_c) * 1 + beta_c) -> relu(3), relu(-4), relu(-1)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([3.0, 0.0, 0.0]))
    assert layer.output_shape((3, 2, 2)) == [3, 2, 2]
    with pytest.raises(ShapeError, match=r"FiLMLayer \(lang_emb\).*\(B, 2\)"):
        layer(x, torch.zeros(1, 5))


def test_coord_conv_appends_row_and_column_positions():
    conv = CoordConv2d(1, 2, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).view(2, 3, 1, 1))
    out = conv(torch.zeros(1, 1, 3, 4))
    rows = torch.arange(3).view(3, 1).expand(3, 4) / 3
    cols = torch.arange(4).view(1, 4).expand(3, 4) / 4
    torch.testing.assert_close(out[0, 0], rows)
    torch.testing.assert_close(out[0, 1], cols)
    # Another size and dtype after the first call (robomimic's cache crashed here).
    out = conv.double()(torch.zeros(2, 1, 5, 2, dtype=torch.float64))
    assert out.dtype == torch.float64
    torch.testing.assert_close(out[1, 0], (torch.arange(5).view(5, 1) / 5).expand(5, 2).double())


def test_coord_conv_output_shape_is_the_convolution_output():
    conv = CoordConv2d(3, 8, kernel_size=5, stride=2, padding=1, dilation=2)
    for size in [(17, 17), (20, 31)]:
        assert conv.output_shape((3, *size)) == list(conv(torch.rand(1, 3, *size)).shape[1:])
    assert CoordConv2d(3, 4, 3, padding="same").output_shape((3, 9, 7)) == [4, 9, 7]
    assert ResNet18Conv(input_coord_conv=True).nets[0].weight.shape == (64, 5, 7, 7)
    with pytest.raises(ConfigError, match="coord_encoding"):
        CoordConv2d(3, 4, 3, coord_encoding="sine")


def test_shallow_conv_honours_output_channel_and_odd_sizes():
    conv = ShallowConv(output_channel=64)
    out = conv(torch.rand(1, 3, 85, 85))
    assert out.shape == (1, 64, 43, 43) and conv.output_shape((3, 85, 85)) == [64, 43, 43]
    # robomimic's layout with the default: convolutions at 0, 2, 4, 6.
    assert [k for k in ShallowConv().state_dict() if k.endswith("weight")] == [
        "nets.0.weight",
        "nets.2.weight",
        "nets.4.weight",
        "nets.6.weight",
    ]


def test_torchvision_conv_resnet18_has_resnet18conv_layout():
    ours = TorchvisionConv("resnet18")
    assert list(ours.state_dict()) == list(ResNet18Conv().state_dict())


def test_torchvision_conv_output_shape_leaves_batchnorm_statistics_untouched():
    backbone = TorchvisionConv("resnet18").train()
    backbone.output_shape((3, 40, 50))
    bn = backbone.nets[1]
    assert int(bn.num_batches_tracked) == 0 and torch.count_nonzero(bn.running_mean) == 0


def test_torchvision_conv_refuses_what_it_cannot_do():
    with pytest.raises(ConfigError, match="resnet18"):  # suggestion for a typo
        TorchvisionConv("resnet_18")
    with pytest.raises(ConfigError, match="feature map"):
        TorchvisionConv("vit_b_16", model_kwargs={"image_size": 32})
    backbone = TorchvisionConv("squeezenet1_0")
    with pytest.raises(ShapeError, match=r"TorchvisionConv\('squeezenet1_0'\) cannot process"):
        backbone.output_shape((3, 4, 4))
