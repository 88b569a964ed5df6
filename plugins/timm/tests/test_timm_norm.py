"""timm's BatchNormAct2d under backbone_norm: GroupNorm or frozen, keeping its activation."""

from __future__ import annotations

import copy

import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.layers import BatchNormAct2d
from torch import nn
from torch.nn import functional as F

from obsnets.saving import load, save_pretrained
from obsnets_timm import TimmConv

# The replacement helpers and VisualCore come from obsnets-visual, which timm does not need.
visual = pytest.importorskip("obsnets_visual", reason="obsnets-visual is not installed")
FrozenBatchNormAct = visual.FrozenBatchNormAct
GroupNormAct = visual.GroupNormAct
VisualCore = visual.VisualCore
replace_batchnorm_with_frozen = visual.replace_batchnorm_with_frozen
replace_batchnorm_with_groupnorm = visual.replace_batchnorm_with_groupnorm

MODEL = "mobilenetv3_small_050"  # BatchNormAct2d with ReLU, Hardswish and no activation


def _fused_layer() -> BatchNormAct2d:
    torch.manual_seed(0)
    layer = BatchNormAct2d(16, act_layer=nn.Hardswish, drop_layer=nn.Identity)
    with torch.no_grad():
        layer.running_mean.uniform_(-1, 1)
        layer.running_var.uniform_(0.5, 2)
        layer.weight.uniform_(0.5, 1.5)
        layer.bias.uniform_(-1, 1)
    return layer


def _randomise_statistics(module: nn.Module) -> None:
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.running_mean.copy_(torch.rand(layer.num_features, generator=generator) - 0.5)
                layer.running_var.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)


def test_groupnorm_keeps_the_fused_activation():
    layer = _fused_layer()
    act, drop = layer.act, layer.drop
    norm = replace_batchnorm_with_groupnorm(layer, group_size=4)
    assert type(norm) is GroupNormAct and norm.act is act and norm.drop is drop
    assert norm.num_groups == 4 and set(norm.state_dict()) == {"weight", "bias"}
    x = torch.randn(2, 16, 5, 5)
    expected = F.hardswish(F.group_norm(x, 4, norm.weight, norm.bias, norm.eps))
    torch.testing.assert_close(norm(x), expected, rtol=0, atol=0)


def test_frozen_keeps_the_fused_activation_and_computes_the_eval_layer():
    layer = _fused_layer()
    frozen = replace_batchnorm_with_frozen(layer)
    assert type(frozen) is FrozenBatchNormAct and frozen.act is layer.act
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(frozen.train()(x), layer.eval()(x), rtol=1e-6, atol=1e-6)
    assert set(frozen.state_dict()) == set(layer.state_dict()) - {"num_batches_tracked"}
    fresh = FrozenBatchNormAct(16, drop=nn.Identity(), act=nn.Hardswish())
    fresh.load_state_dict(layer.state_dict(), strict=True)
    torch.testing.assert_close(fresh(x), frozen(x), rtol=0, atol=0)


def test_timm_backbone_under_each_norm():
    torch.manual_seed(0)
    backbone = TimmConv(MODEL)
    _randomise_statistics(backbone)
    assert any(type(m) is BatchNormAct2d for m in backbone.modules())
    x = torch.rand(2, 3, 64, 64)
    expected = backbone.eval()(x)

    frozen = replace_batchnorm_with_frozen(copy.deepcopy(backbone))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in frozen.modules())
    torch.testing.assert_close(frozen.train()(x), expected, rtol=1e-4, atol=1e-5)

    grouped = replace_batchnorm_with_groupnorm(copy.deepcopy(backbone), num_groups=8)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in grouped.modules())
    acts = [type(m.act) for m in grouped.modules() if isinstance(m, GroupNormAct)]
    assert {nn.ReLU, nn.Hardswish} <= set(acts)
    assert grouped(x).shape == expected.shape


@pytest.mark.parametrize("backbone_norm", ["frozen", "group"])
def test_visual_core_with_pretrained_timm_backbone_loads_without_the_file(tmp_path, backbone_norm):
    torch.manual_seed(1)
    weights = tmp_path / "model.safetensors"
    state = timm.create_model(MODEL).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(weights))
    core = VisualCore(
        input_shape=[3, 64, 64],
        backbone_class="TimmConv",
        backbone_kwargs={"model_name": MODEL, "pretrained": str(weights)},
        backbone_norm=backbone_norm,
        norm_num_groups=8 if backbone_norm == "group" else None,
    )
    save_pretrained(core, tmp_path / "saved")
    weights.unlink()
    loaded = load(tmp_path / "saved")
    norm_class = FrozenBatchNormAct if backbone_norm == "frozen" else GroupNormAct
    assert any(type(m) is norm_class for m in loaded.modules())
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(loaded(x), core.eval()(x), rtol=0, atol=0)
