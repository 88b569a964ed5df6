"""GaussianNoiseRandomizer: really Gaussian, limits, samples, seeds, eval identity."""

from __future__ import annotations

import pytest
import torch

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_randomizers import GaussianNoiseRandomizer


def test_noise_has_the_requested_mean_and_std_and_is_gaussian():
    noise = GaussianNoiseRandomizer((100,), noise_mean=0.5, noise_std=0.2, seed=0)
    out = noise.forward_in(torch.zeros(2000, 100))  # 200k draws
    assert abs(out.mean().item() - 0.5) < 0.003
    assert abs(out.std().item() - 0.2) < 0.003
    # Gaussian, not robomimic's uniform [mean, mean + std): ~68.3% within one std (uniform
    # over [0.5, 0.7) would give 100% within [0.3, 0.7]) and some values below the mean.
    within_one = ((out - 0.5).abs() < 0.2).float().mean().item()
    assert abs(within_one - 0.6827) < 0.005
    assert ((out - 0.5).abs() > 0.4).float().mean().item() == pytest.approx(0.0455, abs=0.003)


def test_limits_are_respected():
    noise = GaussianNoiseRandomizer((50,), noise_std=1.0, limits=(-0.5, 0.8), seed=1)
    out = noise.forward_in(torch.zeros(200, 50))
    assert out.min().item() == -0.5 and out.max().item() == pytest.approx(0.8)  # clamped, reached
    assert out.max() == torch.tensor(0.8)
    inside = (out > -0.5) & (out < 0.8)
    assert 0.3 < inside.float().mean().item() < 0.6  # P(-0.5 < z < 0.8) = 0.48


def test_num_samples_are_independent_copies_and_forward_out_averages():
    inputs = torch.arange(6.0).view(3, 2)
    noise = GaussianNoiseRandomizer((2,), noise_std=0.01, num_samples=4, seed=2)
    out = noise.forward_in(inputs)
    assert out.shape == (12, 2)
    torch.testing.assert_close(out, inputs.repeat_interleave(4, dim=0), rtol=0, atol=0.05)
    assert not torch.equal(out[0], out[1])
    feats = torch.randn(12, 5)
    torch.testing.assert_close(noise.forward_out(feats), feats.view(3, 4, 5).mean(dim=1))


def test_eval_is_the_identity():
    noise = GaussianNoiseRandomizer((3, 4, 4), num_samples=2).eval()
    x = torch.rand(2, 3, 4, 4)
    assert torch.equal(noise.forward_in(x), x)
    assert torch.equal(noise.forward_out(x), x)


def test_shapes_and_leading_dims():
    noise = GaussianNoiseRandomizer((3, 4, 4), num_samples=2)
    out = noise.forward_in(torch.rand(2, 5, 3, 4, 4))
    assert out.shape == (4, 5, 3, 4, 4)
    assert list(out.shape[2:]) == noise.output_shape_in() == noise.output_shape()
    assert noise.output_shape_out([7]) == [7]
    with pytest.raises(
        ShapeError, match=r"GaussianNoiseRandomizer expects input of shape \(B, 3, 4, 4\)"
    ):
        noise.forward_in(torch.rand(2, 3, 4, 5))


def test_seeds_make_noise_reproducible():
    x = torch.zeros(4, 6)
    a, b = GaussianNoiseRandomizer((6,), seed=9), GaussianNoiseRandomizer((6,), seed=9)
    first = a.forward_in(x)
    assert torch.equal(first, b.forward_in(x))
    assert not torch.equal(first, a.forward_in(x))
    generator = torch.Generator().manual_seed(9)
    assert torch.equal(first, GaussianNoiseRandomizer((6,)).forward_in(x, generator=generator))


def test_errors():
    with pytest.raises(ConfigError, match=r"'noise_std' must be a number >= 0.0; got -1.0"):
        GaussianNoiseRandomizer((3,), noise_std=-1.0)
    with pytest.raises(ConfigError, match="low > high"):
        GaussianNoiseRandomizer((3,), limits=(1.0, 0.0))
    with pytest.raises(ConfigError, match=r"'num_samples' must be an int in \[1, 4096\]; got 0"):
        GaussianNoiseRandomizer((3,), num_samples=0)
    with pytest.raises(InvalidKwargsError, match="'seed' must be an int"):
        GaussianNoiseRandomizer((3,), seed="1")


def test_robomimic_uniform_is_robomimics_noise_draw_for_draw():
    inputs = torch.randn(3, 4, 5)
    noise = GaussianNoiseRandomizer(
        (4, 5),
        noise_mean=-0.1,
        noise_std=0.3,
        limits=(-1.0, 1.0),
        num_samples=2,
        noise_distribution="robomimic_uniform",
    )
    torch.manual_seed(5)
    out = noise.forward_in(inputs)
    torch.manual_seed(5)
    # robomimic: repeat each input N times (sample-major), add rand * std + mean, clamp
    repeated = inputs.repeat_interleave(2, dim=0)
    want = (torch.rand(repeated.shape) * 0.3 + -0.1 + repeated).clamp(-1.0, 1.0)
    assert torch.equal(out, want)


def test_robomimic_uniform_is_biased_and_weaker_than_its_name_says():
    noise = GaussianNoiseRandomizer(
        (100,), noise_mean=0.0, noise_std=1.0, noise_distribution="robomimic_uniform", seed=0
    )
    out = noise.forward_in(torch.zeros(2000, 100))
    assert out.min().item() >= 0.0 and out.max().item() < 1.0
    assert abs(out.mean().item() - 0.5) < 0.003
    assert abs(out.std().item() - 12**-0.5) < 0.003
    assert noise._generator is not None and noise._generator.device.type == "cpu"


def test_noise_distribution_is_validated_and_saved(tmp_path):
    import obsnets

    with pytest.raises(ConfigError, match=r"noise_distribution must be one of 'gaussian'"):
        GaussianNoiseRandomizer((2,), noise_distribution="uniform")
    noise = GaussianNoiseRandomizer((2,), noise_distribution="robomimic_uniform")
    obsnets.save_pretrained(noise, tmp_path / "noise")
    loaded = obsnets.load(tmp_path / "noise")
    assert loaded.noise_distribution == "robomimic_uniform"
