"""Frozen BatchNorm: fixed statistics, eval-mode BatchNorm numbers, BatchNorm's keys, savable."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError
from obsnets.saving import load, save_pretrained
from obsnets_visual import (
    FrozenBatchNorm,
    ResNet18Conv,
    VisualCore,
    replace_batchnorm_with_frozen,
)


def _randomise_statistics(module: nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm statistics and affine values far from their initialisation."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                n = layer.num_features
                layer.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
                layer.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                layer.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                layer.bias.copy_(torch.rand(n, generator=generator) - 0.5)


def _frozen_buffers(module: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: tensor.clone()
        for name, tensor in module.named_buffers()
        if name.rsplit(".", 1)[-1] in {"weight", "bias", "running_mean", "running_var"}
    }


def test_one_layer_computes_eval_batchnorm_in_any_mode_and_any_rank():
    for bn, shape in [(nn.BatchNorm2d(6), (4, 6, 5, 5)), (nn.BatchNorm1d(6), (4, 6))]:
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
        frozen = FrozenBatchNorm.from_batchnorm(bn).train()
        x = torch.randn(*shape)
        torch.testing.assert_close(frozen(x), bn.eval()(x), rtol=1e-6, atol=1e-6)
        assert frozen.eps == bn.eps and not list(frozen.parameters())


def test_state_dict_keys_are_batchnorms_and_a_batchnorm_checkpoint_loads():
    bn = nn.BatchNorm2d(8)
    _randomise_statistics(nn.Sequential(bn))
    frozen = FrozenBatchNorm(8)
    frozen.load_state_dict(bn.state_dict(), strict=True)  # num_batches_tracked is dropped
    assert set(frozen.state_dict()) == set(bn.state_dict()) - {"num_batches_tracked"}
    for key, value in frozen.state_dict().items():
        torch.testing.assert_close(value, bn.state_dict()[key], rtol=0, atol=0)


def test_visual_core_frozen_statistics_never_change_in_training():
    torch.manual_seed(0)
    # No pool: SpatialSoftmax over a 1x1 map passes no gradient to the backbone.
    core = VisualCore(input_shape=[3, 32, 32], backbone_norm="frozen", pool_class=None)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in core.modules())
    assert sum(isinstance(m, FrozenBatchNorm) for m in core.backbone.modules()) == 20
    before = _frozen_buffers(core.backbone)
    conv_before = core.backbone.nets[0].weight.detach().clone()
    optimizer = torch.optim.SGD(core.parameters(), lr=0.1)
    core.train()
    core(torch.rand(4, 3, 32, 32)).square().mean().backward()
    optimizer.step()
    assert not torch.equal(core.backbone.nets[0].weight, conv_before)  # training did happen
    after = _frozen_buffers(core.backbone)
    assert after.keys() == before.keys() and len(before) == 80
    for name, value in before.items():
        assert torch.equal(after[name], value), name


def test_frozen_backbone_in_training_matches_the_batchnorm_backbone_in_eval():
    torch.manual_seed(0)
    backbone = ResNet18Conv()
    _randomise_statistics(backbone)
    frozen = replace_batchnorm_with_frozen(copy.deepcopy(backbone))
    x = torch.rand(2, 3, 64, 64)
    expected = backbone.eval()(x)
    torch.testing.assert_close(frozen.train()(x), expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(backbone.train()(x), expected, atol=1e-3)  # BN in train differs


def test_save_and_load_reproduce_the_frozen_backbone(tmp_path):
    torch.manual_seed(0)
    core = VisualCore(input_shape=[3, 32, 32], backbone_norm="frozen")
    for layer in core.backbone.modules():  # values a rebuilt model would not have
        if isinstance(layer, FrozenBatchNorm):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    save_pretrained(core, tmp_path)
    loaded = load(tmp_path)
    assert loaded.init_arguments["backbone_norm"] == "frozen"
    assert sum(isinstance(m, FrozenBatchNorm) for m in loaded.backbone.modules()) == 20
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded.train()(x), core.eval()(x), rtol=0, atol=0)


def test_layer_without_running_statistics_is_refused_and_nothing_changes():
    net = nn.Sequential(nn.BatchNorm2d(4), nn.BatchNorm2d(4, track_running_stats=False))
    with pytest.raises(ConfigError, match=r"'1'.*no running statistics"):
        replace_batchnorm_with_frozen(net)
    assert all(type(m) is nn.BatchNorm2d for m in net)
    with pytest.raises(ConfigError, match="backbone_norm must be one of"):
        VisualCore(input_shape=[3, 32, 32], backbone_norm="freeze")
