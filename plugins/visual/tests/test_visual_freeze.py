"""``freeze=True`` backbones: no gradients, fixed BatchNorm statistics, saved and restored."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import obsnets
from obsnets.saving import CONFIG_FILE, load, save_pretrained
from obsnets_visual import FrozenBatchNorm, ResNet18Conv, ResNet50Conv, TorchvisionConv, VisualCore

BUILDERS = [
    lambda **kw: ResNet18Conv(**kw),
    lambda **kw: ResNet50Conv(**kw),
    lambda **kw: TorchvisionConv("mobilenet_v3_small", **kw),
]


def batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def running_stats(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if "running" in k}


@pytest.mark.parametrize("build", BUILDERS)
def test_frozen_backbone_has_no_trainable_parameters_and_fixed_statistics(build):
    torch.manual_seed(0)
    backbone = build(freeze=True).train()
    assert backbone.freeze is True
    assert not any(p.requires_grad for p in backbone.parameters())
    assert backbone.training and not any(bn.training for bn in batchnorms(backbone))
    before = running_stats(backbone)
    x = torch.rand(4, 3, 32, 32)
    train_out = backbone(x)
    for key, value in running_stats(backbone).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0, msg=key)
    torch.testing.assert_close(train_out, backbone.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("build", BUILDERS)
def test_unfrozen_backbone_updates_its_statistics(build):
    # The control for the test above: the same forward does change an unfrozen backbone.
    torch.manual_seed(0)
    backbone = build().train()
    assert all(p.requires_grad for p in backbone.parameters())
    before = running_stats(backbone)
    backbone(torch.rand(4, 3, 32, 32))
    after = running_stats(backbone)
    assert any(not torch.equal(after[k], before[k]) for k in before)


def _core(**kwargs):
    # 64 x 64 gives a 2 x 2 feature map: SpatialSoftmax over one position has no gradient.
    torch.manual_seed(0)
    return VisualCore(input_shape=[3, 64, 64], backbone_kwargs={"freeze": True}, **kwargs)


def test_the_rest_of_the_network_still_trains():
    core = _core().train()
    backbone_before = {k: v.clone() for k, v in core.backbone.state_dict().items()}
    linear_before = core.nets[-1].weight.detach().clone()
    optimizer = torch.optim.SGD(core.parameters(), lr=0.1)
    core(torch.rand(4, 3, 64, 64)).pow(2).mean().backward()
    assert all(p.grad is None for p in core.backbone.parameters())
    trainable = [p for p in core.parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)
    optimizer.step()
    assert not torch.equal(core.nets[-1].weight, linear_before)
    for key, value in core.backbone.state_dict().items():
        torch.testing.assert_close(value, backbone_before[key], rtol=0, atol=0, msg=key)


def test_frozen_backbone_is_saved_and_loaded_frozen(tmp_path):
    core = _core()
    save_pretrained(core, tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert '"freeze": true' in json.dumps(config)
    loaded = load(tmp_path).train()  # load returns eval mode; training mode is the test
    assert loaded.backbone.freeze is True
    assert not any(p.requires_grad for p in loaded.backbone.parameters())
    assert not any(bn.training for bn in batchnorms(loaded.backbone))
    assert loaded.nets[-1].weight.requires_grad


def test_freeze_from_a_config():
    core = obsnets.build_component(
        "VisualCore",
        {"input_shape": [3, 32, 32], "backbone_kwargs": {"freeze": True}},
        kind="encoder_core",
    )
    assert not any(p.requires_grad for p in core.backbone.parameters())
    with pytest.raises(obsnets.ObsnetsError, match="freeze"):
        VisualCore(input_shape=[3, 32, 32], backbone_kwargs={"freeze": 1})


def test_replaced_norm_layers_stay_frozen():
    grouped = _core(backbone_norm="group")
    group_norms = [m for m in grouped.backbone.modules() if isinstance(m, nn.GroupNorm)]
    assert group_norms and not any(p.requires_grad for p in grouped.backbone.parameters())
    frozen = _core(backbone_norm="frozen")
    assert any(isinstance(m, FrozenBatchNorm) for m in frozen.backbone.modules())
    assert not any(p.requires_grad for p in frozen.backbone.parameters())
    # Unfrozen, the GroupNorm replacement trains as before.
    plain = VisualCore(input_shape=[3, 32, 32], backbone_norm="group")
    assert all(p.requires_grad for p in plain.backbone.parameters())
