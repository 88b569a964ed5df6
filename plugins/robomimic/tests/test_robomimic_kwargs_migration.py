"""Dropping what robomimic silently drops, with one warning; build_network on fake components."""

from __future__ import annotations

import copy
import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from obsnets import EncoderCore, NetworkBase, Randomizer
from obsnets.errors import ConfigError, InvalidKwargsError, UnknownComponentError
from obsnets.registry import registry
from obsnets_robomimic import RobomimicMigrationWarning, apply_post_init_calls, build_network
from obsnets_robomimic.kwargs_migration import DroppedKwargs, migrate_encoder_kwargs

VISUAL_SPEC = {
    "core_class": "VisualCore",
    "core_kwargs": {
        "feature_dimension": 64,
        "feature_dimenson": 32,
        "input_shape": [3, 8, 8],
        "core_class": "ResNet50Conv",  # the docs' spelling: robomimic ignores it
        "backbone_kwargs": {"pretrained": False, "input_channel": 4, "bogus": 1},
        "pool_kwargs": {"num_kp": 8, "input_shape": [1], "nope": 2},
    },
    "obs_randomizer_class": "CropRandomizer",
    "obs_randomizer_kwargs": {
        "crop_height": 4,
        "crop_width": 4,
        "input_shape": [3, 8, 8],
        "crop": 3,
    },
}
LOW_DIM_SPEC = {
    "core_class": None,
    "core_kwargs": {"backbone_kwargs": {}},
    "obs_randomizer_class": None,
    "obs_randomizer_kwargs": {"crop_height": 2},
}


def test_visual_core_settings_robomimic_ignores_are_dropped_and_listed():
    given = {"rgb": copy.deepcopy(VISUAL_SPEC), "low_dim": copy.deepcopy(LOW_DIM_SPEC)}
    before = copy.deepcopy(given)
    log = DroppedKwargs()
    out = migrate_encoder_kwargs(given, log)
    assert given == before  # the input is not modified
    rgb = out["rgb"]
    # what robomimic keeps, plus the options that give robomimic's behaviour (each logged)
    assert dict(rgb["core_kwargs"]) == {
        "feature_dimension": 64,
        "backbone_kwargs": {"pretrained": False},
        "pool_kwargs": {"num_kp": 8, "always_draw_noise": True},
    }
    assert dict(rgb["obs_randomizer_kwargs"]) == {
        "crop_height": 4,
        "crop_width": 4,
        "crop_sampling": "robomimic",
    }
    assert [q.split(":")[0] for q in log.quirks] == [
        "encoder_kwargs.rgb.core_kwargs.pool_kwargs",
        "encoder_kwargs.rgb.obs_randomizer_kwargs",
    ]
    assert rgb["obs_randomizer_class"] == "CropRandomizer"
    dropped = [entry.split(" ")[0] for entry in log.entries]
    assert dropped == [
        "encoder_kwargs.rgb.core_kwargs.feature_dimenson",
        "encoder_kwargs.rgb.core_kwargs.input_shape",
        "encoder_kwargs.rgb.core_kwargs.core_class",
        "encoder_kwargs.rgb.core_kwargs.backbone_kwargs.input_channel",
        "encoder_kwargs.rgb.core_kwargs.backbone_kwargs.bogus",
        "encoder_kwargs.rgb.core_kwargs.pool_kwargs.input_shape",
        "encoder_kwargs.rgb.core_kwargs.pool_kwargs.nope",
        "encoder_kwargs.rgb.obs_randomizer_kwargs.input_shape",
        "encoder_kwargs.rgb.obs_randomizer_kwargs.crop",
    ]
    # a disabled core or randomizer: robomimic never reads its settings; no warning entry
    assert out["low_dim"] == {
        "core_class": None,
        "core_kwargs": {},
        "obs_randomizer_class": None,
        "obs_randomizer_kwargs": {},
    }


def test_pool_kwargs_of_a_disabled_pool_are_left_alone():
    spec = {
        "core_class": "VisualCore",
        "core_kwargs": {"pool_class": None, "pool_kwargs": {"x": 1}},
    }
    log = DroppedKwargs()
    out = migrate_encoder_kwargs({"rgb": spec}, log)
    assert out["rgb"]["core_kwargs"]["pool_kwargs"] == {"x": 1} and not log.entries


