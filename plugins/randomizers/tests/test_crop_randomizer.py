"""CropRandomizer: robomimic parity in eval, correct random windows in training, pos_enc."""

from __future__ import annotations

import pytest
import torch

import obsnets
from obsnets.errors import ConfigError, ShapeError
from obsnets_randomizers import CropRandomizer
from obsnets_randomizers.crops import crop_image_from_indices, sample_random_image_crops


def coordinate_images(batch: int, channels: int, height: int, width: int) -> torch.Tensor:
    """Pixel value = 10000 * image + 1000 * channel + row * width + col (exact in float32)."""
    rows = torch.arange(height).view(height, 1) * width
    cols = torch.arange(width).view(1, width)
    base = (rows + cols).float()  # (H, W)
    offsets = 10000 * torch.arange(batch).view(batch, 1, 1, 1) + 1000 * torch.arange(channels).view(
        1, channels, 1, 1
    )
    return base + offsets.float()


def window_origin(crop: torch.Tensor, width: int) -> tuple[int, int, int]:
    """(image, top, left) of a crop of coordinate_images; asserts it is one contiguous window."""
    image, within = divmod(int(crop[0, 0, 0]), 10000)
    top, left = divmod(within, width)
    channels, height, crop_width = crop.shape
    rows = torch.arange(top, top + height).view(height, 1) * width
    cols = torch.arange(left, left + crop_width).view(1, crop_width)
    expected = (rows + cols).float() + 10000 * image + 1000 * torch.arange(channels).view(-1, 1, 1)
    assert torch.equal(crop, expected), "crop is not a contiguous window of one source image"
    return image, top, left


def test_matches_robomimic_fixture_exactly(parity_case):
    recorded = parity_case("03_crop_randomizer_eval")
    spec, io = recorded.spec, recorded.io
    crop = obsnets.build_component("CropRandomizer", spec["kwargs"], kind="randomizer")
    assert list(crop.state_dict()) == spec["state_dict_keys"] == []
    crop.eval()
    assert torch.equal(crop.forward_in(io["in/x"]), io["out/forward_in/crops"])
    assert torch.equal(crop.forward_out(io["in/feats"]), io["out/forward_out/feats"])
    crop.train()
    assert torch.equal(crop.forward_out(io["in/feats"]), io["out/forward_out_train/feats"])


def test_eval_is_the_center_slice():
    images = torch.rand(2, 3, 33, 40)
    crop = CropRandomizer((3, 33, 40), crop_height=20, crop_width=25).eval()
    out = crop.forward_in(images)
    assert torch.equal(out, images[:, :, 6:26, 7:32])  # (33 - 20) // 2, (40 - 25) // 2
    assert torch.equal(crop.forward_in(images), out)  # deterministic
    feats = torch.randn(2, 7)
    assert torch.equal(crop.forward_out(feats), feats)


def test_train_crops_are_windows_inside_the_image_and_differ():
    height = width = 12
    images = coordinate_images(16, 2, height, width)
    crop = CropRandomizer((2, height, width), crop_height=5, crop_width=7, seed=0)
    out = crop.forward_in(images)
    assert out.shape == (16, 2, 5, 7)
    origins = set()
    for i in range(16):
        image, top, left = window_origin(out[i], width)
        assert image == i
        assert 0 <= top <= height - 5 and 0 <= left <= width - 7
        origins.add((top, left))
    assert len(origins) > 4  # 48 possible windows, 16 draws: they differ


def test_offsets_cover_every_valid_position_including_the_last():
    images = coordinate_images(1, 1, 10, 10).expand(300, -1, -1, -1)
    crop = CropRandomizer((1, 10, 10), crop_height=8, crop_width=9, seed=3)
    out = crop.forward_in(images)
    tops = {window_origin(c, 10)[1] for c in out}
    lefts = {window_origin(c, 10)[2] for c in out}
    assert tops == {0, 1, 2} and lefts == {0, 1}  # robomimic never chose 2 (or 1)


