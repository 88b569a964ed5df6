"""Vectorised image-crop utilities (robomimic's ``obs_utils`` crop functions, fixed).

All functions take channel-first images with any leading dimensions, ``(..., C, H, W)``, and
never loop over the batch in Python: crops are gathered with one index grid.
"""

from __future__ import annotations

import math

import torch

from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets_randomizers._seeded import check_choice

__all__ = [
    "CENTER_ROUNDINGS",
    "CROP_SAMPLINGS",
    "add_position_channels",
    "center_crop",
    "center_offset",
    "crop_image_from_indices",
    "gather_crops",
    "sample_random_image_crops",
]

CROP_SAMPLINGS = ("per_image", "shared", "robomimic")
"""How random crop corners are drawn (see :func:`sample_random_image_crops`)."""

CENTER_ROUNDINGS = ("floor", "round")
"""How the center crop's corner is rounded (see :func:`center_offset`)."""


def _check_crop(images: torch.Tensor, crop_height: int, crop_width: int, what: str) -> None:
    if images.dim() < 3:
        raise ShapeError(f"{what} expects images (..., C, H, W), got {format_shape(images.shape)}.")
    height, width = images.shape[-2:]
    if not (1 <= crop_height <= height and 1 <= crop_width <= width):
        raise ShapeError(
            f"{what}: a {crop_height}x{crop_width} crop does not fit images of shape "
            f"{format_shape(images.shape)} (H x W = {height}x{width})."
        )


def add_position_channels(images: torch.Tensor) -> torch.Tensor:
    """Append two channels holding each pixel's source location, ``row / H`` and ``col / W``.

    Args:
        images: ``(..., C, H, W)`` floating-point images.

    Returns:
        ``(..., C + 2, H, W)``: the image channels, then the row channel, then the column
        channel (values in ``[0, 1)``), so a crop carries where it came from.
    """
    if not images.is_floating_point():
        raise ConfigError(
            f"Position channels (pos_enc) need floating-point images, got dtype {images.dtype}."
        )
    height, width = images.shape[-2:]
    rows = torch.arange(height, device=images.device, dtype=torch.float32) / height
    cols = torch.arange(width, device=images.device, dtype=torch.float32) / width
    grid = torch.stack(torch.meshgrid(rows, cols, indexing="ij")).to(images.dtype)  # (2, H, W)
    grid = grid.expand(*images.shape[:-3], 2, height, width)
    return torch.cat((images, grid), dim=-3)


def center_offset(size: int, crop: int, rounding: str = "floor") -> int:
    """Offset of a centered window of length ``crop`` in ``size``.

    Args:
        size: Image height or width.
        crop: Window height or width (at most ``size``).
        rounding: ``"floor"``: ``(size - crop) // 2``, as robomimic's ``center_crop``;
            ``"round"``: ``int(round((size - crop) / 2))`` (Python's round half to even), as
            torchvision's ``CenterCrop``. They differ by one when ``size - crop`` is 3 mod 4.
    """
    check_choice("center_offset", "rounding", rounding, CENTER_ROUNDINGS)
    margin = size - crop
    return round(margin / 2) if rounding == "round" else margin // 2


def center_crop(
    images: torch.Tensor, crop_height: int, crop_width: int, rounding: str = "floor"
) -> torch.Tensor:
    """The centered ``crop_height x crop_width`` window of each image.

    The top-left corner is ``((H - crop_height) // 2, (W - crop_width) // 2)``, as
    robomimic's, or torchvision's rounded center with ``rounding="round"`` (see
    :func:`center_offset`). Any number of channels is supported (robomimic's required 1 or 3).

    Args:
        images: ``(..., C, H, W)``.
        crop_height: Height of the window.
        crop_width: Width of the window.
        rounding: ``"floor"`` (robomimic) or ``"round"`` (torchvision).

    Returns:
        ``(..., C, crop_height, crop_width)`` (a view of ``images``).
    """
    _check_crop(images, crop_height, crop_width, "center_crop")
    top = center_offset(images.shape[-2], crop_height, rounding)
    left = center_offset(images.shape[-1], crop_width, rounding)
    return images[..., top : top + crop_height, left : left + crop_width]


