"""``obsnets show-randomizer``: a PNG grid of originals and randomized samples, clear errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from obsnets.cli.show_randomizer import PADDING, add_parser, grid_size

HEIGHT, WIDTH = 20, 24


def run_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="obsnets")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["show-randomizer", *argv])
    return args.run(args)


@pytest.fixture
def image_file(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def read_png(path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture)


def tile(grid: np.ndarray, row: int, column: int, tile_hw, size_hw) -> np.ndarray:
    """The pixels of one tile, centered in its cell."""
    top = PADDING + row * (tile_hw[0] + PADDING) + (tile_hw[0] - size_hw[0]) // 2
    left = PADDING + column * (tile_hw[1] + PADDING) + (tile_hw[1] - size_hw[1]) // 2
    return grid[top : top + size_hw[0], left : left + size_hw[1]]


def window_of(source: np.ndarray, crop: np.ndarray) -> tuple[int, int] | None:
    h, w = crop.shape[:2]
    for top in range(source.shape[0] - h + 1):
        for left in range(source.shape[1] - w + 1):
            if np.array_equal(source[top : top + h, left : left + w], crop):
                return top, left
    return None


def test_crop_grid_shows_originals_and_windows(image_file, tmp_path):
    path, pixels = image_file
    out = tmp_path / "grid" / "crops.png"
    kwargs = {"crop_height": 12, "crop_width": 16, "num_crops": 2, "pos_enc": True}
    code = run_command(
        "CropRandomizer",
        "--image",
        str(path),
        "--kwargs",
        json.dumps(kwargs),
        "--samples",
        "3",
        "--seed",
        "0",
        "--out",
        str(out),
    )
    assert code == 0
    grid = read_png(out)
    assert (grid.shape[1], grid.shape[0]) == grid_size((HEIGHT, WIDTH), (12, 16), 3, 2)
    corners = set()
    for row in range(3):
        assert np.array_equal(tile(grid, row, 0, (HEIGHT, WIDTH), (HEIGHT, WIDTH)), pixels)
        for column in (1, 2):
            corner = window_of(pixels, tile(grid, row, column, (HEIGHT, WIDTH), (12, 16)))
            assert corner is not None  # every randomized tile is a window of the image
            corners.add(corner)
    assert len(corners) > 1  # and they differ


def test_eval_mode_shows_the_center_crop(image_file, tmp_path):
    path, pixels = image_file
    out = tmp_path / "eval.png"
    code = run_command(
        "CropRandomizer",
        "--image",
        str(path),
        "--kwargs",
        '{"crop_height": 10, "crop_width": 10}',
        "--samples",
        "1",
        "--mode",
        "eval",
        "--out",
        str(out),
    )
    assert code == 0
    grid = read_png(out)
    assert np.array_equal(tile(grid, 0, 1, (HEIGHT, WIDTH), (10, 10)), pixels[5:15, 7:17])


@pytest.mark.parametrize("name", ["ColorRandomizer", "GaussianNoiseRandomizer"])
def test_randomized_tiles_differ_from_the_original(name, image_file, tmp_path):
    path, pixels = image_file
    out = tmp_path / "grid.png"
    assert (
        run_command(
            name,
            "--image",
            str(path),
            "--samples",
            "2",
            "--kwargs",
            '{"num_samples": 2}',
            "--out",
            str(out),
        )
        == 0
    )
    grid = read_png(out)
    assert (grid.shape[1], grid.shape[0]) == grid_size((HEIGHT, WIDTH), (HEIGHT, WIDTH), 2, 2)
    tiles = [tile(grid, r, c, (HEIGHT, WIDTH), (HEIGHT, WIDTH)) for r in range(2) for c in range(3)]
    assert np.array_equal(tiles[0], pixels) and np.array_equal(tiles[3], pixels)
    randomized = [t for i, t in enumerate(tiles) if i % 3]
    assert all(not np.array_equal(t, pixels) for t in randomized)
    assert not np.array_equal(randomized[0], randomized[1])


def test_grayscale_image(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((8, 9), 128, dtype=np.uint8)).save(path)
    out = tmp_path / "gray_grid.png"
    assert run_command("GaussianNoiseRandomizer", "--image", str(path), "--out", str(out)) == 0
    grid = read_png(out)
    assert grid.ndim == 2 and (grid.shape[1], grid.shape[0]) == grid_size((8, 9), (8, 9), 4, 1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["CropRandomizer", "--image", "{missing}"], "does not exist"),
        (
            ["CropRandomizer", "--image", "{image}", "--kwargs", "{bad"],
            "--kwargs is not valid JSON",
        ),
        (["CropRandomizer", "--image", "{image}", "--kwargs", "[1]"], "must be a JSON object"),
        (["CropRandomizr", "--image", "{image}"], "Did you mean 'CropRandomizer'"),
        (["CropRandomizer", "--image", "{image}", "--kwargs", '{"crop_heigth": 3}'], "crop_heigth"),
        (["CropRandomizer", "--image", "{image}"], "76x76 crop does not fit"),
        (
            ["CropRandomizer", "--image", "{image}", "--kwargs", '{"input_shape": [3, 5, 5]}'],
            "input_shape",
        ),
        (["VisualCore", "--image", "{image}"], "'VisualCore' is an encoder_core, not a randomizer"),
        (["CropRandomizer", "--image", "{not_image}"], "Cannot read image"),
    ],
)
def test_errors_exit_with_status_2_and_a_message(argv, message, image_file, tmp_path, capsys):
    path, _ = image_file
    not_image = tmp_path / "text.png"
    not_image.write_text("not a png")
    values = {"missing": tmp_path / "nope.png", "image": path, "not_image": not_image}
    argv = [str(values[a[1:-1]]) if a[1:-1] in values else a for a in argv]
    out = tmp_path / "never.png"
    assert run_command(*argv, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("obsnets show-randomizer: error:") and message in err
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--samples", "0", "--samples: expected an integer from 1 to 64, got 0"),
        ("--samples", "100000000", "--samples: expected an integer from 1 to 64"),
        ("--seed", "-1", "--seed: expected an integer from 0 to 4,294,967,295, got -1"),
        ("--seed", "2" * 30, "--seed: expected an integer from 0 to 4,294,967,295"),
    ],
)
def test_numbers_out_of_range_are_usage_errors(
    option, value, message, image_file, tmp_path, capsys
):
    path, _ = image_file
    out = tmp_path / "never.png"
    with pytest.raises(SystemExit) as exited:
        run_command("CropRandomizer", "--image", str(path), option, value, "--out", str(out))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_a_batch_too_large_to_allocate_is_refused_before_building(tmp_path, capsys):
    path = tmp_path / "large.png"
    Image.fromarray(np.zeros((1500, 1500, 3), dtype=np.uint8)).save(path)
    out = tmp_path / "never.png"
    argv = ["CropRandomizer", "--image", str(path), "--samples", "20", "--out", str(out)]
    assert run_command(*argv) == 2
    err = capsys.readouterr().err
    assert "135,000,000 values" in err and "use fewer --samples" in err
    assert not out.exists()


def test_kwargs_nested_too_deeply_are_an_error(image_file, tmp_path, capsys):
    path, _ = image_file
    nested = "[" * 100_000 + "]" * 100_000
    out = tmp_path / "never.png"
    argv = ["CropRandomizer", "--image", str(path), "--kwargs", nested, "--out", str(out)]
    assert run_command(*argv) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_runs_in_a_fresh_interpreter_without_importing_plugins_up_front(image_file, tmp_path):
    path, _ = image_file
    out = tmp_path / "fresh.png"
    code = (
        "import argparse, sys\n"
        "from obsnets.cli.show_randomizer import add_parser, run\n"
        "assert not any(m.startswith('obsnets_') for m in sys.modules), 'core imported a plugin'\n"
        "parser = argparse.ArgumentParser()\n"
        "add_parser(parser.add_subparsers())\n"
        "sys.exit(run(parser.parse_args(sys.argv[1:])))\n"
    )
    argv = ["show-randomizer", "ColorRandomizer", "--image", str(path), "--out", str(out)]
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and read_png(out).shape[1::-1] == grid_size(
        (HEIGHT, WIDTH), (HEIGHT, WIDTH), 4, 1
    )
