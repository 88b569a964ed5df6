"""``RandomShiftsRandomizer``: the conformance suite, and the shifts checked pixel by pixel."""

import pytest
import torch
from obsnets import ConfigError, ShapeError, build_component
from obsnets.testing import ConformanceCase

from obsnets_shifts import shift_images

NAME = "RandomShiftsRandomizer"

CONFORMANCE_CASES = [
    ConformanceCase(
        NAME,
        kind="randomizer",
        provider="obsnets-shifts",
        kwargs={"input_shape": [3, 20, 18], "pad": 2, "num_samples": 3},
        input_shapes=[(3, 20, 18)],
        id="RandomShifts-3-copies",
    ),
    ConformanceCase(
        NAME,
        kind="randomizer",
        provider="obsnets-shifts",
        kwargs={"input_shape": [1, 12, 12], "padding_mode": "constant"},
        input_shapes=[(1, 12, 12)],
        id="RandomShifts-zero-padding",
    ),
]


def test_conformance(obsnets_conformance):
    obsnets_conformance.run()


def test_offset_pad_pad_is_the_identity_and_zero_offset_shifts_down_right():
    image = torch.arange(12.0).reshape(1, 1, 3, 4)
    centre = shift_images(image, torch.tensor([[1, 1]]), pad=1, mode="replicate")
    assert torch.equal(centre, image)
    moved = shift_images(image, torch.tensor([[0, 0]]), pad=1, mode="replicate")
    # Moved one pixel down and right; the new top row and left column repeat the border.
    expected = torch.tensor(
        [[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 2.0], [4.0, 4.0, 5.0, 6.0]]
    ).reshape(1, 1, 3, 4)
    assert torch.equal(moved, expected)
    up_left = shift_images(image, torch.tensor([[2, 2]]), pad=1, mode="constant")
    assert torch.equal(up_left[0, 0, :2, :3], image[0, 0, 1:, 1:])
    assert float(up_left[0, 0, 2].abs().sum() + up_left[0, 0, :, 3].abs().sum()) == 0.0


def test_each_sample_gets_its_own_offset_and_copies_are_sample_major():
    images = torch.zeros(2, 1, 9, 9)
    images[0, 0, 4, 4] = 1.0  # one bright pixel in the middle of image 0
    images[1, 0, 4, 4] = 2.0  # and of image 1, twice as bright
    randomizer = build_component(NAME, {"input_shape": [1, 9, 9], "pad": 2, "num_samples": 50})
    torch.manual_seed(0)
    shifted = randomizer.train().forward_in(images)
    assert shifted.shape == (100, 1, 9, 9)
    assert torch.equal(shifted[:50].amax(dim=(1, 2, 3)), torch.ones(50))  # image 0's copies
    assert torch.equal(shifted[50:].amax(dim=(1, 2, 3)), torch.full((50,), 2.0))
    rows, cols = (shifted[:, 0] > 0).nonzero()[:, 1:].T
    moves = {(int(r) - 4, int(c) - 4) for r, c in zip(rows, cols, strict=True)}
    assert all(abs(dr) <= 2 and abs(dc) <= 2 for dr, dc in moves)
    assert len(moves) > 12  # the copies really are shifted independently


def test_every_offset_from_minus_pad_to_plus_pad_is_drawn():
    # One row with a marker in the middle: replicate padding repeats the row vertically and
    # the zeros horizontally, so the marker's column tells the horizontal shift.
    randomizer = build_component(
        NAME, {"input_shape": [1, 1, 7], "pad": 3, "num_samples": 700}
    ).train()
    row = torch.zeros(1, 1, 1, 7)
    row[0, 0, 0, 3] = 1.0
    torch.manual_seed(0)
    shifted = randomizer.forward_in(row)[:, 0, 0]  # (700, 7)
    assert torch.equal(shifted.sum(dim=-1), torch.ones(700))  # a shift of at most 3 keeps it
    columns = sorted(set(shifted.argmax(dim=-1).tolist()))
    assert columns == [0, 1, 2, 3, 4, 5, 6]  # shifts -3 .. +3, both ends included


def test_forward_out_averages_the_copies_and_eval_is_the_identity():
    randomizer = build_component(NAME, {"input_shape": [3, 8, 8], "num_samples": 2})
    features = torch.arange(8.0).reshape(4, 2)  # network outputs for 2 images x 2 copies
    torch.testing.assert_close(
        randomizer.train().forward_out(features), torch.tensor([[1.0, 2.0], [5.0, 6.0]])
    )
    images = torch.rand(3, 3, 8, 8)
    randomizer.eval()
    assert torch.equal(randomizer.forward_in(images), images)
    assert torch.equal(randomizer.forward_out(features), features)


def test_bad_settings_and_inputs_are_named():
    with pytest.raises(ConfigError, match="padding_mode must be one of"):
        build_component(NAME, {"input_shape": [3, 8, 8], "padding_mode": "mirror"})
    with pytest.raises(ConfigError, match="pad must be a non-negative int"):
        build_component(NAME, {"input_shape": [3, 8, 8], "pad": -1})
    with pytest.raises(ShapeError, match=r"shifts images \(C, H, W\); got input_shape \(8, 8\)"):
        build_component(NAME, {"input_shape": [8, 8]})
    randomizer = build_component(NAME, {"input_shape": [3, 8, 8]}).train()
    with pytest.raises(ShapeError, match=r"\(B, 3, 8, 8\); got \(2, 3, 9, 8\)"):
        randomizer.forward_in(torch.zeros(2, 3, 9, 8))
