"""SpatialSoftmax, SpatialMeanPool and FeatureAggregator: numbers, shapes and errors."""

from __future__ import annotations

import pytest
import torch

from obsnets.errors import ConfigError, ShapeError
from obsnets_visual import FeatureAggregator, SpatialMeanPool, SpatialSoftmax


def _spot_map(channels: int, height: int, width: int, spots: dict[int, tuple[int, int]]):
    """A (1, C, H, W) map of zeros with a bright pixel (row, col) per listed channel."""
    feature = torch.zeros(1, channels, height, width)
    for channel, (row, col) in spots.items():
        feature[0, channel, row, col] = 10.0
    return feature


def test_keypoint_of_a_bright_spot_is_its_image_coordinate():
    pool = SpatialSoftmax((2, 5, 7), num_kp=None, temperature=0.01).eval()
    feature = _spot_map(2, 5, 7, {0: (1, 5), 1: (4, 0)})
    keypoints = pool(feature)
    assert keypoints.shape == (1, 2, 2)
    # x runs -1..1 over the 7 columns, y -1..1 over the 5 rows; order (x, y).
    expected = torch.tensor([[[-1 + 2 * 5 / 6, -1 + 2 * 1 / 4], [-1.0, 1.0]]])
    torch.testing.assert_close(keypoints, expected, atol=1e-5, rtol=0)


def test_uniform_map_gives_the_centre():
    pool = SpatialSoftmax((3, 4, 6), num_kp=None).eval()
    torch.testing.assert_close(pool(torch.zeros(2, 3, 4, 6)), torch.zeros(2, 3, 2))


def test_one_dimensional_maps_from_scan_cores():
    pool = SpatialSoftmax((4, 10, 1), num_kp=None, temperature=0.01).eval()
    feature = torch.zeros(1, 4, 10, 1)
    feature[0, 2, 3, 0] = 10.0
    keypoints = pool(feature)
    assert keypoints[0, 2, 0].item() == -1.0  # a single column sits at x = -1
    assert keypoints[0, 2, 1].item() == pytest.approx(-1 + 2 * 3 / 9, abs=1e-5)
    assert pool.output_shape((4, 10, 1)) == [4, 2]


def test_learned_projection_and_temperature_state():
    fixed = SpatialSoftmax((8, 3, 3), num_kp=5, temperature=2.0)
    learned = SpatialSoftmax((8, 3, 3), num_kp=5, temperature=2.0, learnable_temperature=True)
    assert list(fixed.state_dict()) == ["temperature", "pos_x", "pos_y", "nets.weight", "nets.bias"]
    assert list(learned.state_dict()) == list(fixed.state_dict())
    assert "temperature" not in dict(fixed.named_parameters())
    assert dict(learned.named_parameters())["temperature"].item() == 2.0
    out = learned(torch.randn(2, 8, 3, 3))
    out.sum().backward()
    assert learned.temperature.grad is not None
    assert fixed.output_shape() == [5, 2]


def test_temperature_divides_the_logits():
    # logits x / T: a map with T=2 equals the same map halved with T=1.
    feature = torch.randn(2, 3, 4, 5)
    hot = SpatialSoftmax((3, 4, 5), num_kp=None, temperature=2.0)(feature)
    cold = SpatialSoftmax((3, 4, 5), num_kp=None, temperature=1.0)(feature / 2)
    torch.testing.assert_close(hot, cold)


def test_output_variance_is_one_flattenable_tensor_with_the_covariance():
    pool = SpatialSoftmax((1, 3, 5), num_kp=None, temperature=0.01, output_variance=True).eval()
    feature = _spot_map(1, 3, 5, {0: (1, 0)})
    feature[0, 0, 1, 4] = 10.0  # two equal peaks on the middle row, at x = -1 and x = 1
    out = pool(feature)
    assert out.shape == (1, 1, 6) and pool.output_shape() == [1, 6]
    keypoints, covariance = SpatialSoftmax.split_keypoints(out)
    torch.testing.assert_close(keypoints, torch.zeros(1, 1, 2), atol=1e-5, rtol=0)
    expected = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # var_x = 1, var_y = cov = 0
    torch.testing.assert_close(covariance, expected, atol=1e-5, rtol=0)


def test_noise_only_in_training_mode_and_not_in_place():
    pool = SpatialSoftmax((4, 3, 3), num_kp=None, noise_std=0.5)
    feature = torch.randn(3, 4, 3, 3)
    clean = pool.eval()(feature)
    torch.testing.assert_close(pool(feature), clean)  # eval is deterministic
    pool.train()
    torch.manual_seed(7)
    noisy = pool(feature)
    torch.manual_seed(7)
    torch.testing.assert_close(noisy, clean + torch.randn(clean.shape) * 0.5)
    silent = SpatialSoftmax((4, 3, 3), num_kp=None).train()
    torch.testing.assert_close(silent(feature), clean)  # noise_std=0: nothing added