def test_crop_as_large_as_the_image_is_allowed():
    images = torch.rand(3, 3, 8, 8)
    crop = CropRandomizer((3, 8, 8), crop_height=8, crop_width=8)
    assert torch.equal(crop.forward_in(images), images)
    assert torch.equal(crop.eval().forward_in(images), images)


def test_num_crops_are_sample_major_and_forward_out_averages():
    images = coordinate_images(3, 1, 9, 9)
    crop = CropRandomizer((1, 9, 9), crop_height=4, crop_width=4, num_crops=5, seed=1)
    out = crop.forward_in(images)
    assert out.shape == (15, 1, 4, 4)
    assert [window_origin(c, 9)[0] for c in out] == [0] * 5 + [1] * 5 + [2] * 5
    feats = torch.randn(15, 6)
    want = torch.stack([feats[5 * b : 5 * b + 5].mean(dim=0) for b in range(3)])
    torch.testing.assert_close(crop.forward_out(feats), want)
    with pytest.raises(ShapeError, match=r"B \* 5"):
        crop.forward_out(torch.randn(7, 6))
    # Eval: one center crop per image, forward_out the identity.
    crop.eval()
    assert crop.forward_in(images).shape == (3, 1, 4, 4)
    assert torch.equal(crop.forward_out(feats[:3]), feats[:3])


def test_time_dimension_is_kept_and_each_frame_cropped():
    images = coordinate_images(6, 1, 10, 10).reshape(2, 3, 1, 10, 10)  # (B, T, C, H, W)
    crop = CropRandomizer((1, 10, 10), crop_height=6, crop_width=6, num_crops=2, seed=5)
    out = crop.forward_in(images)
    assert out.shape == (4, 3, 1, 6, 6)  # (B * N, T, C, h, w)
    for b in range(2):
        for n in range(2):
            for t in range(3):
                assert window_origin(out[b * 2 + n, t], 10)[0] == b * 3 + t
    assert crop.eval().forward_in(images).shape == (2, 3, 1, 6, 6)


@pytest.mark.parametrize("training", [True, False])
def test_pos_enc_channels_hold_source_coordinates(training):
    height, width = 10, 16
    images = coordinate_images(4, 1, height, width)
    crop = CropRandomizer((1, height, width), crop_height=6, crop_width=8, pos_enc=True, seed=2)
    crop.train(training)
    out = crop.forward_in(images)
    assert out.shape == (4, 3, 6, 8) and crop.output_shape_in() == [3, 6, 8]
    for i in range(4):
        _, top, left = window_origin(out[i, :1], width)
        if not training:
            assert (top, left) == (2, 4)
        rows = torch.arange(top, top + 6).float().view(6, 1).expand(6, 8) / height
        cols = torch.arange(left, left + 8).float().view(1, 8).expand(6, 8) / width
        assert torch.equal(out[i, 1], rows) and torch.equal(out[i, 2], cols)


@pytest.mark.parametrize("channels", [1, 2, 4, 6])
def test_eval_supports_any_channel_count(channels):
    images = torch.rand(2, channels, 12, 12)
    crop = CropRandomizer((channels, 12, 12), crop_height=10, crop_width=10, pos_enc=True).eval()
    out = crop.forward_in(images)
    assert out.shape == (2, channels + 2, 10, 10)
    assert torch.equal(out[:, :channels], images[:, :, 1:11, 1:11])