def test_randomizer_classes_without_kwargs_are_dropped_as_robomimics_zip_does():
    spec = {
        "core_class": None,
        "obs_randomizer_class": ["CropRandomizer", "ColorRandomizer"],
        "obs_randomizer_kwargs": {"crop_height": 4},
    }
    log = DroppedKwargs()
    out = migrate_encoder_kwargs({"rgb": spec}, log)
    assert out["rgb"]["obs_randomizer_class"] == ["CropRandomizer"]
    assert out["rgb"]["obs_randomizer_kwargs"] == [{"crop_height": 4, "crop_sampling": "robomimic"}]
    assert len(log.entries) == 1 and "ColorRandomizer" in log.entries[0]


def test_paired_randomizer_lists_are_kept():
    spec = {
        "core_class": None,
        "obs_randomizer_class": ["CropRandomizer", "ColorRandomizer"],
        "obs_randomizer_kwargs": [{"crop_height": 4}, {"hue": 0.1, "hew": 1}],
    }
    log = DroppedKwargs()
    out = migrate_encoder_kwargs({"rgb": spec}, log)
    assert out["rgb"]["obs_randomizer_kwargs"] == [
        {"crop_height": 4, "crop_sampling": "robomimic"},
        {"hue": 0.1},
    ]
    assert log.entries[0].startswith("encoder_kwargs.rgb.obs_randomizer_kwargs[1].hew")


def test_unknown_modality_settings_are_dropped():
    log = DroppedKwargs()
    migrate_encoder_kwargs({"low_dim": {"core_class": None, "core_kwarg": {}}}, log)
    assert log.entries[0].startswith("encoder_kwargs.low_dim.core_kwarg ")


def test_a_non_mapping_spec_is_an_error():
    with pytest.raises(ConfigError, match=r"encoder_kwargs\.rgb"):
        migrate_encoder_kwargs({"rgb": "VisualCore"}, DroppedKwargs())


# -- build_network through the registry, with components defined here ------------------------


@pytest.fixture
def fakes():
    """A core, a randomizer and networks registered only for the test."""
    with registry.isolated():

        class MigFakeCore(EncoderCore):
            def __init__(self, input_shape, width: int = 4, depth: int = 1):
                super().__init__(input_shape)
                self.width, self.depth = width, depth
                self.linear = nn.Linear(int(torch.tensor(input_shape).prod()), width)

            def output_shape(self, input_shape=None):
                return [self.width]

            def forward(self, inputs):
                return self.linear(inputs.flatten(1))

        class MigFakeRandomizer(Randomizer):
            def __init__(self, input_shape, scale: float = 1.0):
                super().__init__()
                self.input_shape, self.scale = list(input_shape), scale

            def output_shape_in(self, input_shape=None):
                return list(self.input_shape)

            def output_shape_out(self, input_shape=None):
                return list(input_shape)

        class MigFakeNet(NetworkBase):
            def __init__(
                self, obs_shapes, activation=nn.ReLU, encoder_kwargs=None, obs_modalities=None
            ):
                super().__init__()
                self.obs_shapes, self.activation = obs_shapes, activation
                self.encoder_kwargs, self.obs_modalities = encoder_kwargs, obs_modalities
                self.registered = []
                self.made = False

            def register_obs_key(
                self, name, shape, net_class=None, net_kwargs=None, randomizers=None
            ):
                self.registered.append((name, shape, net_class, net_kwargs, randomizers))

            def make(self):
                self.made = True

            def output_shape(self, input_shape=None):
                return [1]

        yield SimpleNamespace(core=MigFakeCore, randomizer=MigFakeRandomizer, net=MigFakeNet)


