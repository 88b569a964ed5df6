"""ColorRandomizer: torchvision's adjustments, per-image factors and order, seeds, shapes."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.functional as TF

from obsnets.errors import ConfigError, ShapeError
from obsnets_randomizers import ColorRandomizer
from obsnets_randomizers.color_ops import hsv_to_rgb, rgb_to_hsv

ONLY = {"brightness": None, "contrast": None, "saturation": None, "hue": None}


def only(**kwargs):
    return {**ONLY, **kwargs}


@pytest.mark.parametrize("factor", [0.6, 1.25])
def test_brightness_with_a_fixed_factor_equals_torchvision(factor):
    images = torch.rand(4, 3, 10, 12)
    jitter = ColorRandomizer((3, 10, 12), **only(brightness=(factor, factor)))
    torch.testing.assert_close(
        jitter.forward_in(images), TF.adjust_brightness(images, factor), rtol=0, atol=1e-7
    )


@pytest.mark.parametrize(
    "name, factor, reference",
    [
        ("contrast", 0.4, TF.adjust_contrast),
        ("contrast", 1.7, TF.adjust_contrast),
        ("saturation", 0.3, TF.adjust_saturation),
        ("saturation", 1.8, TF.adjust_saturation),
        ("hue", -0.35, TF.adjust_hue),
        ("hue", 0.2, TF.adjust_hue),
    ],
)
def test_each_adjustment_with_a_fixed_factor_equals_torchvision(name, factor, reference):
    images = torch.rand(4, 3, 10, 12)
    images[0, :, :2] = 0.5  # gray pixels: hue undefined, must stay gray
    jitter = ColorRandomizer((3, 10, 12), **only(**{name: (factor, factor)}))
    torch.testing.assert_close(
        jitter.forward_in(images), reference(images, factor), rtol=0, atol=2e-6
    )


def test_hsv_round_trip():
    images = torch.rand(3, 3, 7, 7)
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(images)), images, rtol=0, atol=1e-6)


def test_factors_are_drawn_per_image_within_the_range():
    images = torch.rand(64, 3, 6, 6) * 0.5  # no clipping for factors <= 2
    jitter = ColorRandomizer((3, 6, 6), **only(brightness=(0.5, 2.0)), seed=0)
    out = jitter.forward_in(images)
    ratio = out / images  # one factor per image
    factors = ratio.flatten(1).mean(dim=1)
    torch.testing.assert_close(ratio, factors.view(-1, 1, 1, 1).expand_as(ratio))
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert factors.std() > 0.2  # uniform on [0.5, 2] has std 0.43


def test_the_order_of_adjustments_is_random_per_image():
    images = torch.rand(64, 3, 6, 6)
    jitter = ColorRandomizer((3, 6, 6), **only(brightness=(1.5, 1.5), contrast=(0.5, 0.5)), seed=1)
    out = jitter.forward_in(images)
    brightness_first = TF.adjust_contrast(TF.adjust_brightness(images, 1.5), 0.5)
    contrast_first = TF.adjust_brightness(TF.adjust_contrast(images, 0.5), 1.5)
    close = lambda a, b: (a - b).flatten(1).abs().amax(dim=1) < 1e-5  # noqa: E731
    is_b_first, is_c_first = close(out, brightness_first), close(out, contrast_first)
    assert bool((is_b_first | is_c_first).all())
    assert 10 < int(is_b_first.sum()) < 54  # both orders occur


def test_num_samples_repeats_sample_major_and_forward_out_averages():
    images = torch.rand(3, 3, 5, 5) * 0.5
    jitter = ColorRandomizer((3, 5, 5), **only(brightness=(0.5, 1.5)), num_samples=4, seed=2)
    out = jitter.forward_in(images)
    assert out.shape == (12, 3, 5, 5)
    for i in range(12):  # each output is a scaled copy of input i // 4
        factor = (out[i] / images[i // 4]).mean()
        torch.testing.assert_close(out[i], images[i // 4] * factor)
    feats = torch.randn(12, 8)
    torch.testing.assert_close(jitter.forward_out(feats), feats.view(3, 4, 8).mean(dim=1))


def test_eval_is_the_identity_and_shapes_are_unchanged():
    images = torch.rand(2, 3, 8, 8)
    jitter = ColorRandomizer((3, 8, 8), num_samples=3)
    assert jitter.output_shape_in() == [3, 8, 8] and jitter.output_shape_out([16]) == [16]
    assert list(jitter.forward_in(images).shape[1:]) == jitter.output_shape_in()
    jitter.eval()
    assert torch.equal(jitter.forward_in(images), images)
    feats = torch.randn(2, 16)
    assert torch.equal(jitter.forward_out(feats), feats)


def test_leading_time_dimension():
    images = torch.rand(2, 3, 3, 8, 8)  # (B, T, C, H, W)
    jitter = ColorRandomizer((3, 8, 8), num_samples=2, seed=0)
    out = jitter.forward_in(images)
    assert out.shape == (4, 3, 3, 8, 8)
    assert not torch.equal(out[0], out[1])  # each copy jittered independently


def test_grayscale_images_get_brightness_and_contrast_only():
    images = torch.rand(4, 1, 6, 6)
    jitter = ColorRandomizer((1, 6, 6), brightness=(1.2, 1.2), contrast=None, seed=0)
    torch.testing.assert_close(jitter.forward_in(images), TF.adjust_brightness(images, 1.2))
    default = ColorRandomizer((1, 6, 6), seed=0)  # saturation and hue are no-ops
    assert default.forward_in(images).shape == (4, 1, 6, 6)


def test_seeds_make_jitter_reproducible():
    images = torch.rand(6, 3, 8, 8)
    a, b = ColorRandomizer((3, 8, 8), seed=4), ColorRandomizer((3, 8, 8), seed=4)
    first = a.forward_in(images)
    assert torch.equal(first, b.forward_in(images))
    assert not torch.equal(first, a.forward_in(images))
    generator = torch.Generator().manual_seed(4)
    assert torch.equal(first, ColorRandomizer((3, 8, 8)).forward_in(images, generator=generator))


def test_disabled_jitter_only_repeats():
    images = torch.rand(2, 3, 4, 4)
    jitter = ColorRandomizer(
        (3, 4, 4), brightness=0, contrast=None, saturation=0, hue=0, num_samples=2
    )
    assert torch.equal(jitter.forward_in(images), images.repeat_interleave(2, dim=0))


def test_errors():
    with pytest.raises(ConfigError, match=r"hue must lie within \[-0.5, 0.5\]"):
        ColorRandomizer((3, 8, 8), hue=0.7)
    with pytest.raises(ConfigError, match="brightness must be >= 0"):
        ColorRandomizer((3, 8, 8), brightness=-0.1)
    with pytest.raises(ConfigError, match="min > max"):
        ColorRandomizer((3, 8, 8), contrast=(1.5, 0.5))
    with pytest.raises(
        ShapeError, match=r"ColorRandomizer expects input_shape \(3, H, W\).*\(4, 8, 8\)"
    ):
        ColorRandomizer((4, 8, 8))
    jitter = ColorRandomizer((3, 8, 8))
    with pytest.raises(
        ShapeError, match=r"ColorRandomizer expects input of shape \(B, 3, 8, 8\).*\(2, 1, 8, 8\)"
    ):
        jitter.forward_in(torch.rand(2, 1, 8, 8))
    with pytest.raises(ConfigError, match="float images"):
        jitter.forward_in(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
