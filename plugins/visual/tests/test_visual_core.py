"""VisualCore: building by name, argument spellings, injection, shapes, options, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets.bases import ConvBase, PoolBase
from obsnets.building import build_component
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, UnknownComponentError
from obsnets.registry import registry
from obsnets_visual import VisualCore, VisualCoreLanguageConditioned


@pytest.fixture
def isolated():
    with registry.isolated() as reg:
        yield reg


def test_defaults_follow_robomimic():
    core = VisualCore((3, 84, 84))
    assert type(core.backbone).__name__ == "ResNet18Conv"
    assert type(core.pool).__name__ == "SpatialSoftmax"
    assert core.backbone.output_shape((3, 84, 84)) == [512, 3, 3]
    assert [type(m).__name__ for m in core.nets] == [
        "ResNet18Conv",
        "SpatialSoftmax",
        "Flatten",
        "Linear",
    ]
    assert core.nets[3].in_features == 64 and core.output_shape() == [64]
    assert core.output_shape((3, 84, 84)) == [64]
    out = core(torch.rand(2, 3, 84, 84))
    assert out.shape == (2, 64)


def test_custom_backbone_from_a_test_file_is_usable_by_name(isolated):
    class TinyTestBackbone(ConvBase):
        """Doubles the image and keeps its shape: easy to predict."""

        def __init__(self, input_channel: int = 3, scale: float = 2.0) -> None:
            super().__init__()
            self.input_channel = input_channel
            self.scale = scale
            self.nets = nn.Identity()

        def output_shape(self, input_shape=None):
            return list(input_shape)

        def forward(self, inputs):
            return inputs * self.scale

    class SumTestPool(PoolBase):
        def __init__(self, input_shape):
            super().__init__()
            self.input_shape = list(input_shape)

        def output_shape(self, input_shape=None):
            return [self.input_shape[0]]

        def forward(self, x):
            return x.sum(dim=(2, 3))

    core = build_component(
        "VisualCore",
        {
            "input_shape": (2, 3, 4),
            "backbone_class": "TinyTestBackbone",
            "backbone_kwargs": {"scale": 3.0},
            "pool_class": "SumTestPool",
            "feature_dimension": None,
        },
        kind="encoder_core",
    )
    assert core.backbone.input_channel == 2 and core.backbone.scale == 3.0
    x = torch.rand(5, 2, 3, 4)
    torch.testing.assert_close(core(x), 3.0 * x.sum(dim=(2, 3)))
    assert core.output_shape() == [2]


def test_backbone_without_input_channel_parameter_gets_none_injected(isolated):
    class NoChannelTestBackbone(ConvBase):
        def __init__(self) -> None:
            super().__init__()
            self.nets = nn.Identity()

        def output_shape(self, input_shape=None):
            return list(input_shape)

    core = VisualCore((1, 4, 4), backbone_class="NoChannelTestBackbone", pool_class=None)
    assert core.output_shape() == [64]


def test_specification_page_spelling_and_conflicts():
    core = VisualCore(
        input_shape=(3, 32, 32),
        core_class="ShallowConv",
        core_kwargs={"output_channel": 8},
        pool_class="SpatialSoftmax",
        pool_kwargs={"num_kp": 4},
    )
    assert type(core.backbone).__name__ == "ShallowConv" and core.backbone.output_channel == 8
    with pytest.raises(ConfigError, match=r"backbone_class.*core_class"):
        VisualCore((3, 32, 32), backbone_class="ResNet18Conv", core_class="ShallowConv")
    with pytest.raises(ConfigError, match="backbone_kwargs and core_kwargs"):
        VisualCore((3, 32, 32), backbone_kwargs={}, core_kwargs={})


def test_caller_dicts_are_not_modified_and_conflicts_are_errors():
    backbone_kwargs = {"output_channel": 8}
    pool_kwargs = {"num_kp": 4}
    VisualCore(
        (1, 16, 16),
        backbone_class="ShallowConv",
        backbone_kwargs=backbone_kwargs,
        pool_kwargs=pool_kwargs,
    )
    assert backbone_kwargs == {"output_channel": 8} and pool_kwargs == {"num_kp": 4}
    # Agreeing values are fine; contradicting ones are errors (robomimic overwrote them).
    VisualCore((1, 16, 16), backbone_class="ShallowConv", backbone_kwargs={"input_channel": 1})
    with pytest.raises(ConfigError, match=r"input_channel=3.*input_channel=1"):
        VisualCore((1, 16, 16), backbone_class="ShallowConv", backbone_kwargs={"input_channel": 3})
    with pytest.raises(ConfigError, match="input_shape"):
        VisualCore(
            (3, 16, 16), backbone_class="ShallowConv", pool_kwargs={"input_shape": [1, 2, 3]}
        )


def test_unknown_names_and_kwargs_are_errors():
    with pytest.raises(UnknownComponentError, match="ResNet18Conv"):
        VisualCore((3, 32, 32), backbone_class="ResNet81Conv")
    with pytest.raises(UnknownComponentError):
        VisualCore((3, 32, 32), backbone_class="ShallowConv", pool_class="ResNet18Conv")
    with pytest.raises(InvalidKwargsError, match="num_kp"):
        VisualCore((3, 32, 32), backbone_class="ShallowConv", pool_kwargs={"num_kps": 4})


def test_output_shape_without_pool_flatten_or_projection():
    base = {"input_shape": (3, 30, 40), "backbone_class": "ShallowConv"}
    raw = VisualCore(**base, pool_class=None, flatten=False, feature_dimension=None)
    assert raw.output_shape() == [32, 15, 20] and len(raw.nets) == 1
    flat = VisualCore(**base, pool_class=None, feature_dimension=None)
    assert flat.output_shape() == [32 * 15 * 20]
    assert all(type(d) is int for d in flat.output_shape())
    pooled = VisualCore(**base, pool_kwargs={"num_kp": 5}, flatten=False, feature_dimension=None)
    assert pooled.output_shape() == [5, 2]
    for core in (raw, flat, pooled):
        assert list(core(torch.rand(2, 3, 30, 40)).shape[1:]) == core.output_shape()
    with pytest.raises(ConfigError, match="flatten"):
        VisualCore(**base, flatten=False)
    # Pool absent: the projection sits at index 2 (robomimic's index shift).
    assert list(VisualCore(**base, pool_class=None).state_dict())[-2:] == [
        "nets.2.weight",
        "nets.2.bias",
    ]


def test_output_variance_pool_is_usable_inside_visual_core():
    core = VisualCore(
        (3, 32, 32),
        backbone_class="ShallowConv",
        pool_kwargs={"num_kp": 4, "output_variance": True},
        feature_dimension=None,
    )
    assert core.output_shape() == [4 * 6]
    assert core(torch.rand(2, 3, 32, 32)).shape == (2, 24)


def test_wrong_input_shape_names_visual_core_and_both_shapes():
    core = VisualCore((3, 32, 32), backbone_class="ShallowConv")
    with pytest.raises(ShapeError, match=r"VisualCore.*\(B, 3, 32, 32\).*\(2, 3, 30, 32\)"):
        core(torch.rand(2, 3, 30, 32))
    with pytest.raises(ShapeError, match=r"VisualCore.*\(B, 3, 32, 32\).*\(3, 32, 32\)"):
        core(torch.rand(3, 32, 32))
    with pytest.raises(ShapeError, match=r"VisualCore.*\(3, 32, 32\).*\(3, 16, 16\)"):
        core.output_shape((3, 16, 16))


def test_group_norm_option_replaces_every_batchnorm():
    core = VisualCore((3, 32, 32), backbone_norm="group")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in core.modules())
    norms = [m for m in core.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 20 and all(m.num_groups == m.num_channels // 16 for m in norms)
    assert core.nets[0].nets[1] is core.backbone.nets[1]  # the alias still points to one module
    assert not any("running_mean" in k for k in core.state_dict())
    core.train()
    out = core(torch.rand(1, 3, 32, 32))  # batch 1 trains fine with GroupNorm
    out.sum().backward()
    assert out.shape == (1, 64)
    with pytest.raises(ConfigError, match="num_groups=3"):
        VisualCore((3, 32, 32), backbone_norm="group", norm_num_groups=3)
    with pytest.raises(ConfigError, match="backbone_norm"):
        VisualCore((3, 32, 32), backbone_norm="layer")


def test_channels_last_gives_the_same_numbers():
    torch.manual_seed(0)
    plain = VisualCore((3, 32, 32)).eval()
    fast = VisualCore((3, 32, 32), channels_last=True).eval()
    fast.load_state_dict(plain.state_dict())
    assert fast.backbone.nets[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-5)


def test_language_conditioned_core():
    core = VisualCoreLanguageConditioned(
        (3, 32, 32), backbone_kwargs={"lang_emb_dim": 8}, pool_kwargs={"num_kp": 4}
    )
    assert type(core.backbone).__name__ == "ResNet18ConvFiLM"
    out = core(torch.rand(2, 3, 32, 32), lang_emb=torch.randn(2, 8))
    assert out.shape == (2, 64) and core.output_shape() == [64]
    keys = list(core.state_dict())
    assert "backbone._film_layers.0.lang_proj.weight" in keys
    assert "nets.0._film_layers.0.lang_proj.weight" in keys
    with pytest.raises(ShapeError, match="lang_emb"):
        core(torch.rand(2, 3, 32, 32))


def test_forward_keeps_no_per_call_state():
    # Two identical calls give identical results and set no attribute.
    core = VisualCore((3, 32, 32), backbone_class="ShallowConv").eval()
    before = dict(vars(core))
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(core(x), core(x))
    assert dict(vars(core)).keys() == before.keys()
    assert core.pool.kps is None


def test_traces_into_one_graph_with_torch_compile():
    # fullgraph=True fails on any graph break (e.g. Python-side state written in forward).
    core = VisualCore(
        (3, 32, 32), backbone_class="ShallowConv", pool_kwargs={"record_keypoints": True}
    ).eval()
    compiled = torch.compile(core, fullgraph=True, backend="eager")
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(compiled(x), core(x))
