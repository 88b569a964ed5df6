"""The obsnets-randomizers plugin: cheap plugin module, names resolve, a shared contract."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import torch

import obsnets
from obsnets.errors import ShapeError
from obsnets_randomizers import plugin

SAMPLES = {  # name: (kwargs, input shape)
    "CropRandomizer": (
        {"crop_height": 6, "crop_width": 5, "num_crops": 2, "pos_enc": True},
        [3, 8, 8],
    ),
    "ColorRandomizer": ({"num_samples": 2}, [3, 8, 8]),
    "GaussianNoiseRandomizer": ({"num_samples": 3, "limits": (0.0, 1.0)}, [3, 8, 8]),
}


def test_plugin_module_imports_no_component_module():
    code = (
        "import json, sys\n"
        "import obsnets_randomizers.plugin\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('obsnets_randomizers'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == ["obsnets_randomizers", "obsnets_randomizers.plugin"]


def test_components_resolve_by_name_as_randomizers():
    assert set(plugin.COMPONENTS) == set(SAMPLES)
    for name, (kind, target) in plugin.COMPONENTS.items():
        assert kind == "randomizer"
        assert obsnets.registry.lookup(name, kind).provider == "obsnets-randomizers"
        cls = obsnets.resolve_component(name, kind="randomizer")
        assert f"{cls.__module__}:{cls.__qualname__}" == target
        assert issubclass(cls, obsnets.Randomizer)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_randomizer_contract(name):
    kwargs, shape = SAMPLES[name]
    randomizer = obsnets.build_component(
        name, {"input_shape": shape, **kwargs, "seed": 0}, kind="randomizer"
    )
    assert list(randomizer.state_dict()) == [] and list(randomizer.parameters()) == []
    x = torch.rand(2, *shape)
    count = kwargs.get("num_crops", kwargs.get("num_samples", 1))
    out = randomizer.forward_in(x)
    assert out.shape == (2 * count, *randomizer.output_shape_in(shape))
    assert not torch.equal(out[:1].expand(count, *out.shape[1:]), out[:count])  # samples differ
    feats = torch.randn(2 * count, 4)
    assert list(randomizer.forward_out(feats).shape) == [2, *randomizer.output_shape_out([4])]
    # A deep copy carries its generator state: both continue the same sequence.
    twin = copy.deepcopy(randomizer)
    assert torch.equal(twin.forward_in(x), randomizer.forward_in(x))
    randomizer.eval()
    first = randomizer.forward_in(x)
    assert torch.equal(first, randomizer.forward_in(x))  # eval is deterministic
    assert list(first.shape) == [2, *randomizer.output_shape_in(shape)]
    with pytest.raises(ShapeError, match=name):
        randomizer.forward_in(torch.rand(2, 2, 8, 8))
