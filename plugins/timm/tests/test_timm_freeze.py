"""``TimmConv(freeze=True)``: no gradients, timm's fused BatchNorm layers kept in eval mode."""

from __future__ import annotations

import pytest
import torch
from timm.layers import BatchNormAct2d

import obsnets
from obsnets_timm.timm_conv import TimmConv

MODEL = "mobilenetv3_small_050"
"""Small, and its BatchNorm layers are timm's fused BatchNormAct2d."""


def fused_batchnorms(module: torch.nn.Module) -> list[BatchNormAct2d]:
    return [m for m in module.modules() if isinstance(m, BatchNormAct2d)]


def running_stats(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


def test_frozen_trunk_keeps_its_statistics_in_train_mode():
    torch.manual_seed(0)
    net = TimmConv(MODEL, freeze=True).train()
    assert not any(p.requires_grad for p in net.parameters())
    assert fused_batchnorms(net) and not any(bn.training for bn in fused_batchnorms(net))
    before = running_stats(net)
    x = torch.rand(4, 3, 64, 64)
    out = net(x)
    for key, value in running_stats(net).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0, msg=key)
    torch.testing.assert_close(out, net.eval()(x), rtol=0, atol=0)
    # The control: unfrozen, the same forward updates the statistics.
    torch.manual_seed(0)
    unfrozen = TimmConv(MODEL).train()
    unfrozen(x)
    after = running_stats(unfrozen)
    assert any(not torch.equal(after[k], before[k]) for k in before)


@pytest.fixture
def visual_core():
    if not obsnets.is_component("VisualCore", kind="encoder_core"):
        pytest.skip("obsnets-visual (VisualCore) is not installed")

    def build(**kwargs):
        torch.manual_seed(0)
        return obsnets.build_component(
            "VisualCore",
            {
                "input_shape": [3, 64, 64],
                "backbone_class": "TimmConv",
                "backbone_kwargs": {"model_name": MODEL, "freeze": True},
                "pool_class": "SpatialMeanPool",
                **kwargs,
            },
            kind="encoder_core",
        )

    return build


def test_frozen_timm_backbone_gets_no_gradient_and_the_head_does(visual_core):
    core = visual_core().train()
    core(torch.rand(4, 3, 64, 64)).pow(2).mean().backward()
    assert all(p.grad is None for p in core.backbone.parameters())
    head = core.nets[-1]
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_group_norm_replacement_of_a_frozen_trunk_stays_frozen(visual_core):
    core = visual_core(backbone_norm="group", norm_num_groups=8)
    assert not any(isinstance(m, BatchNormAct2d) for m in core.backbone.modules())
    assert not any(p.requires_grad for p in core.backbone.parameters())


def test_saved_frozen_trunk_loads_frozen(tmp_path):
    net = TimmConv(MODEL, freeze=True)
    net.save_pretrained(tmp_path)
    loaded = obsnets.load(tmp_path).train()
    assert loaded.freeze is True
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not any(bn.training for bn in fused_batchnorms(loaded))
