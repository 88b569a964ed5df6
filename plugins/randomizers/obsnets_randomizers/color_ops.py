"""Per-image color adjustments on a batch, vectorised (one factor per image, no Python loop).

Images are float ``(M, C, H, W)`` in ``[0, 1]`` with ``C`` 1 (grayscale) or 3 (RGB); each
function takes one factor per image, ``(M,)``. The definitions are torchvision's
(``torchvision.transforms.functional.adjust_*``), which applies one factor to a whole batch.
"""

from __future__ import annotations

import torch

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "hsv_to_rgb",
    "rgb_to_grayscale",
    "rgb_to_hsv",
]

_LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601-2, as torchvision's rgb_to_grayscale


def _per_image(factor: torch.Tensor) -> torch.Tensor:
    return factor.reshape(-1, 1, 1, 1)


def _blend(images: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    ratio = _per_image(factor)
    return (ratio * images + (1.0 - ratio) * other).clamp(0.0, 1.0)


def rgb_to_grayscale(images: torch.Tensor) -> torch.Tensor:
    """``(M, 3, H, W) -> (M, 1, H, W)`` luma; a 1-channel image is returned as is."""
    if images.shape[-3] == 1:
        return images
    red, green, blue = images.unbind(dim=-3)
    return (_LUMA[0] * red + _LUMA[1] * green + _LUMA[2] * blue).unsqueeze(-3)


def adjust_brightness(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scale intensities: ``clamp(factor * x, 0, 1)``; ``factor = 1`` is the identity."""
    return (_per_image(factor) * images).clamp(0.0, 1.0)


def adjust_contrast(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with the mean of its grayscale version; ``factor = 0`` gives gray."""
    mean = rgb_to_grayscale(images).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(images, mean, factor)


def adjust_saturation(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each RGB image with its grayscale version (a no-op on grayscale images)."""
    if images.shape[-3] == 1:
        return images
    return _blend(images, rgb_to_grayscale(images), factor)


def rgb_to_hsv(images: torch.Tensor) -> torch.Tensor:
    """``(M, 3, H, W)`` RGB in ``[0, 1]`` to HSV, every channel in ``[0, 1]``."""
    red, green, blue = images.unbind(dim=-3)
    value = images.amax(dim=-3)
    delta = value - images.amin(dim=-3)
    gray = delta == 0
    safe_delta = torch.where(gray, torch.ones_like(delta), delta)
    saturation = delta / torch.where(gray, torch.ones_like(value), value)
    # Hue sector (in sixths of the circle) relative to whichever channel is the maximum.
    from_red = torch.remainder((green - blue) / safe_delta, 6.0)
    from_green = (blue - red) / safe_delta + 2.0
    from_blue = (red - green) / safe_delta + 4.0
    sector = torch.where(value == red, from_red, torch.where(value == green, from_green, from_blue))
    hue = torch.where(gray, torch.zeros_like(sector), sector / 6.0)
    return torch.stack((hue, saturation, value), dim=-3)


def hsv_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """``(M, 3, H, W)`` HSV in ``[0, 1]`` back to RGB."""
    hue, saturation, value = images.unbind(dim=-3)
    channels = []
    for offset in (5.0, 3.0, 1.0):  # red, green, blue
        k = torch.remainder(offset + 6.0 * hue, 6.0)
        weight = torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
        channels.append(value - value * saturation * weight)
    return torch.stack(channels, dim=-3)


def adjust_hue(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Rotate hue by ``factor`` (in turns, within ``[-0.5, 0.5]``); a no-op on grayscale."""
    if images.shape[-3] == 1:
        return images
    hsv = rgb_to_hsv(images)
    hue = torch.remainder(hsv[:, 0] + factor.reshape(-1, 1, 1), 1.0)
    return hsv_to_rgb(torch.stack((hue, hsv[:, 1], hsv[:, 2]), dim=-3))
