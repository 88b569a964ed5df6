"""``obsnets show-randomizer NAME --image FILE --out GRID``: a picture of what a randomizer does.

Builds any registered randomizer by name (``input_shape`` taken from the image), runs
``forward_in`` on copies of the image and writes a PNG grid: one row per sample, the
original on the left and the randomized outputs (``num_crops`` / ``num_samples`` of them)
to its right. Needs Pillow (``pip install pillow``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.bases import Randomizer
from obsnets.building import build_component
from obsnets.cli.arguments import bounded_int, check_writable_file
from obsnets.cli.trust_option import add_trust_code_argument
from obsnets.errors import ConfigError, ObsnetsError, ShapeError, format_shape

__all__ = [
    "MAX_BATCH_VALUES",
    "MAX_SAMPLES",
    "PADDING",
    "add_parser",
    "grid_size",
    "render_grid",
    "run",
]

COMMAND = "show-randomizer"
MAX_SAMPLES = 64
"""Rows of the grid; a picture, not a dataset."""
MAX_BATCH_VALUES = 2**27
"""Largest input batch (samples x C x H x W values, 512 MiB as float32) run through forward_in."""
PADDING = 4
"""Pixels of background between tiles and around the grid."""
BACKGROUND = 255


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``show-randomizer`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        COMMAND,
        help=summary,
        description="Build a randomizer by name (input_shape is taken from the image), apply "
        "forward_in to copies of the image and write a PNG grid: one row per sample, the "
        "original first, then the randomizer's outputs. Tiles show the first 1 or 3 output "
        "channels (extra channels such as CropRandomizer's pos_enc are not drawn).",
    )
    parser.add_argument("name", help="randomizer name, e.g. CropRandomizer")
    parser.add_argument("--image", required=True, type=Path, help="input image (PNG, JPEG, ...)")
    parser.add_argument(
        "--kwargs",
        default="{}",
        help="randomizer keyword arguments as a JSON object, e.g. '{\"crop_height\": 64}'",
    )
    parser.add_argument(
        "--samples",
        type=bounded_int(1, MAX_SAMPLES),
        default=4,
        help="rows of the grid (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=bounded_int(0, 2**32 - 1), default=None, help="seed torch (and random) first"
    )
    parser.add_argument(
        "--mode",
        choices=("train", "eval"),
        default="train",
        help="module mode to run forward_in in (default train: the random path)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output PNG file")
    add_trust_code_argument(parser)
    parser.set_defaults(run=run)


def _tile(image_hw: tuple[int, int], output_hw: tuple[int, int]) -> tuple[int, int]:
    return max(image_hw[0], output_hw[0]), max(image_hw[1], output_hw[1])


def grid_size(
    image_hw: tuple[int, int], output_hw: tuple[int, int], rows: int, per_row: int
) -> tuple[int, int]:
    """``(width, height)`` in pixels of the grid :func:`render_grid` draws.

    Args:
        image_hw: ``(H, W)`` of the original image.
        output_hw: ``(h, w)`` of one randomized output.
        rows: Number of rows (samples).
        per_row: Randomized outputs per row (the original adds one more column).
    """
    tile_h, tile_w = _tile(image_hw, output_hw)
    columns = per_row + 1
    return columns * tile_w + (columns + 1) * PADDING, rows * tile_h + (rows + 1) * PADDING


def render_grid(image: torch.Tensor, outputs: torch.Tensor, rows: int) -> torch.Tensor:
    """Lay out the original and the outputs as one ``uint8`` picture.

    Each tile is centered in a cell as large as the larger of the image and an output.

    Args:
        image: ``(C, H, W)`` original, float in ``[0, 1]``, ``C`` 1 or 3.
        outputs: ``(rows * N, C', h, w)`` randomized outputs, sample-major; the first ``C``
            channels are drawn (the first one, in gray, if ``C' < C``).
        rows: Number of samples.

    Returns:
        ``(C, height, width)`` uint8 with ``(width, height) = grid_size(...)``.
    """
    channels, height, width = image.shape
    per_row = outputs.shape[0] // rows
    shown = outputs[:, :channels] if outputs.shape[1] >= channels else outputs[:, :1]
    shown = shown.expand(-1, channels, -1, -1)  # gray when only one channel is drawn
    output_hw = (int(outputs.shape[-2]), int(outputs.shape[-1]))
    tile_h, tile_w = _tile((height, width), output_hw)
    grid_w, grid_h = grid_size((height, width), output_hw, rows, per_row)
    canvas = torch.full((channels, grid_h, grid_w), BACKGROUND, dtype=torch.uint8)

    def paste(tile: torch.Tensor, row: int, column: int) -> None:
        top = PADDING + row * (tile_h + PADDING) + (tile_h - tile.shape[-2]) // 2
        left = PADDING + column * (tile_w + PADDING) + (tile_w - tile.shape[-1]) // 2
        pixels = (tile.float().clamp(0, 1) * 255).round().to(torch.uint8)
        canvas[:, top : top + tile.shape[-2], left : left + tile.shape[-1]] = pixels

    for row in range(rows):
        paste(image, row, 0)
        for n in range(per_row):
            paste(shown[row * per_row + n], row, n + 1)
    return canvas


def _load_image(path: Path) -> torch.Tensor:
    from PIL import Image

    if not path.is_file():
        raise ConfigError(f"Image file {str(path)!r} does not exist.")
    try:
        with Image.open(path) as opened:
            picture = opened.convert("L" if opened.mode in ("1", "L", "I", "F") else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ConfigError(f"Cannot read image {str(path)!r}: {exc}") from exc
    pixels = torch.from_numpy(np.asarray(picture).copy())  # (H, W) or (H, W, 3) uint8
    pixels = pixels.unsqueeze(-1) if pixels.dim() == 2 else pixels
    return pixels.permute(2, 0, 1).float() / 255.0  # (C, H, W) in [0, 1]


def _parse_kwargs(text: str) -> dict[str, Any]:
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--kwargs is not valid JSON ({exc}): {text!r}") from exc
    except RecursionError as exc:
        raise ConfigError("--kwargs is nested too deeply to be keyword arguments.") from exc
    if not isinstance(kwargs, dict):
        raise ConfigError(f"--kwargs must be a JSON object, got {text!r}.")
    return kwargs


def _show(args: argparse.Namespace) -> str:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ConfigError("show-randomizer needs Pillow: pip install pillow") from exc

    check_writable_file(args.out, "--out")
    kwargs = _parse_kwargs(args.kwargs)
    image = _load_image(args.image)
    shape = list(image.shape)
    if args.samples * image.numel() > MAX_BATCH_VALUES:
        raise ConfigError(
            f"{args.samples} copies of a {format_shape(shape)} image are "
            f"{args.samples * image.numel():,} values, more than {MAX_BATCH_VALUES:,}: "
            f"use fewer --samples or a smaller image."
        )
    given = kwargs.get("input_shape", shape)
    if not isinstance(given, (list, tuple)) or list(given) != shape:
        raise ConfigError(
            f"--kwargs sets input_shape {kwargs['input_shape']!r}, but the image is "
            f"{format_shape(shape)}; leave input_shape out (it is taken from the image)."
        )
    kwargs["input_shape"] = shape
    randomizer = build_component(args.name, kwargs, kind="randomizer")
    if not isinstance(randomizer, Randomizer):
        raise ConfigError(f"{args.name} is registered as a randomizer but is not a Randomizer.")
    randomizer.train(args.mode == "train")
    if args.seed is not None:
        torch.manual_seed(args.seed)
        random.seed(args.seed)
    batch = image.unsqueeze(0).expand(args.samples, *shape).contiguous()  # (S, C, H, W)
    with torch.no_grad():
        outputs = randomizer.forward_in(batch)
    if (
        not isinstance(outputs, torch.Tensor)
        or outputs.dim() != 4
        or outputs.shape[0] % args.samples != 0
    ):
        got = format_shape(outputs.shape) if isinstance(outputs, torch.Tensor) else repr(outputs)
        raise ShapeError(
            f"{args.name}.forward_in returned {got} for a batch of {args.samples} images; "
            f"show-randomizer draws only image batches (B * N, C, H, W)."
        )
    canvas = render_grid(image, outputs, args.samples)
    array = canvas[0] if canvas.shape[0] == 1 else canvas.permute(1, 2, 0)  # (H, W[, 3])
    picture = Image.fromarray(array.contiguous().numpy())
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        picture.save(args.out, format="PNG")
    except OSError as exc:
        raise ConfigError(f"Cannot write {str(args.out)!r}: {exc}") from exc
    per_row = outputs.shape[0] // args.samples
    return (
        f"wrote {args.out} ({picture.width}x{picture.height}): {args.samples} row(s) of the "
        f"original and {per_row} {args.mode}-mode output(s) of {type(randomizer).__name__}"
    )


def run(args: argparse.Namespace) -> int:
    """Write the grid; errors become a message on stderr and exit status 2."""
    try:
        message = _show(args)
    except ObsnetsError as exc:
        print(f"obsnets {COMMAND}: error: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0