def test_keypoints_recorded_only_on_request():
    feature = torch.randn(2, 4, 3, 3, requires_grad=True)
    assert SpatialSoftmax((4, 3, 3), num_kp=2)(feature) is not None
    plain = SpatialSoftmax((4, 3, 3), num_kp=2)
    plain(feature)
    assert plain.kps is None
    recording = SpatialSoftmax((4, 3, 3), num_kp=2, record_keypoints=True)
    out = recording(feature)
    assert torch.equal(recording.kps, out) and not recording.kps.requires_grad


def test_spatial_softmax_shape_errors():
    pool = SpatialSoftmax((8, 3, 3))
    with pytest.raises(ShapeError, match=r"SpatialSoftmax.*\(B, 8, 3, 3\).*\(2, 8, 4, 3\)"):
        pool(torch.zeros(2, 8, 4, 3))
    with pytest.raises(ShapeError, match=r"SpatialSoftmax.*\(8, 3, 3\).*\(4, 3, 3\)"):
        pool.output_shape((4, 3, 3))
    with pytest.raises(ShapeError, match="SpatialSoftmax"):
        SpatialSoftmax((8, 3))


def test_spatial_mean_pool_averages_and_accepts_any_spatial_size():
    pool = SpatialMeanPool((3, 4, 4))
    feature = torch.arange(2 * 3 * 2 * 5, dtype=torch.float32).reshape(2, 3, 2, 5)
    torch.testing.assert_close(pool(feature), feature.mean(dim=(2, 3)))
    assert pool.output_shape() == [3]
    assert pool.output_shape((3, 9, 9)) == [3]
    with pytest.raises(ShapeError, match=r"SpatialMeanPool.*\(3, H, \.\.\.\).*\(5, 4, 4\)"):
        pool(torch.zeros(1, 5, 4, 4))
    with pytest.raises(ShapeError, match="SpatialMeanPool"):
        pool.output_shape((4, 2, 2))


def test_feature_aggregator_reduces_the_dimension_it_names():
    x = torch.randn(2, 3, 5)
    over_n = FeatureAggregator(dim=1)
    torch.testing.assert_close(over_n(x), x.mean(dim=1))
    assert over_n.output_shape((3, 5)) == [5]
    over_d = FeatureAggregator(dim=2)  # robomimic reduced dim 1 here
    torch.testing.assert_close(over_d(x), x.mean(dim=2))
    assert over_d.output_shape((3, 5)) == [3] == list(over_d(x).shape[1:])
    last = FeatureAggregator(dim=-1, input_shape=(3, 5))
    assert last.output_shape() == [3]
    torch.testing.assert_close(last(x), x.mean(dim=-1))


def test_feature_aggregator_weighted_average_and_errors():
    x = torch.randn(2, 3, 5)
    weight = torch.tensor([0.2, 0.3, 0.5]).view(1, 3, 1)
    agg = FeatureAggregator(dim=1, agg_type="w_avg")
    with pytest.raises(ConfigError, match="set_weight"):
        agg(x)
    agg.set_weight(weight)
    torch.testing.assert_close(agg(x), (x * weight).sum(dim=1))
    agg.clear_weight()
    assert agg.agg_weight is None
    with pytest.raises(ConfigError, match="agg_type"):
        FeatureAggregator(agg_type="max")
    with pytest.raises(ConfigError, match="w_avg"):
        FeatureAggregator().set_weight(weight)
    with pytest.raises(ShapeError, match=r"FeatureAggregator\(dim=3\)"):
        FeatureAggregator(dim=3).output_shape((3, 5))
    with pytest.raises(ShapeError, match=r"FeatureAggregator.*\(B, 3, 5\).*\(2, 4, 5\)"):
        FeatureAggregator(input_shape=(3, 5))(torch.zeros(2, 4, 5))


POOLS = [
    ("SpatialSoftmax", {"num_kp": 4}),
    ("SpatialSoftmax", {"num_kp": None, "output_variance": True}),
    ("SpatialMeanPool", {}),
    ("FeatureAggregator", {"dim": 2}),
    ("FeatureAggregator", {"dim": -1, "agg_type": "avg"}),
]


@pytest.mark.parametrize(("name", "kwargs"), POOLS, ids=lambda v: str(v))
@pytest.mark.parametrize("shape", [(8, 3, 3), (5, 7, 2), (6, 9, 1)])
def test_pool_output_shape_equals_forward(name, kwargs, shape):
    from obsnets.building import build_component

    pool = build_component(name, {"input_shape": shape, **kwargs}, kind="pool").train()
    out = pool(torch.randn(2, *shape))
    assert list(out.shape[1:]) == pool.output_shape(shape) == pool.output_shape()