def test_build_network_decodes_migrates_and_passes_modalities_with_one_warning(fakes):
    kwargs = {
        "obs_shapes": {"cam": [3, 4, 4], "pos": [3]},
        "activation": "torch.nn.Tanh",
        "encoder_kwargs": {
            "rgb": {
                "core_class": "MigFakeCore",
                "core_kwargs": {"width": 2, "wdth": 3},
                "obs_randomizer_class": "MigFakeRandomizer",
                "obs_randomizer_kwargs": {"scale": 2.0, "scael": 1.0},
            },
            "low_dim": {
                "core_class": None,
                "core_kwargs": {},
                "obs_randomizer_class": None,
                "obs_randomizer_kwargs": {},
            },
        },
    }
    modalities = {"rgb": ["cam"], "low_dim": ["pos"]}
    with pytest.warns(RobomimicMigrationWarning) as record:
        net = build_network("MigFakeNet", kwargs, modalities)
    assert len(record) == 1
    message = str(record[0].message)
    assert "build_network('MigFakeNet')" in message and "2 setting(s)" in message
    assert "encoder_kwargs.rgb.core_kwargs.wdth (not a parameter of MigFakeCore)" in message
    assert "encoder_kwargs.rgb.obs_randomizer_kwargs.scael" in message
    assert isinstance(net, fakes.net) and net.activation is nn.Tanh
    assert net.encoder_kwargs["rgb"]["core_kwargs"] == {"width": 2}
    assert net.obs_modalities == modalities
    assert list(net.obs_shapes) == ["cam", "pos"]


def test_build_network_without_dropped_settings_warns_nothing(fakes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = build_network("MigFakeCore", {"input_shape": [2], "width": 3}, {"low_dim": ["x"]})
    assert isinstance(net, fakes.core) and net.width == 3  # a core takes no obs_modalities


def test_top_level_kwargs_are_strict_as_in_robomimic(fakes):
    with pytest.raises(InvalidKwargsError, match="wdth"):
        build_network("MigFakeCore", {"input_shape": [2], "wdth": 3}, {})


def test_dotted_robomimic_names_resolve(fakes):
    net = build_network("robomimic.models.obs_core.MigFakeRandomizer", {"input_shape": [3]}, {})
    assert isinstance(net, fakes.randomizer)


def test_unknown_names_raise_the_registry_error(fakes):
    with pytest.raises(UnknownComponentError, match="MigFakeCor"):
        build_network("MigFakeCor", {}, {})


@pytest.mark.parametrize(
    ("modalities", "match"),
    [
        ({"rgb": "cam"}, "list of key names"),
        ({"rgb": ["cam"], "low_dim": ["cam"]}, "two modalities"),
        (["rgb"], "must map each modality"),
    ],
)
def test_bad_obs_modalities_are_config_errors(fakes, modalities, match):
    with pytest.raises(ConfigError, match=match):
        build_network("MigFakeCore", {"input_shape": [2]}, modalities)


def test_post_init_calls_build_objects_and_filter_net_kwargs(fakes):
    net = build_network("MigFakeNet", {"obs_shapes": {}}, {"rgb": ["cam"]})
    calls = [
        {
            "method": "register_obs_key",
            "kwargs": {
                "name": "cam",
                "shape": [3, 4, 4],
                "net_class": "MigFakeCore",
                "net_kwargs": {"width": 5},
                "randomizers": [
                    {
                        "__object__": "robomimic.models.obs_core.MigFakeRandomizer",
                        "kwargs": {"input_shape": [3, 4, 4], "scale": 0.5},
                    }
                ],
            },
        },
        {"method": "make", "kwargs": {}},
    ]
    apply_post_init_calls(net, calls, {"rgb": ["cam"]})
    ((name, shape, net_class, net_kwargs, randomizers),) = net.registered
    assert (name, shape, net_class, dict(net_kwargs)) == (
        "cam",
        [3, 4, 4],
        "MigFakeCore",
        {"width": 5},
    )
    assert isinstance(randomizers[0], fakes.randomizer) and randomizers[0].scale == 0.5
    assert net.made


def test_post_init_calls_name_a_missing_method(fakes):
    net = build_network("MigFakeNet", {"obs_shapes": {}}, {})
    with pytest.raises(ConfigError, match="no method 'register_key'"):
        apply_post_init_calls(net, [{"method": "register_key", "kwargs": {}}])


def test_core_classes_given_as_classes_are_filtered_by_their_signature(fakes):
    log = DroppedKwargs()
    spec = {"core_class": fakes.core, "core_kwargs": {"width": 2, "wdth": 1}}
    out = migrate_encoder_kwargs({"rgb": spec}, log)
    assert out["rgb"]["core_class"] is fakes.core
    assert dict(out["rgb"]["core_kwargs"]) == {"width": 2}
    assert log.entries == ["encoder_kwargs.rgb.core_kwargs.wdth (not a parameter of MigFakeCore)"]