def test_seed_and_generator_make_crops_reproducible():
    images = torch.rand(8, 3, 16, 16)
    a = CropRandomizer((3, 16, 16), crop_height=9, crop_width=9, seed=7)
    b = CropRandomizer((3, 16, 16), crop_height=9, crop_width=9, seed=7)
    c = CropRandomizer((3, 16, 16), crop_height=9, crop_width=9, seed=8)
    first = a.forward_in(images)
    assert torch.equal(first, b.forward_in(images))
    assert not torch.equal(first, c.forward_in(images))
    assert not torch.equal(first, a.forward_in(images))  # the generator advances
    a.manual_seed(7)
    assert torch.equal(first, a.forward_in(images))
    generator = torch.Generator().manual_seed(7)
    assert torch.equal(first, c.forward_in(images, generator=generator))
    # Without a seed, torch's default generator decides.
    free = CropRandomizer((3, 16, 16), crop_height=9, crop_width=9)
    torch.manual_seed(11)
    again = free.forward_in(images)
    torch.manual_seed(11)
    assert torch.equal(free.forward_in(images), again)


@pytest.mark.parametrize("pos_enc", [False, True])
@pytest.mark.parametrize("num_crops", [1, 3])
def test_output_shapes_equal_real_shapes(pos_enc, num_crops):
    crop = CropRandomizer(
        (3, 20, 24), crop_height=11, crop_width=13, num_crops=num_crops, pos_enc=pos_enc
    )
    images = torch.rand(2, 3, 20, 24)
    for training in (True, False):
        crop.train(training)
        out = crop.forward_in(images)
        assert list(out.shape[1:]) == crop.output_shape_in([3, 20, 24]) == crop.output_shape()
        assert out.shape[0] == 2 * (num_crops if training else 1)
        feats = torch.randn(out.shape[0], 5)
        folded = crop.forward_out(feats)
        assert list(folded.shape) == [2, *crop.output_shape_out([5])]


def test_shape_errors_name_the_component_and_shapes():
    with pytest.raises(
        ShapeError, match=r"CropRandomizer: a 90x76 crop does not fit input shape \(3, 84, 84\)"
    ):
        CropRandomizer((3, 84, 84), crop_height=90)
    with pytest.raises(
        ShapeError, match=r"CropRandomizer expects input_shape \(C, H, W\), got \(84, 84\)"
    ):
        CropRandomizer((84, 84))
    crop = CropRandomizer((3, 84, 84))
    with pytest.raises(
        ShapeError,
        match=r"CropRandomizer expects input of shape \(B, 3, H, W\).*got \(2, 1, 84, 84\)",
    ):
        crop.forward_in(torch.rand(2, 1, 84, 84))
    with pytest.raises(ShapeError, match=r"got \(2, 3, 70, 84\)"):
        crop.eval().forward_in(torch.rand(2, 3, 70, 84))
    with pytest.raises(ShapeError, match="output_shape_out needs"):
        crop.output_shape_out()
    with pytest.raises(ConfigError, match=r"'num_crops' must be an int in \[1, 4096\]; got 0"):
        CropRandomizer((3, 84, 84), num_crops=0)


def test_crop_utilities():
    images = coordinate_images(2, 1, 8, 8)
    indices = torch.tensor([[[0, 0], [4, 3]], [[2, 5], [1, 1]]])  # (B, N, 2)
    crops = crop_image_from_indices(images, indices, 4, 3)
    assert crops.shape == (2, 2, 1, 4, 3)
    assert torch.equal(crops[0, 1], images[0, :, 4:8, 3:6])
    assert torch.equal(crops[1, 0], images[1, :, 2:6, 5:8])
    single = crop_image_from_indices(images, indices[:, 0], 4, 3)
    assert torch.equal(single, crops[:, 0])
    with pytest.raises(ShapeError, match="corners must lie in"):
        crop_image_from_indices(images, torch.tensor([[5, 0], [0, 0]]), 4, 3)
    crops, corners = sample_random_image_crops(
        images, 3, 3, 4, generator=torch.Generator().manual_seed(0)
    )
    assert crops.shape == (2, 4, 1, 3, 3) and corners.shape == (2, 4, 2)
    assert torch.equal(crops, crop_image_from_indices(images, corners, 3, 3))
