"""CropRandomizer's sampling and rounding options: torchvision's and robomimic's behaviour."""

from __future__ import annotations

import pytest
import torch
from torchvision import transforms

import obsnets
from obsnets.errors import ConfigError, InvalidKwargsError
from obsnets_randomizers import CropRandomizer
from obsnets_randomizers.crops import center_crop, center_offset, sample_random_image_crops


def coordinate_images(batch: int, height: int, width: int) -> torch.Tensor:
    """(B, 2, H, W): pixel = 10000 * image + 1000 * channel + row * width + col (exact)."""
    grid = torch.arange(height * width, dtype=torch.float32).view(height, width)
    offsets = 10000 * torch.arange(batch).view(batch, 1, 1, 1) + 1000 * torch.arange(2).view(
        1, 2, 1, 1
    )
    return grid + offsets.float()


def corner(crop: torch.Tensor, width: int) -> tuple[int, int]:
    """(top, left) of a crop of coordinate_images (any image, channel 0)."""
    return divmod(int(crop[0, 0, 0]) % 1000, width)


# -- center crop: torchvision's rounding -------------------------------------------------------


@pytest.mark.parametrize("margin", range(10))
def test_round_center_crop_equals_torchvision_center_crop(margin):
    height, width = 20 + margin, 24 + (margin * 3) % 10
    images = torch.rand(2, 3, height, width)
    crop = CropRandomizer(
        (3, height, width), crop_height=20, crop_width=24, center_rounding="round"
    )
    got = crop.eval().forward_in(images)
    assert torch.equal(got, transforms.CenterCrop((20, 24))(images))
    native = CropRandomizer((3, height, width), crop_height=20, crop_width=24).eval()
    floor = native.forward_in(images)
    # robomimic's (and the default) floor is one row higher exactly when the margin is 3 mod 4
    assert torch.equal(floor, got) == (margin % 4 != 3 and ((margin * 3) % 10) % 4 != 3)
    assert center_offset(height, 20, "round") - center_offset(height, 20) == int(margin % 4 == 3)


def test_center_crop_function_rounding_and_bad_rounding():
    images = torch.arange(7.0).view(1, 1, 1, 7)
    assert center_crop(images, 1, 4).flatten().tolist() == [1, 2, 3, 4]  # floor(3 / 2) = 1
    assert center_crop(images, 1, 4, "round").flatten().tolist() == [2, 3, 4, 5]  # round(1.5)
    with pytest.raises(ConfigError, match=r"rounding must be one of 'floor', 'round'"):
        center_crop(images, 1, 4, "ceil")


# -- shared offset: torchvision's RandomCrop on a batch ----------------------------------------


def test_shared_sampling_gives_every_image_the_same_window_over_the_full_range():
    height, width, crop_h, crop_w = 9, 10, 6, 8
    images = coordinate_images(5, height, width)
    crop = CropRandomizer((2, height, width), crop_h, crop_w, crop_sampling="shared", seed=0)
    corners = set()
    for _ in range(60):
        out = crop.forward_in(images)  # (5, 2, 6, 8)
        top, left = corner(out[0], width)
        for image in range(5):
            expected = images[image, :, top : top + crop_h, left : left + crop_w]
            assert torch.equal(out[image], expected)
        corners.add((top, left))
    assert {t for t, _ in corners} == {0, 1, 2, 3}  # [0, H - h] inclusive
    assert {c for _, c in corners} == {0, 1, 2}  # [0, W - w] inclusive


@pytest.mark.parametrize("size", [(84, 84, 76, 76), (30, 41, 24, 33), (12, 12, 12, 12)])
def test_shared_sampling_draws_what_torchvision_random_crop_draws(size):
    height, width, crop_h, crop_w = size
    images = torch.rand(4, 3, height, width)
    crop = CropRandomizer((3, height, width), crop_h, crop_w, crop_sampling="shared")
    for seed in range(5):
        torch.manual_seed(seed)
        want = transforms.RandomCrop((crop_h, crop_w))(images)
        after_torchvision = torch.rand(3)
        torch.manual_seed(seed)
        assert torch.equal(crop.forward_in(images), want)
        assert torch.equal(torch.rand(3), after_torchvision)  # the same random stream


