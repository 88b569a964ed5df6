"""Decoding robomimic class names and torch.nn class references without eval."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from torch import nn

from obsnets.errors import ConfigError
from obsnets_robomimic.class_names import decode_kwargs, obsnets_name, torch_nn_class


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("torch.nn.ReLU", nn.ReLU),
        ("torch.nn.Linear", nn.Linear),
        ("torch.nn.modules.activation.ReLU", nn.ReLU),
        ("torch.nn.LSTM", nn.LSTM),
    ],
)
def test_torch_nn_references_decode_to_the_class(reference, expected):
    assert torch_nn_class(reference, what="test") is expected


@pytest.mark.parametrize(
    "reference",
    [
        "torch.nn.functional.relu",  # a function, not a module class
        "torch.nn.modules.linear.ReLU",  # ReLU does not live there
        "torch.nn.Relu",
        "torch.nn.init",
        "torch.nn.os.system",
        "os.system",
        "torch.nn.__class__",
    ],
)
def test_anything_but_a_torch_nn_module_class_is_rejected(reference):
    with pytest.raises(ConfigError, match=r"not a torch\.nn"):
        torch_nn_class(reference, what="MIMO_MLP activation")


def test_misspelled_reference_suggests_the_class():
    with pytest.raises(ConfigError, match="'ReLU'"):
        torch_nn_class("torch.nn.Relu", what="activation")


def test_decode_kwargs_keeps_order_and_decodes_nested_references():
    kwargs = {
        "output_shapes": {"b": [2], "a": [3, 1]},
        "activation": "torch.nn.Tanh",
        "layers": [{"act": "torch.nn.ReLU"}, "relu"],
        "backbone_class": "ResNet18Conv",
        "device": "cpu",
        "none": None,
    }
    decoded = decode_kwargs(kwargs)
    assert isinstance(decoded, OrderedDict) and isinstance(decoded["output_shapes"], OrderedDict)
    assert list(decoded["output_shapes"]) == ["b", "a"]
    assert decoded["activation"] is nn.Tanh
    assert decoded["layers"] == [OrderedDict(act=nn.ReLU), "relu"]
    assert decoded["backbone_class"] == "ResNet18Conv" and decoded["device"] == "cpu"
    assert decode_kwargs(decoded) == decoded  # decoding twice changes nothing


def test_decode_kwargs_names_the_path_of_a_bad_reference():
    with pytest.raises(ConfigError, match=r"kwargs\.encoder\.act"):
        decode_kwargs({"encoder": {"act": "torch.nn.NoSuchLayer"}})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SpatialSoftmax", ("SpatialSoftmax", "pool")),
        ("robomimic.models.obs_core.CropRandomizer", ("CropRandomizer", "randomizer")),
        ("robomimic.models.base_nets.CropRandomizer", ("CropRandomizer", "randomizer")),
        ("GMMActorNetwork", ("GMMActorNetwork", "network")),
        ("MyCore", ("MyCore", None)),
        ("my_pkg.cores:MyCore", ("my_pkg.cores:MyCore", None)),
    ],
)
def test_robomimic_names_map_to_registry_names_and_kinds(name, expected):
    assert obsnets_name(name) == expected