def gather_crops(
    images: torch.Tensor, top: torch.Tensor, left: torch.Tensor, crop_height: int, crop_width: int
) -> torch.Tensor:
    """Cut ``N`` windows out of each image, without checking the offsets.

    Args:
        images: ``(M, C, H, W)``.
        top: ``(M, N)`` integer row offsets, in ``[0, H - crop_height]``.
        left: ``(M, N)`` integer column offsets, in ``[0, W - crop_width]``.
        crop_height: Height of the windows.
        crop_width: Width of the windows.

    Returns:
        ``(M, N, C, crop_height, crop_width)``.
    """
    batch, channels, height, width = images.shape
    count = top.shape[1]
    rows = top[..., None] + torch.arange(crop_height, device=images.device)  # (M, N, h)
    cols = left[..., None] + torch.arange(crop_width, device=images.device)  # (M, N, w)
    flat = rows[..., :, None] * width + cols[..., None, :]  # (M, N, h, w) pixel indices
    flat = flat.reshape(batch, 1, -1).expand(batch, channels, -1)  # (M, C, N*h*w)
    crops = images.reshape(batch, channels, height * width).gather(2, flat)  # (M, C, N*h*w)
    crops = crops.reshape(batch, channels, count, crop_height, crop_width)
    return crops.transpose(1, 2)  # (M, N, C, h, w)


def crop_image_from_indices(
    images: torch.Tensor, crop_indices: torch.Tensor, crop_height: int, crop_width: int
) -> torch.Tensor:
    """Crop windows whose top-left corners are given.

    Args:
        images: ``(..., C, H, W)``.
        crop_indices: ``(..., N, 2)`` or ``(..., 2)`` integer ``(row, col)`` corners, with the
            same leading dimensions as ``images``; each must lie in
            ``[0, H - crop_height] x [0, W - crop_width]``.
        crop_height: Height of the windows.
        crop_width: Width of the windows.

    Returns:
        ``(..., N, C, crop_height, crop_width)``, or ``(..., C, crop_height, crop_width)``
        when ``crop_indices`` had no ``N`` dimension.

    Differs from robomimic: a corner may be the last valid position (robomimic's bound was
    off by one).
    """
    _check_crop(images, crop_height, crop_width, "crop_image_from_indices")
    leading = images.shape[:-3]
    single = crop_indices.dim() == len(leading) + 1
    indices = crop_indices.unsqueeze(-2) if single else crop_indices
    if indices.shape[:-2] != leading or indices.shape[-1] != 2:
        raise ShapeError(
            f"crop_image_from_indices: crop_indices must be (..., N, 2) or (..., 2) with the "
            f"images' leading dims {format_shape(leading)}; got {format_shape(crop_indices.shape)}."
        )
    height, width = images.shape[-2:]
    low_ok = bool((indices >= 0).all())
    high_ok = bool((indices[..., 0] <= height - crop_height).all()) and bool(
        (indices[..., 1] <= width - crop_width).all()
    )
    if not (low_ok and high_ok):
        raise ShapeError(
            f"crop_image_from_indices: corners must lie in [0, {height - crop_height}] x "
            f"[0, {width - crop_width}] for {crop_height}x{crop_width} crops of "
            f"{height}x{width} images."
        )
    batch = math.prod(leading)
    flat_indices = indices.reshape(batch, -1, 2).long()
    crops = gather_crops(
        images.reshape(batch, *images.shape[-3:]),
        flat_indices[..., 0],
        flat_indices[..., 1],
        crop_height,
        crop_width,
    )
    crops = crops.reshape(*leading, *crops.shape[1:])
    return crops.squeeze(-4) if single else crops


def _draw_device(generator: torch.Generator | None) -> torch.device:
    # robomimic and torchvision draw crop corners on the CPU (torch's global CPU generator);
    # drawing there too keeps a seeded run's stream identical whatever device the images use.
    return generator.device if generator is not None else torch.device("cpu")


