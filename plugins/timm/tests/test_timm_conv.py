"""TimmConv: output_shape agrees with forward for any input size, numbers equal timm's own
trunk, and wrong arguments fail with messages that name the fix."""

from __future__ import annotations

import pytest
import timm
import torch

import obsnets
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, UnknownComponentError
from obsnets_timm.timm_conv import TimmConv

# Small models from four families; their trunks round odd sizes differently (ResNet and the
# MobileNet/EfficientNet stems pad and round up, ConvNeXt's patchify stem rounds down).
MODELS = ["resnet18", "efficientnet_b0", "convnext_atto", "mobilenetv3_small_050"]
SIZES = [(3, 64, 64), (3, 70, 50), (3, 33, 97)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run these tiny forwards on one thread: on a shared CPU, thread hand-offs inside the
    depthwise convolutions of EfficientNet/MobileNet cost seconds, the arithmetic milliseconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trunks(one_thread) -> dict[tuple[str, int], TimmConv]:
    torch.manual_seed(0)
    return {(m, i): TimmConv(m, out_index=i) for m in MODELS for i in (-1, 1)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("out_index", [-1, 1])
@pytest.mark.parametrize("model_name", MODELS)
def test_output_shape_matches_forward(trunks, model_name, out_index, size):
    net = trunks[(model_name, out_index)]
    with torch.no_grad():
        out = net(torch.randn(2, *size))
    assert list(out.shape) == [2, *net.output_shape(size)]
    assert out.shape[1] == net.feature_channels


@pytest.mark.parametrize(
    ("model_name", "expected"),
    [
        ("resnet18", [512, 3, 2]),  # ceil(70 / 32), ceil(50 / 32)
        ("convnext_atto", [320, 2, 1]),  # floor(70 / 32), floor(50 / 32)
    ],
)
def test_output_shape_rounds_like_the_architecture(trunks, model_name, expected):
    net = trunks[(model_name, -1)]
    assert net.output_shape((3, 70, 50)) == expected
    assert net.feature_reduction == 32


def test_out_index_picks_the_feature_level(trunks):
    shallow = trunks[("resnet18", 1)]
    assert shallow.output_shape([3, 64, 64]) == [64, 16, 16]  # stride 4, after the max-pool
    assert shallow.feature_reduction == 4
    # Layers after the requested level are not built.
    assert not any(k.startswith("nets.layer2.") for k in shallow.state_dict())


@pytest.mark.parametrize(
    ("model_name", "blocks", "kept"),
    [
        ("mobilenetv3_small_050", 6, 2),  # level 2 (stride 8) is the output of block 1
        ("efficientnet_b0", 7, 3),  # level 2 (stride 8) is the output of block 2
    ],
)
def test_blocks_after_the_level_are_dropped_where_timm_keeps_them(model_name, blocks, kept):
    # timm's EfficientNet/MobileNetV3 feature classes run every block for any out_indices.
    torch.manual_seed(0)
    full = timm.create_model(model_name, features_only=True).eval()
    net = TimmConv(model_name, out_index=2).eval()
    assert len(full.blocks) == blocks
    assert len(net.nets.blocks) == kept
    result = net.nets.load_state_dict(full.state_dict(), strict=False)
    assert result.missing_keys == []
    assert {k.split(".")[1] for k in result.unexpected_keys} == {
        str(i) for i in range(kept, blocks)
    }
    x = torch.randn(2, 3, 48, 40)
    with torch.no_grad():
        torch.testing.assert_close(net(x), full(x)[2], rtol=0, atol=0)
    assert net.output_shape((3, 48, 40)) == list(full(x)[2].shape[1:])


def test_forward_equals_timm_forward_features():
    torch.manual_seed(0)
    net = TimmConv("resnet18").eval()
    full = timm.create_model("resnet18").eval()
    result = full.load_state_dict(
        {k.removeprefix("nets."): v for k, v in net.state_dict().items()}, strict=False
    )
    assert result.missing_keys == ["fc.weight", "fc.bias"]
    assert result.unexpected_keys == []
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), full.forward_features(x), rtol=0, atol=0)


def test_state_dict_keys_are_timms_under_nets():
    net = TimmConv("resnet18")
    full = timm.create_model("resnet18")
    expected = {f"nets.{k}" for k in full.state_dict() if not k.startswith("fc.")}
    assert set(net.state_dict()) == expected


def test_input_channel_sets_the_first_convolution():
    net = TimmConv("resnet18", input_channel=1)
    assert net.nets.conv1.weight.shape == (64, 1, 7, 7)
    assert net.output_shape((1, 40, 40)) == [512, 2, 2]
    assert net(torch.randn(2, 1, 40, 40)).shape == (2, 512, 2, 2)


