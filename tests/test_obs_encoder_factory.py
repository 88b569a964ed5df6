"""obs_encoder_factory: modality mapping, per-modality settings, randomizer chains, defaults."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from obsnets import hookimpl
from obsnets.bases import EncoderCore, Randomizer
from obsnets.encoders import default_encoder_kwargs, key_modalities, obs_encoder_factory
from obsnets.errors import ConfigError, InvalidKwargsError, UnknownComponentError
from obsnets.plugins import register_plugin, unregister_plugin


class FactoryTestCore(EncoderCore):
    """Flatten + Linear to ``out_dim``."""

    def __init__(self, input_shape, out_dim=4):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


class FactoryTestTrim(Randomizer):
    """Drops the last ``n`` columns of an image (an ``output_shape_in`` that changes)."""

    def __init__(self, input_shape, n=1):
        super().__init__()
        self.input_shape = list(input_shape)
        self.n = n

    def forward_in(self, inputs):
        return inputs[..., : inputs.shape[-1] - self.n]

    def forward_out(self, inputs):
        return inputs

    def output_shape_in(self, input_shape=None):
        return [*input_shape[:-1], input_shape[-1] - self.n]

    def output_shape_out(self, input_shape=None):
        return list(input_shape)


RGB = {"core_class": "FactoryTestCore", "core_kwargs": {"out_dim": 3}}
LOW = {
    "core_class": None,
    "core_kwargs": {},
    "obs_randomizer_class": None,
    "obs_randomizer_kwargs": {},
}
SHAPES = {"cam": [2, 4, 5], "pos": [3]}
MODALITIES = {"rgb": ["cam"], "low_dim": ["pos"]}


def test_keys_get_their_modalitys_encoder_and_numbers_match_manual():
    kwargs = {
        "rgb": {
            **RGB,
            "obs_randomizer_class": ["FactoryTestTrim", "FactoryTestTrim"],
            "obs_randomizer_kwargs": [{"n": 1}, {"n": 2}],
        },
        "low_dim": LOW,
    }
    saved = copy.deepcopy(kwargs)
    enc = obs_encoder_factory(SHAPES, encoder_kwargs=kwargs, obs_modalities=MODALITIES)
    assert kwargs == saved  # never mutated
    rands = list(enc.obs_randomizers["cam"])
    assert [r.input_shape for r in rands] == [[2, 4, 5], [2, 4, 4]]
    core = enc.obs_nets["cam"]
    assert isinstance(core, FactoryTestCore) and core.input_shape == [2, 4, 2]
    assert enc.obs_nets["pos"] is None
    x = {"cam": torch.randn(3, 2, 4, 5), "pos": torch.randn(3, 3)}
    expected = torch.cat([torch.relu(core.lin(x["cam"][..., :2].flatten(1))), x["pos"]], dim=-1)
    torch.testing.assert_close(enc(x), expected)
    assert enc._key_modalities == {"cam": "rgb", "pos": "low_dim"}


def test_unlisted_one_dimensional_keys_are_low_dim_by_default():
    assert key_modalities({"action": [7], "cam": [3, 8, 8]}, {"rgb": ["cam"]}) == {
        "action": "low_dim",
        "cam": "rgb",
    }
    enc = obs_encoder_factory({"action": [7], "latent": [2]})  # no mapping at all
    x = {"action": torch.randn(2, 7), "latent": torch.randn(2, 2)}
    assert torch.equal(enc(x), torch.cat([x["action"], x["latent"]], dim=-1))


def test_unlisted_multi_dimensional_keys_are_an_error_listing_all_of_them():
    with pytest.raises(
        ConfigError, match=r"'cam' \[3, 8, 8\], 'depth' \[1, 8, 8\].*obs_modalities"
    ):
        obs_encoder_factory({"cam": [3, 8, 8], "pos": [3], "depth": [1, 8, 8]})


def test_default_modality_none_requires_every_key_listed():
    with pytest.raises(ConfigError, match=r"'action' \[7\].*default_modality=None"):
        key_modalities({"action": [7]}, {"rgb": []}, default_modality=None)


@pytest.mark.parametrize(
    ("mapping", "pattern"),
    [
        ({"rgb": ["cam"], "depth": ["cam"]}, "two modalities"),
        ({"rgb": "cam"}, "list of observation keys"),
        (["cam"], "must map each modality"),
    ],
)
def test_malformed_modality_mapping(mapping, pattern):
    with pytest.raises(ConfigError, match=pattern):
        obs_encoder_factory({"cam": [3]}, obs_modalities=mapping)


@pytest.mark.parametrize("null", [None, "None"])
def test_null_core_class_passes_through_and_string_none_means_null(null):
    enc = obs_encoder_factory(
        {"cam": [2, 2, 2]},
        encoder_kwargs={"rgb": {"core_class": null, "obs_randomizer_class": null}},
        obs_modalities={"rgb": ["cam"]},
    )
    assert enc.obs_nets["cam"] is None and len(enc.obs_randomizers["cam"]) == 0
    x = torch.randn(2, 2, 2, 2)
    assert torch.equal(enc({"cam": x}), x.reshape(2, 8))


@pytest.mark.parametrize(
    ("setting", "error", "pattern"),
    [
        ({"core_class": None, "core_kwargs": {"out_dim": 3}}, ConfigError, "core_class is None"),
        ({**RGB, "core_kwarg": {}}, ConfigError, "Did you mean 'core_kwargs'"),
        (
            {
                **RGB,
                "obs_randomizer_class": ["FactoryTestTrim", "FactoryTestTrim"],
                "obs_randomizer_kwargs": [{"n": 1}],
            },
            ConfigError,
            "2 randomizer.*1 kwargs",
        ),
        (
            {
                **RGB,
                "obs_randomizer_class": ["FactoryTestTrim", "FactoryTestTrim"],
                "obs_randomizer_kwargs": {"n": 1},
            },
            ConfigError,
            "one dict per",
        ),
        (
            {**RGB, "obs_randomizer_class": None, "obs_randomizer_kwargs": [{"n": 1}]},
            ConfigError,
            "0 randomizer",
        ),
        (
            {**RGB, "obs_randomizer_class": [None], "obs_randomizer_kwargs": [{"n": 1}]},
            ConfigError,
            "None randomizer class",
        ),
        (
            {
                **RGB,
                "obs_randomizer_class": "FactoryTestTrim",
                "obs_randomizer_kwargs": {"input_shape": [9]},
            },
            ConfigError,
            "derived",
        ),
        (
            {**RGB, "obs_randomizer_class": "FactoryTestTrim", "obs_randomizer_kwargs": {"m": 1}},
            InvalidKwargsError,
            "'m'",
        ),
        ({"core_class": "FactoryTestCor"}, UnknownComponentError, "FactoryTestCore"),
        (
            {"core_class": "FactoryTestCore", "core_kwargs": {"outdim": 2}},
            InvalidKwargsError,
            "out_dim",
        ),
        ({**RGB, "obs_randomizer_class": "FactoryTestCore"}, UnknownComponentError, "randomizer"),
    ],
)
def test_settings_errors(setting, error, pattern):
    with pytest.raises(error, match=pattern):
        obs_encoder_factory(SHAPES, encoder_kwargs={"rgb": setting}, obs_modalities=MODALITIES)


def test_single_randomizer_class_with_dict_kwargs_and_none_entries_in_a_list():
    one = obs_encoder_factory(
        SHAPES,
        encoder_kwargs={
            "rgb": {
                **RGB,
                "obs_randomizer_class": "FactoryTestTrim",
                "obs_randomizer_kwargs": {"n": 2},
            }
        },
        obs_modalities=MODALITIES,
    )
    assert one.obs_nets["cam"].input_shape == [2, 4, 3]
    listed = obs_encoder_factory(
        SHAPES,
        encoder_kwargs={
            "rgb": {
                **RGB,
                "obs_randomizer_class": [None, "FactoryTestTrim"],
                "obs_randomizer_kwargs": [{}, {"n": 1}],
            }
        },
        obs_modalities=MODALITIES,
    )
    assert len(listed.obs_randomizers["cam"]) == 1
    assert listed.obs_nets["cam"].input_shape == [2, 4, 4]


class _DefaultsPlugin:
    @hookimpl
    def obsnets_encoder_defaults(self, modality):
        if modality == "thermal":
            return {"core_class": "FactoryTestCore", "core_kwargs": {"out_dim": 6}}
        return None


def test_missing_modality_settings_come_from_the_plugin_hook_or_error():
    register_plugin(_DefaultsPlugin(), "factory-test-defaults")
    try:
        assert default_encoder_kwargs("thermal")["core_kwargs"] == {"out_dim": 6}
        enc = obs_encoder_factory(
            {"heat": [1, 3, 3], "pos": [2]},
            encoder_kwargs={"rgb": RGB},  # lacks thermal and low_dim: both defaulted
            obs_modalities={"thermal": ["heat"]},
        )
        assert enc.obs_nets["heat"].out_dim == 6 and enc.obs_nets["pos"] is None
        assert enc.output_shape() == [8]
    finally:
        unregister_plugin("factory-test-defaults")
    assert default_encoder_kwargs("low_dim")["core_class"] is None
    with pytest.raises(ConfigError, match=r"modality 'sonar'.*encoder_kwargs\['sonar'\]"):
        obs_encoder_factory({"ping": [1, 4]}, obs_modalities={"sonar": ["ping"]})


def test_image_defaults_come_from_the_visual_plugin():
    pytest.importorskip("obsnets_visual")
    assert default_encoder_kwargs("rgb")["core_class"] == "VisualCore"


def test_feature_activation_and_class_objects_in_settings():
    enc = obs_encoder_factory(
        {"cam": [1, 2, 2]},
        feature_activation="Tanh",
        encoder_kwargs={
            "rgb": {"core_class": FactoryTestCore, "obs_randomizer_class": FactoryTestTrim}
        },
        obs_modalities={"rgb": ["cam"]},
    )
    x = torch.randn(2, 1, 2, 2)
    core = enc.obs_nets["cam"]
    torch.testing.assert_close(enc({"cam": x}), torch.tanh(core.lin(x[..., :1].flatten(1))))