def test_shared_sampling_keeps_time_and_crop_dims_sample_major():
    images = coordinate_images(6, 8, 8).view(3, 2, 2, 8, 8)  # (B, T, C, H, W)
    crop = CropRandomizer((2, 8, 8), 5, 5, num_crops=2, crop_sampling="shared", seed=4)
    out = crop.forward_in(images)
    assert out.shape == (6, 2, 2, 5, 5)
    crops, indices = sample_random_image_crops(
        images, 5, 5, 2, generator=torch.Generator().manual_seed(4), sampling="shared"
    )
    assert indices.shape == (3, 2, 2, 2)
    assert (indices == indices[0, 0]).all()  # one corner per crop for the whole batch
    for n in range(2):
        top, left = indices[0, 0, n].tolist()
        assert torch.equal(
            out.view(3, 2, 2, 2, 5, 5)[:, n], images[..., top : top + 5, left : left + 5]
        )
        assert torch.equal(crops[:, :, n], images[..., top : top + 5, left : left + 5])


# -- robomimic's draws -----------------------------------------------------------------------


def test_robomimic_sampling_is_robomimics_formula_draw_for_draw():
    height, width, crop_h, crop_w = 12, 11, 7, 5
    images = coordinate_images(16, height, width)
    crop = CropRandomizer(
        (2, height, width), crop_h, crop_w, num_crops=2, crop_sampling="robomimic"
    )
    torch.manual_seed(21)
    out = crop.forward_in(images)  # (32, 2, 7, 5), sample-major
    torch.manual_seed(21)
    # robomimic: floor(U[0, 1) * (H - h)) for rows of every (image, crop), then for columns
    tops = ((height - crop_h) * torch.rand(16, 2)).long()
    lefts = ((width - crop_w) * torch.rand(16, 2)).long()
    for image in range(16):
        for n in range(2):
            got = out[image * 2 + n]
            top, left = int(tops[image, n]), int(lefts[image, n])
            assert torch.equal(got, images[image, :, top : top + crop_h, left : left + crop_w])


def test_robomimic_sampling_never_reaches_the_last_corner():
    images = coordinate_images(1, 10, 10).expand(400, -1, -1, -1)
    crop = CropRandomizer((2, 10, 10), 7, 8, crop_sampling="robomimic", seed=3)
    corners = [corner(c, 10) for c in crop.forward_in(images)]
    assert {t for t, _ in corners} == {0, 1, 2}  # never 3 = H - h
    assert {c for _, c in corners} == {0, 1}  # never 2 = W - w


def test_robomimic_sampling_with_own_seed_or_generator_draws_on_the_cpu():
    images = torch.rand(6, 3, 16, 16)
    seeded = CropRandomizer((3, 16, 16), 9, 9, crop_sampling="robomimic", seed=7)
    first = seeded.forward_in(images)
    assert seeded._generator is not None and seeded._generator.device.type == "cpu"
    free = CropRandomizer((3, 16, 16), 9, 9, crop_sampling="robomimic")
    assert torch.equal(free.forward_in(images, generator=torch.Generator().manual_seed(7)), first)


# -- validation and saving -------------------------------------------------------------------


def test_unknown_options_are_config_errors_naming_the_choices():
    with pytest.raises(ConfigError, match=r"crop_sampling must be one of 'per_image', 'shared'"):
        CropRandomizer((3, 8, 8), 4, 4, crop_sampling="batch")
    with pytest.raises(ConfigError, match=r"center_rounding must be one of 'floor', 'round'"):
        CropRandomizer((3, 8, 8), 4, 4, center_rounding="nearest")
    with pytest.raises(InvalidKwargsError, match=r"'center_rounding' must be a name \(string\)"):
        CropRandomizer((3, 8, 8), 4, 4, center_rounding=True)


def test_options_are_saved_and_loaded(tmp_path):
    crop = CropRandomizer((3, 15, 15), 8, 8, crop_sampling="shared", center_rounding="round")
    obsnets.save_pretrained(crop, tmp_path / "crop")
    loaded = obsnets.load(tmp_path / "crop")
    assert (loaded.crop_sampling, loaded.center_rounding) == ("shared", "round")
    images = torch.rand(2, 3, 15, 15)
    assert torch.equal(loaded.forward_in(images), images[..., 4:12, 4:12])  # round(3.5) = 4
    assert "crop_sampling='shared', center_rounding='round'" in repr(loaded)
