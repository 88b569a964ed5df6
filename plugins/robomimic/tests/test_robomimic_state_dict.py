"""load_robomimic_state_dict: strict, alias-aware, dtype-tolerant loading."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets.errors import ObsnetsError
from obsnets_robomimic import StateDictMismatchError, load_robomimic_state_dict


class Aliased(nn.Module):
    """Registers one layer under two names, as robomimic's VisualCore does."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 3)
        self.nets = nn.Sequential(self.backbone, nn.BatchNorm1d(3))


def _robomimic_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    source = Aliased()
    with torch.no_grad():
        for p in source.parameters():
            p.uniform_(-1, 1)
        source.nets[1].running_mean.uniform_(-1, 1)
        source.nets[1].num_batches_tracked.fill_(7)
    return {k: v.clone() for k, v in source.state_dict().items()}


def test_loads_every_key_including_aliases():
    weights = _robomimic_weights()
    net = load_robomimic_state_dict(Aliased(), weights)
    for key, value in net.state_dict().items():
        assert torch.equal(value, weights[key])
    assert net.backbone.weight is net.nets[0].weight


def test_mismatches_are_listed_by_key_and_nothing_is_loaded():
    weights = _robomimic_weights()
    del weights["nets.1.running_var"]
    weights["pool.nets.weight"] = torch.zeros(2)
    weights["nets.1.bias"] = torch.zeros(4)
    net = Aliased()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(StateDictMismatchError) as info:
        load_robomimic_state_dict(net, weights)
    error = info.value
    assert isinstance(error, ObsnetsError) and isinstance(error, KeyError)
    assert error.missing == ["nets.1.running_var"]
    assert error.unexpected == ["pool.nets.weight"]
    assert error.shape_mismatches == {"nets.1.bias": ([4], [3])}
    message = str(error)
    assert "missing from the state_dict (1):\n    nets.1.running_var" in message
    assert "unexpected (not in the network) (1):\n    pool.nets.weight" in message
    assert "nets.1.bias: (4,) vs (3,)" in message
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])


def test_aliases_with_different_values_are_refused():
    weights = _robomimic_weights()
    weights["nets.0.weight"] = weights["backbone.weight"] + 1
    with pytest.raises(StateDictMismatchError, match=r"backbone\.weight = nets\.0\.weight") as info:
        load_robomimic_state_dict(Aliased(), weights)
    assert info.value.conflicting_aliases == [["backbone.weight", "nets.0.weight"]]


def test_float8_and_other_float_dtypes_convert_to_the_parameter_dtype():
    weights = _robomimic_weights()
    eight = weights["backbone.weight"].to(torch.float8_e4m3fn)
    weights["backbone.weight"] = weights["nets.0.weight"] = eight
    weights["nets.1.weight"] = weights["nets.1.weight"].double()
    weights["nets.1.num_batches_tracked"] = torch.tensor(7, dtype=torch.int32)
    net = load_robomimic_state_dict(Aliased(), weights)
    assert net.backbone.weight.dtype == torch.float32
    assert torch.equal(net.backbone.weight, eight.to(torch.float32))
    assert torch.equal(net.nets[1].weight, weights["nets.1.weight"].float())
    assert net.nets[1].num_batches_tracked.dtype == torch.int64


def test_float_into_integer_entries_is_refused():
    weights = _robomimic_weights()
    weights["nets.1.num_batches_tracked"] = torch.tensor(7.0)
    with pytest.raises(ObsnetsError, match=r"num_batches_tracked.*does not convert"):
        load_robomimic_state_dict(Aliased(), weights)


def test_non_tensor_entries_are_refused():
    weights = _robomimic_weights()
    weights["backbone.bias"] = [0.0, 0.0, 0.0]
    with pytest.raises(ObsnetsError, match=r"'backbone\.bias' is a list"):
        load_robomimic_state_dict(Aliased(), weights)


def test_prefix_selects_one_network_of_a_checkpoint():
    weights = _robomimic_weights()
    checkpoint = {f"policy.{k}": v for k, v in weights.items()}
    checkpoint["value.nets.0.weight"] = torch.zeros(1)
    net = load_robomimic_state_dict(Aliased(), checkpoint, prefix="policy.")
    assert torch.equal(net.backbone.bias, weights["backbone.bias"])


def test_long_listings_are_shortened():
    weights = {f"extra.{i}": torch.zeros(1) for i in range(30)}
    weights.update(_robomimic_weights())
    with pytest.raises(StateDictMismatchError, match=r"\.\.\. and 10 more"):
        load_robomimic_state_dict(Aliased(), weights)