def _per_image_corners(
    count: int,
    num_crops: int,
    max_top: int,
    max_left: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    size = (count, num_crops)
    top = torch.randint(0, max_top + 1, size, generator=generator, device=device)
    left = torch.randint(0, max_left + 1, size, generator=generator, device=device)
    return top, left


def _robomimic_corners(
    count: int,
    num_crops: int,
    max_top: int,
    max_left: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    # robomimic's formula, draw for draw: floor(U[0, 1) * (H - h)) in the default float dtype,
    # rows first, so the last valid corner H - h is never drawn.
    draw = _draw_device(generator)
    top = (max_top * torch.rand(count, num_crops, generator=generator, device=draw)).long()
    left = (max_left * torch.rand(count, num_crops, generator=generator, device=draw)).long()
    return top.to(device), left.to(device)


def _shared_corners(
    num_crops: int, max_top: int, max_left: int, generator: torch.Generator | None
) -> list[tuple[int, int]]:
    # torchvision's RandomCrop.get_params: no draw when the crop is the whole image, else
    # randint over every valid row, then every valid column.
    if max_top == 0 and max_left == 0:
        return [(0, 0)] * num_crops
    draw = _draw_device(generator)
    top = torch.randint(0, max_top + 1, (num_crops,), generator=generator, device=draw)
    left = torch.randint(0, max_left + 1, (num_crops,), generator=generator, device=draw)
    return list(zip(top.tolist(), left.tolist()))


def sample_random_image_crops(
    images: torch.Tensor,
    crop_height: int,
    crop_width: int,
    num_crops: int,
    pos_enc: bool = False,
    generator: torch.Generator | None = None,
    sampling: str = "per_image",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num_crops`` uniformly placed windows per image.

    ``sampling`` chooses how the top-left corners are drawn (row offsets first, then column
    offsets):

    * ``"per_image"`` (default): every image its own corners, uniform over every valid
      position ``[0, H - crop_height] x [0, W - crop_width]``, drawn on the images' device.
    * ``"shared"``: one corner per crop for the whole batch, as torchvision's ``RandomCrop``
      on a batch tensor (same draws as its ``get_params`` for ``num_crops=1``; nothing is
      drawn when the crop is the whole image); drawn on the CPU (or ``generator``'s device).
    * ``"robomimic"``: every image its own corners, drawn as robomimic draws them,
      ``floor(U[0, 1) * (H - crop_height))`` on the CPU (or ``generator``'s device), so
      the last valid corner is never chosen and a seeded run reproduces robomimic's crops.

    Args:
        images: ``(..., C, H, W)``.
        crop_height: Height of the windows.
        crop_width: Width of the windows.
        num_crops: ``N``, windows per image.
        pos_enc: Append the source-location channels (:func:`add_position_channels`) first.
        generator: Generator to draw from (``None``: torch's default for the draw device).
        sampling: ``"per_image"``, ``"shared"`` or ``"robomimic"`` (see above).

    Returns:
        ``(crops, crop_indices)``: ``(..., N, C', crop_height, crop_width)`` with
        ``C' = C + 2 * pos_enc``, and the ``(..., N, 2)`` ``(row, col)`` corners.
    """
    check_choice("sample_random_image_crops", "sampling", sampling, CROP_SAMPLINGS)
    _check_crop(images, crop_height, crop_width, "sample_random_image_crops")
    source = add_position_channels(images) if pos_enc else images
    leading = source.shape[:-3]
    max_top, max_left = source.shape[-2] - crop_height, source.shape[-1] - crop_width
    device = source.device
    if sampling == "shared":
        corners = _shared_corners(num_crops, max_top, max_left, generator)
        windows = [
            source[..., top : top + crop_height, left : left + crop_width] for top, left in corners
        ]
        indices = torch.tensor(corners, device=device).expand(*leading, num_crops, 2)
        return torch.stack(windows, dim=-4), indices
    batch = math.prod(leading)
    draw_corners = _robomimic_corners if sampling == "robomimic" else _per_image_corners
    top, left = draw_corners(batch, num_crops, max_top, max_left, generator, device)
    crops = gather_crops(
        source.reshape(batch, *source.shape[-3:]), top, left, crop_height, crop_width
    )
    indices = torch.stack((top, left), dim=-1).reshape(*leading, num_crops, 2)
    return crops.reshape(*leading, *crops.shape[1:]), indices
