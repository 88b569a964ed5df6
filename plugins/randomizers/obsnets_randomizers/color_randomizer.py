"""``ColorRandomizer``: per-image color jitter in training (kind ``randomizer``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets_randomizers._seeded import SeededRandomizer, repeat_samples
from obsnets_randomizers.color_ops import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
)

__all__ = ["ColorRandomizer"]

Range = tuple[float, float]
Adjust = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _factor_range(name: str, value: float | Sequence[float] | None) -> Range | None:
    """``b -> [max(0, 1 - b), 1 + b]``; a pair is used as is; ``None`` or ``(1, 1)`` disables."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            raise ConfigError(f"ColorRandomizer: {name} must be >= 0, got {value!r}.")
        low, high = max(0.0, 1.0 - float(value)), 1.0 + float(value)
    else:
        low, high = _pair(name, value)
        if low < 0:
            raise ConfigError(f"ColorRandomizer: {name} factors must be >= 0, got {value!r}.")
    return None if low == high == 1.0 else (low, high)


def _hue_range(value: float | Sequence[float] | None) -> Range | None:
    """``h -> [-h, h]``; a pair is used as is; both within ``[-0.5, 0.5]``; 0 disables."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        low, high = -float(value), float(value)
    else:
        low, high = _pair("hue", value)
    if not -0.5 <= low <= high <= 0.5:
        raise ConfigError(f"ColorRandomizer: hue must lie within [-0.5, 0.5], got {value!r}.")
    return None if low == high == 0.0 else (low, high)


def _pair(name: str, value: Sequence[float]) -> Range:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"ColorRandomizer: {name} must be a number, a (min, max) pair or None; got {value!r}."
        ) from exc
    if low > high:
        raise ConfigError(f"ColorRandomizer: {name} range {value!r} has min > max.")
    return low, high


class ColorRandomizer(SeededRandomizer):
    """Random brightness, contrast, saturation and hue, drawn per image, in a random order.

    Training: each input is repeated ``num_samples`` times (sample-major); every image gets
    its own factors, drawn uniformly from the ranges, and its own random order of the
    enabled adjustments (as torchvision's ``ColorJitter``); :meth:`forward_out` averages
    over the ``N`` samples. Eval: the identity. Images must be float in ``[0, 1]`` (the
    adjustments clamp to that range, as torchvision's do for float images). Leading
    dimensions such as ``(B, T, C, H, W)`` are supported; every image is jittered
    independently.

    Args:
        input_shape: ``(C, H, W)`` with ``C`` 3 (RGB) or 1 (grayscale: saturation and hue
            are no-ops, as in torchvision).
        brightness: ``b`` draws the factor from ``[max(0, 1 - b), 1 + b]``; a ``(min, max)``
            pair gives the range; ``None`` disables it.
        contrast: Same rule as ``brightness``.
        saturation: Same rule as ``brightness``.
        hue: ``h`` (at most 0.5) draws the hue shift from ``[-h, h]``; a pair gives the range.
        num_samples: ``N``, jittered copies per input in training.
        seed: Seed of the randomizer's own generator (offset by the distributed
            rank), or ``None`` to draw from torch's default generator.

    Differs from robomimic: factors and orders are drawn with torch (seedable, on the
    input's device) for the whole batch at once, instead of a Python loop over samples using
    Python's ``random``; the results therefore differ draw for draw from robomimic's.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        brightness: float | Sequence[float] | None = 0.3,
        contrast: float | Sequence[float] | None = 0.3,
        saturation: float | Sequence[float] | None = 0.3,
        hue: float | Sequence[float] | None = 0.3,
        num_samples: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(input_shape, num_samples=num_samples, seed=seed)
        if len(self.input_shape) != 3 or self.input_shape[0] not in (1, 3):
            raise ShapeError(
                f"ColorRandomizer expects input_shape (3, H, W) or (1, H, W), got "
                f"{format_shape(self.input_shape)}."
            )
        self.brightness = _factor_range("brightness", brightness)
        self.contrast = _factor_range("contrast", contrast)
        self.saturation = _factor_range("saturation", saturation)
        self.hue = _hue_range(hue)

    def _adjustments(self) -> list[tuple[Adjust, Range]]:
        grayscale = self.input_shape[0] == 1
        candidates: list[tuple[Adjust, Range | None]] = [
            (adjust_brightness, self.brightness),
            (adjust_contrast, self.contrast),
            (adjust_saturation, None if grayscale else self.saturation),
            (adjust_hue, None if grayscale else self.hue),
        ]
        return [(adjust, bounds) for adjust, bounds in candidates if bounds is not None]

    def output_shape_in(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The input shape, unchanged."""
        return list(self.input_shape) if input_shape is None else [int(d) for d in input_shape]

    def output_shape_out(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The network's output shape, unchanged (``forward_out`` only folds the batch)."""
        return self._out_shape(input_shape)

    def _forward_in(
        self, inputs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if not inputs.is_floating_point():
            raise ConfigError(
                f"ColorRandomizer needs float images in [0, 1], got dtype {inputs.dtype}."
            )
        repeated = repeat_samples(inputs, self.num_samples)  # (B * N, ..., C, H, W)
        images = repeated.reshape(-1, *self.input_shape)  # (M, C, H, W)
        adjustments = self._adjustments()
        if not adjustments:
            return repeated
        count, device = images.shape[0], images.device
        # order[i, step] = which adjustment image i gets at that step (a random permutation)
        order = torch.rand(count, len(adjustments), generator=generator, device=device)
        order = order.argsort(dim=1)
        factors = []
        for _, (low, high) in adjustments:
            draw = torch.rand(count, generator=generator, device=device, dtype=images.dtype)
            factors.append(low + (high - low) * draw)
        for step in range(len(adjustments)):
            result = torch.empty_like(images)
            for index, (adjust, _) in enumerate(adjustments):
                chosen = (order[:, step] == index).nonzero().squeeze(1)
                result[chosen] = adjust(images[chosen], factors[index][chosen])
            images = result
        return images.reshape(repeated.shape)

    def extra_repr(self) -> str:
        return (
            f"input_shape={self.input_shape}, brightness={self.brightness}, "
            f"contrast={self.contrast}, saturation={self.saturation}, hue={self.hue}, "
            f"num_samples={self.num_samples}, seed={self.seed}"
        )
