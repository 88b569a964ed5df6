"""ScanCore: module structure, output shapes, pools by name, strict arguments, shape errors.

The pools come from obsnets-visual (SpatialSoftmax), resolved by name through the registry.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import obsnets
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, UnknownComponentError
from obsnets_scan import Conv1dBase, ScanCore

DOC_KWARGS = {
    "input_shape": (1, 120),
    "conv_kwargs": {"out_channels": [32, 64, 64], "kernel_size": [8, 4, 2], "stride": [4, 2, 1]},
    "conv_activation": "relu",
    "pool_class": "SpatialSoftmax",
    "pool_kwargs": {"num_kp": 32},
    "flatten": True,
    "feature_dimension": 64,
}


def test_default_is_robomimics_and_flattens_to_768():
    core = obsnets.build_component("ScanCore", {"input_shape": [1, 120]}, kind="encoder_core")
    assert isinstance(core, ScanCore) and isinstance(core.backbone, Conv1dBase)
    assert core.pool is None
    assert core.output_shape() == [768]
    assert type(core.output_shape()[0]) is int
    x = torch.rand(3, 1, 120)
    assert core(x).shape == (3, 768)
    torch.testing.assert_close(core(x), core.backbone(x).flatten(1))


def test_models_page_example_builds_and_runs():
    core = ScanCore(**DOC_KWARGS)
    assert [type(m) for m in core.nets][1:] == [
        obsnets.Unsqueeze,
        type(core.pool),
        nn.Flatten,
        nn.Linear,
    ]
    assert core.output_shape() == [64]
    assert core(torch.rand(5, 1, 120)).shape == (5, 64)


def test_pool_kwargs_none_uses_pool_defaults():
    core = ScanCore((1, 120), pool_class="SpatialSoftmax", pool_kwargs=None)
    assert core.output_shape() == [64]  # 32 keypoints x (x, y)
    assert core(torch.rand(2, 1, 120)).shape == (2, 64)


def test_no_flatten_keeps_the_pooled_shape():
    core = ScanCore((2, 60), pool_class="SpatialSoftmax", pool_kwargs={"num_kp": 5}, flatten=False)
    assert core.output_shape() == [5, 2]
    assert core(torch.rand(2, 2, 60)).shape == (2, 5, 2)
    core = ScanCore((2, 60), flatten=False)
    assert core.output_shape() == list(core(torch.rand(1, 2, 60)).shape[1:])


def test_leading_dims_are_folded_and_restored():
    core = ScanCore(**DOC_KWARGS).eval()
    x = torch.rand(2, 3, 1, 120)
    out = core(x)
    assert out.shape == (2, 3, 64)
    torch.testing.assert_close(out[1, 2], core(x[1, 2:3])[0])


def test_caller_dicts_are_not_modified():
    conv_kwargs = {"out_channels": [8], "kernel_size": [4], "stride": [2]}
    pool_kwargs = {"num_kp": 4}
    ScanCore((1, 40), conv_kwargs=conv_kwargs, pool_class="SpatialSoftmax", pool_kwargs=pool_kwargs)
    assert conv_kwargs == {"out_channels": [8], "kernel_size": [4], "stride": [2]}
    assert pool_kwargs == {"num_kp": 4}


def test_strict_arguments():
    with pytest.raises(InvalidKwargsError, match="'strides'"):
        ScanCore((1, 120), conv_kwargs={"strides": [1, 1, 1]})
    with pytest.raises(InvalidKwargsError, match="num_kps"):
        ScanCore((1, 120), pool_class="SpatialSoftmax", pool_kwargs={"num_kps": 3})
    with pytest.raises(ConfigError, match=r"conv_kwargs\['input_channel'\]"):
        ScanCore((1, 120), conv_kwargs={"input_channel": 2})
    with pytest.raises(ConfigError, match="feature_dimension needs flatten"):
        ScanCore((1, 120), flatten=False, feature_dimension=8)
    with pytest.raises(UnknownComponentError, match="SpatialSoftmax"):
        ScanCore((1, 120), pool_class="SpatialSoftmx")
    with pytest.raises(UnknownComponentError):  # a backbone is not a pool
        ScanCore((1, 120), pool_class="Conv1dBase")
    # Same input_channel / input_shape as ScanCore would set is accepted.
    ScanCore((1, 120), conv_kwargs={"input_channel": 1})


def test_wrong_shapes_raise_shape_errors():
    with pytest.raises(ShapeError, match=r"ScanCore expects input_shape \(C, L\).*\(3, 84, 84\)"):
        ScanCore((3, 84, 84))
    core = ScanCore((1, 120))
    with pytest.raises(
        ShapeError, match=r"ScanCore expects input of shape \(B, 1, 120\), got \(2, 1, 100\)"
    ):
        core(torch.rand(2, 1, 100))
    with pytest.raises(ShapeError, match="too short"):
        ScanCore((1, 8))
