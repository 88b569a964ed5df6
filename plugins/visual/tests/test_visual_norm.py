"""replace_batchnorm_with_groupnorm: complete, checked, atomic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError
from obsnets_visual import ResNet18Conv, TorchvisionConv, replace_batchnorm_with_groupnorm


def _count(module: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in module.modules())


def test_every_batchnorm_becomes_groupnorm_with_c_over_16_groups():
    backbone = ResNet18Conv()
    bn_channels = sorted(
        m.num_features for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)
    )
    assert replace_batchnorm_with_groupnorm(backbone) is backbone
    assert _count(backbone, nn.modules.batchnorm._BatchNorm) == 0
    norms = [m for m in backbone.modules() if isinstance(m, nn.GroupNorm)]
    assert sorted(m.num_channels for m in norms) == bn_channels
    assert all(m.num_groups == m.num_channels // 16 for m in norms)
    backbone.train()
    out = backbone(torch.rand(1, 3, 32, 32))
    out.mean().backward()
    assert out.shape == (1, 512, 1, 1) and torch.isfinite(out).all()


def test_fixed_number_of_groups_and_other_models():
    backbone = TorchvisionConv("mobilenet_v3_small")
    replace_batchnorm_with_groupnorm(backbone, num_groups=8)
    assert _count(backbone, nn.BatchNorm2d) == 0
    assert {m.num_groups for m in backbone.modules() if isinstance(m, nn.GroupNorm)} == {8}
    assert backbone(torch.rand(1, 3, 32, 32)).shape[1:] == torch.Size(
        backbone.output_shape((3, 32, 32))
    )


def test_indivisible_channels_are_an_error_naming_the_layer_and_nothing_changes():
    net = nn.Sequential(
        nn.Conv2d(3, 32, 1), nn.BatchNorm2d(32), nn.Conv2d(32, 24, 1), nn.BatchNorm2d(24)
    )
    with pytest.raises(ConfigError, match=r"'3'.*24 channels.*group_size=16"):
        replace_batchnorm_with_groupnorm(net)
    assert _count(net, nn.BatchNorm2d) == 2  # checked before anything was replaced
    with pytest.raises(ConfigError, match=r"num_groups=5"):
        replace_batchnorm_with_groupnorm(net, num_groups=5)
    replace_batchnorm_with_groupnorm(net, group_size=8)
    assert [m.num_groups for m in net if isinstance(m, nn.GroupNorm)] == [4, 3]


def test_shared_layer_is_replaced_under_every_name_and_root_layer_is_returned():
    shared = nn.BatchNorm1d(16)
    net = nn.Module()
    net.a = shared
    net.b = nn.Sequential(shared)
    replace_batchnorm_with_groupnorm(net)
    assert isinstance(net.a, nn.GroupNorm) and net.b[0] is net.a
    norm = replace_batchnorm_with_groupnorm(nn.BatchNorm2d(32))
    assert isinstance(norm, nn.GroupNorm) and norm.num_groups == 2


def test_batchnorm_subclasses_with_extra_behaviour_are_refused():
    class BatchNormReLU(nn.BatchNorm2d):
        def forward(self, x):
            return torch.relu(super().forward(x))

    with pytest.raises(ConfigError, match="BatchNormReLU"):
        replace_batchnorm_with_groupnorm(nn.Sequential(BatchNormReLU(16)))
