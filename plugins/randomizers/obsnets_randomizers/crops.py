"""Vectorised image-crop utilities (robomimic's ``obs_utils`` crop functions, fixed).

All functions take channel-first images with any leading dimensions, ``(..., C, H, W)``, and
never loop over the batch in Python: crops are gathered with one index grid.
"""

from __future__ import annotations

import math

import torch

from obsnets.errors import ConfigError, ShapeError, format_shape

__all__ = [
    "add_position_channels",
    "center_crop",
    "crop_image_from_indices",
    "gather_crops",
    "sample_random_image_crops",
]


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


def center_crop(images: torch.Tensor, crop_height: int, crop_width: int) -> torch.Tensor:
    """The centered ``crop_height x crop_width`` window of each image.

    The top-left corner is ``((H - crop_height) // 2, (W - crop_width) // 2)``, as
    robomimic's. Any number of channels is supported (robomimic's required 1 or 3).

    Args:
        images: ``(..., C, H, W)``.
        crop_height: Height of the window.
        crop_width: Width of the window.

    Returns:
        ``(..., C, crop_height, crop_width)`` (a view of ``images``).
    """
    _check_crop(images, crop_height, crop_width, "center_crop")
    top = (images.shape[-2] - crop_height) // 2
    left = (images.shape[-1] - crop_width) // 2
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


def sample_random_image_crops(
    images: torch.Tensor,
    crop_height: int,
    crop_width: int,
    num_crops: int,
    pos_enc: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num_crops`` uniformly placed windows per image.

    Row offsets are drawn first, then column offsets, each uniform over every valid position
    ``[0, H - crop_height]`` (robomimic never chose the last one).

    Args:
        images: ``(..., C, H, W)``.
        crop_height: Height of the windows.
        crop_width: Width of the windows.
        num_crops: ``N``, windows per image.
        pos_enc: Append the source-location channels (:func:`add_position_channels`) first.
        generator: Generator to draw from (``None``: torch's default for the device).

    Returns:
        ``(crops, crop_indices)``: ``(..., N, C', crop_height, crop_width)`` with
        ``C' = C + 2 * pos_enc``, and the ``(..., N, 2)`` ``(row, col)`` corners.
    """
    _check_crop(images, crop_height, crop_width, "sample_random_image_crops")
    source = add_position_channels(images) if pos_enc else images
    leading = source.shape[:-3]
    height, width = source.shape[-2:]
    batch = math.prod(leading)
    size = (batch, num_crops)
    device = source.device
    top = torch.randint(0, height - crop_height + 1, size, generator=generator, device=device)
    left = torch.randint(0, width - crop_width + 1, size, generator=generator, device=device)
    crops = gather_crops(
        source.reshape(batch, *source.shape[-3:]), top, left, crop_height, crop_width
    )
    indices = torch.stack((top, left), dim=-1).reshape(*leading, num_crops, 2)
    return crops.reshape(*leading, *crops.shape[1:]), indices
