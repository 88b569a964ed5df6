"""SpatialSoftmax's options for robomimic's behaviour: noise drawn at zero std, tuple output."""

from __future__ import annotations

import pytest
import torch

import obsnets
from obsnets_visual import SpatialSoftmax


def _pool(**kwargs) -> SpatialSoftmax:
    torch.manual_seed(0)
    return SpatialSoftmax((4, 5, 6), num_kp=3, **kwargs)


@pytest.mark.parametrize("always_draw_noise", [False, True])
def test_zero_noise_draws_only_with_always_draw_noise(always_draw_noise):
    pool = _pool(always_draw_noise=always_draw_noise)
    feature = torch.randn(2, 4, 5, 6)
    expected = pool.eval()(feature)
    pool.train()
    torch.manual_seed(3)
    out = pool(feature)
    after = torch.rand(4)
    assert torch.equal(out, expected)  # zero noise changes no value
    torch.manual_seed(3)
    if always_draw_noise:
        torch.randn(2, 3, 2)  # robomimic's draw: one normal per keypoint coordinate
    assert torch.equal(torch.rand(4), after)  # the random stream advanced exactly so much


def test_noise_values_are_robomimics_randn_times_std():
    pool = _pool(noise_std=0.2, always_draw_noise=True)
    feature = torch.randn(2, 4, 5, 6)
    clean = pool.eval()(feature)
    torch.manual_seed(9)
    noisy = pool.train()(feature)
    torch.manual_seed(9)
    assert torch.equal(noisy, clean + torch.randn(2, 3, 2) * 0.2)


def test_variance_as_tuple_returns_robomimics_keypoints_and_covariance():
    feature = torch.randn(3, 4, 5, 6)
    joined = _pool(output_variance=True).eval()(feature)  # (B, K, 6)
    pool = _pool(output_variance=True, variance_as_tuple=True, record_keypoints=True).eval()
    keypoints, covariance = pool(feature)
    assert keypoints.shape == (3, 3, 2) and covariance.shape == (3, 3, 2, 2)
    want_keypoints, want_covariance = SpatialSoftmax.split_keypoints(joined)
    assert torch.equal(keypoints, want_keypoints) and torch.equal(covariance, want_covariance)
    assert torch.equal(covariance, covariance.transpose(-1, -2))  # [[var_x, cov], [cov, var_y]]
    assert (covariance[..., 0, 0] > 0).all() and (covariance[..., 1, 1] > 0).all()
    assert pool.output_shape() == [3, 2]  # robomimic's answer: the keypoints' shape
    assert isinstance(pool.kps, tuple) and torch.equal(pool.kps[1], covariance)
    # without output_variance the option changes nothing
    plain = _pool(variance_as_tuple=True).eval()
    assert torch.equal(plain(feature), _pool().eval()(feature))


def test_options_are_saved_and_shown(tmp_path):
    pool = _pool(always_draw_noise=True, variance_as_tuple=True, output_variance=True)
    assert "always_draw_noise=True, variance_as_tuple=True" in repr(pool)
    assert "always_draw_noise" not in repr(_pool())
    obsnets.save_pretrained(pool, tmp_path / "pool")
    loaded = obsnets.load(tmp_path / "pool")
    assert loaded.always_draw_noise and loaded.variance_as_tuple
    feature = torch.randn(2, 4, 5, 6)
    assert isinstance(loaded.eval()(feature), tuple)
