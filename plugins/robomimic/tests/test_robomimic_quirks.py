"""Networks built through obsnets-robomimic draw random numbers as robomimic's did.

The expected draws are robomimic's documented sampling formulas, re-done here with the same
seed: crop corners ``floor(U[0, 1) * (H - h))`` (rows, then columns), keypoint noise
``randn(B, K, 2) * noise_std`` drawn even at ``noise_std=0``, and the uniform noise
``U[0, 1) * noise_std + noise_mean`` of its GaussianNoiseRandomizer.
"""

from __future__ import annotations

import pytest
import torch

from obsnets_robomimic import RobomimicMigrationWarning, build_network
from obsnets_robomimic.kwargs_migration import DroppedKwargs
from obsnets_robomimic.quirks import ROBOMIMIC_QUIRKS, reproduce_quirks

pytest.importorskip("obsnets_visual")
pytest.importorskip("obsnets_randomizers")

ENCODER_KWARGS = {
    "obs_shapes": {"cam": [3, 24, 22], "pos": [3]},
    "feature_activation": "torch.nn.ReLU",
    "encoder_kwargs": {
        "rgb": {
            "core_class": "VisualCore",
            "core_kwargs": {
                "feature_dimension": 8,
                "backbone_class": "ResNet18Conv",
                "backbone_kwargs": {"pretrained": False, "input_coord_conv": False},
                "pool_class": "SpatialSoftmax",
                "pool_kwargs": {"num_kp": 4, "noise_std": 0.0},
            },
            "obs_randomizer_class": "CropRandomizer",
            "obs_randomizer_kwargs": {"crop_height": 18, "crop_width": 17, "num_crops": 1},
        },
        "low_dim": {"core_class": None, "obs_randomizer_class": None},
    },
}
MODALITIES = {"rgb": ["cam"], "low_dim": ["pos"]}


def _build(name, kwargs, modalities=None):
    with pytest.warns(RobomimicMigrationWarning) as record:
        network = build_network(name, kwargs, modalities)
    assert len(record) == 1
    return network, str(record[0].message)


def test_seeded_train_step_of_a_migrated_encoder_draws_robomimics_numbers():
    encoder, message = _build("obs_encoder_factory", ENCODER_KWARGS, MODALITIES)
    assert "encoder_kwargs.rgb.obs_randomizer_kwargs: CropRandomizer(crop_sampling=" in message
    assert "encoder_kwargs.rgb.core_kwargs.pool_kwargs: SpatialSoftmax(always_draw_noise" in message
    seen = []
    encoder.obs_nets["cam"].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    images = torch.rand(5, 3, 24, 22)
    obs = {"cam": images, "pos": torch.randn(5, 3)}
    encoder.train()
    torch.manual_seed(1234)
    features = encoder(obs)
    after = torch.rand(8)

    torch.manual_seed(1234)
    tops = (6 * torch.rand(5, 1)).long()  # robomimic's crop corners: H - h = 6, W - w = 5
    lefts = (5 * torch.rand(5, 1)).long()
    torch.randn(5, 4, 2)  # SpatialSoftmax's noise at noise_std=0, drawn anyway
    assert torch.equal(torch.rand(8), after)  # nothing else was drawn, nothing less
    crops = torch.stack(
        [
            images[i, :, t : t + 18, s : s + 17]
            for i, (t, s) in enumerate(zip(tops[:, 0], lefts[:, 0]))
        ]
    )
    assert torch.equal(seen[0], crops)
    assert features.shape == (5, 8 + 3)


def test_gaussian_noise_randomizer_adds_robomimics_uniform_noise():
    noise, message = _build(
        "robomimic.models.obs_core.GaussianNoiseRandomizer",
        {"input_shape": [6], "noise_mean": 0.1, "noise_std": 0.5, "num_samples": 3},
    )
    assert "GaussianNoiseRandomizer(noise_distribution='robomimic_uniform')" in message
    inputs = torch.randn(4, 6)
    torch.manual_seed(7)
    out = noise.train().forward_in(inputs)
    torch.manual_seed(7)
    repeated = inputs.repeat_interleave(3, dim=0)
    assert torch.equal(out, torch.rand(12, 6) * 0.5 + 0.1 + repeated)


def test_stand_alone_spatial_softmax_returns_robomimics_tuple():
    kwargs = {"input_shape": [4, 5, 6], "num_kp": 3, "output_variance": True}
    pool, message = _build("SpatialSoftmax", kwargs)
    assert "SpatialSoftmax(variance_as_tuple=True)" in message
    assert "SpatialSoftmax(always_draw_noise=True)" in message
    keypoints, covariance = pool.eval()(torch.randn(2, 4, 5, 6))
    assert keypoints.shape == (2, 3, 2) and covariance.shape == (2, 3, 2, 2)


def test_a_pool_inside_a_core_keeps_its_flattenable_output():
    kwargs = {
        "input_shape": [3, 32, 32],
        "backbone_kwargs": {"pretrained": False},
        "pool_kwargs": {"num_kp": 4, "output_variance": True, "noise_std": 0.1},
        "feature_dimension": None,
    }
    core = build_network("VisualCore", kwargs)  # no warning: nothing to reproduce or drop
    assert not core.pool.variance_as_tuple  # robomimic crashed here: nothing to reproduce
    assert not core.pool.always_draw_noise  # noise_std > 0 draws anyway: nothing to add
    assert core.eval()(torch.rand(2, 3, 32, 32)).shape == (2, 4 * 6)


def test_scan_core_pool_draws_noise_as_robomimics():
    kwargs = {
        "input_shape": [1, 60],
        "conv_kwargs": {"out_channels": [8], "kernel_size": [4], "stride": [2]},
        "pool_class": "SpatialSoftmax",
        "pool_kwargs": {"num_kp": 4},
    }
    pytest.importorskip("obsnets_scan")
    core, message = _build("ScanCore", kwargs)
    assert "ScanCore.pool_kwargs: SpatialSoftmax(always_draw_noise=True)" in message
    assert core.pool.always_draw_noise


def test_every_quirk_option_exists_and_an_explicit_choice_is_kept():
    from obsnets.building import constructor_parameters
    from obsnets_robomimic.class_names import resolve_robomimic_class

    for quirk in ROBOMIMIC_QUIRKS:
        assert quirk.option in constructor_parameters(resolve_robomimic_class(quirk.component))
    log = DroppedKwargs()
    kept = reproduce_quirks(
        "CropRandomizer", "randomizer", {"crop_sampling": "shared"}, "x", log, standalone=True
    )
    assert kept == {"crop_sampling": "shared"} and not log.quirks


def test_a_component_without_the_option_is_reported_not_reproduced():
    def init(self, input_shape):
        pass

    stranger = type("CropRandomizer", (), {"__init__": init})  # e.g. an older plugin's class
    log = DroppedKwargs()
    assert reproduce_quirks(stranger, "randomizer", {}, "here", log) == {}
    assert log.quirks == [
        "here: NOT reproduced: CropRandomizer takes no 'crop_sampling' (robomimic's training "
        "crop corners drawn as robomimic draws them, floor(U[0, 1) * (H - h)) on the CPU, so "
        "the last corner H - h is never chosen); upgrade the plugin providing CropRandomizer"
    ]