def test_channels_last_features_are_returned_channels_first():
    # A tiny Swin (the family whose timm features are NHWC), sized through model_kwargs.
    net = TimmConv(
        "swin_tiny_patch4_window7_224",
        model_kwargs={
            "img_size": 32,
            "embed_dim": 16,
            "depths": (1, 1, 1, 1),
            "num_heads": (1, 1, 1, 1),
            "window_size": 2,
        },
    )
    assert net.output_shape((3, 32, 32)) == [128, 1, 1]
    stage = TimmConv(
        "swin_tiny_patch4_window7_224",
        out_index=0,
        model_kwargs={"img_size": 32, "embed_dim": 16, "depths": (1,), "num_heads": (1,)},
    )
    x = torch.randn(2, 3, 32, 32)
    out = stage(x)
    assert out.shape == (2, *stage.output_shape((3, 32, 32))) == (2, 16, 8, 8)
    nhwc = stage.nets(x)[0]
    torch.testing.assert_close(out, nhwc.permute(0, 3, 1, 2), rtol=0, atol=0)


def test_fixed_size_model_reports_the_size_it_needs():
    net = TimmConv("vit_tiny_patch16_224", model_kwargs={"img_size": 32, "depth": 1})
    assert net.output_shape((3, 32, 32)) == [192, 2, 2]
    with pytest.raises(ShapeError, match=r"\(3, 48, 32\).*img_size.*\[48, 32\]"):
        net.output_shape((3, 48, 32))


def test_output_shape_does_not_change_module_state():
    net = TimmConv("resnet18").train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.output_shape((3, 45, 61))
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(v.device.type == "cpu" for v in net.state_dict().values())


def test_wrong_input_shapes_are_shape_errors(trunks):
    net = trunks[("resnet18", -1)]
    with pytest.raises(ShapeError, match=r"expects input shape \(3, H, W\).*got \(1, 64, 64\)"):
        net.output_shape((1, 64, 64))
    with pytest.raises(ShapeError, match="needs the input shape"):
        net.output_shape(None)
    with pytest.raises(ShapeError, match=r"\(B, 3, H, W\); got \(2, 4, 8, 8\)"):
        net(torch.zeros(2, 4, 8, 8))


def test_unknown_model_name_suggests_close_timm_names():
    with pytest.raises(UnknownComponentError, match=r"'resnet81'.*Did you mean.*'resnet18'"):
        TimmConv("resnet81")


def test_hub_names_and_unknown_tags_are_refused():
    with pytest.raises(ConfigError, match=r"by source.*'resnet18.a1_in1k'\) with pretrained=True"):
        TimmConv("hf-hub:timm/resnet18.a1_in1k")
    with pytest.raises(ConfigError, match=r"no pretrained tag 'bogus'.*'resnet18.a1_in1k'"):
        TimmConv("resnet18.bogus")


def test_tagged_name_builds_the_architecture():
    net = TimmConv("resnet18.a1_in1k")
    assert net.output_shape((3, 64, 64)) == [512, 2, 2]


def test_out_of_range_out_index_lists_the_levels():
    with pytest.raises(ConfigError, match=r"out_index=5.*5 feature levels.*\[2, 4, 8, 16, 32\]"):
        TimmConv("resnet18", out_index=5)


def test_model_kwargs_are_checked():
    with pytest.raises(ConfigError, match=r"in_chans.*input_channel"):
        TimmConv("resnet18", model_kwargs={"in_chans": 1})
    with pytest.raises(InvalidKwargsError, match="bogus"):
        TimmConv("resnet18", model_kwargs={"bogus": 1})


def test_built_by_name_with_strict_kwargs():
    net = obsnets.build_component(
        "TimmConv", {"model_name": "convnext_atto", "input_channel": 2}, kind="backbone"
    )
    assert isinstance(net, TimmConv)
    assert net.output_shape((2, 64, 64)) == [320, 2, 2]
    with pytest.raises(InvalidKwargsError, match=r"model_nme.*model_name"):
        obsnets.build_component("TimmConv", {"model_nme": "resnet18"}, kind="backbone")


@pytest.mark.parametrize(
    ("model_name", "size"), [("resnet18", (3, 64, 64)), ("convnext_atto", (3, 70, 50))]
)
def test_timm_conv_by_name_inside_visual_core(model_name, size):
    if not obsnets.is_component("VisualCore", kind="encoder_core"):
        pytest.skip("obsnets-visual (VisualCore) is not installed")
    core = obsnets.build_component(
        "VisualCore",
        {
            "input_shape": list(size),
            "backbone_class": "TimmConv",
            "backbone_kwargs": {"model_name": model_name},
            "pool_class": "SpatialSoftmax",
            "pool_kwargs": {"num_kp": 8},
            "feature_dimension": None,
        },
        kind="encoder_core",
    )
    assert isinstance(core.backbone, TimmConv)
    assert core.backbone.model_name == model_name
    assert core.output_shape(list(size)) == [16]  # 8 keypoints, (x, y) each
    with torch.no_grad():
        assert core(torch.randn(2, *size)).shape == (2, 16)
