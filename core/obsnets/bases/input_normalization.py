"""``InputNormalization``: how pretrained weights expect their input images to be prepared."""

from __future__ import annotations

import math
from dataclasses import dataclass

from obsnets.errors import ConfigError

__all__ = ["InputNormalization"]


@dataclass(frozen=True)
class InputNormalization:
    """The input preparation a backbone's pretrained weights were trained with.

    The fields are the keys of the same names in timm's ``pretrained_cfg`` (and of
    ``timm.data.resolve_data_config``): a backbone's images should be scaled to
    ``[0, 1]``, resized to ``input_size`` (with ``interpolation``, after a centre crop of
    ``crop_pct`` of the resized side), then normalised per channel as
    ``(x - mean[c]) / std[c]``. ``VisualCore(normalize_input=True)`` applies the last step
    inside the network.

    Args:
        mean: Per-channel mean, one value per input channel (e.g. ImageNet's
            ``(0.485, 0.456, 0.406)``).
        std: Per-channel standard deviation, same length as ``mean``, every value > 0.
        input_size: ``(C, H, W)`` the weights were trained at, or ``None`` if unknown.
        interpolation: Resize interpolation (``"bilinear"``, ``"bicubic"``, ...), or ``None``.
        crop_pct: Centre-crop fraction used at evaluation (``0.875`` = 224 of 256), or
            ``None``.

    Raises:
        ConfigError: empty or unequal ``mean`` / ``std``, a non-finite value, or a
            standard deviation that is not positive.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: tuple[int, int, int] | None = None
    interpolation: str | None = None
    crop_pct: float | None = None

    def __post_init__(self) -> None:
        # Frozen dataclass: normalise to tuples of floats through object.__setattr__.
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if self.input_size is not None:
            object.__setattr__(self, "input_size", tuple(int(d) for d in self.input_size))
        if not self.mean or len(self.mean) != len(self.std):
            raise ConfigError(
                f"InputNormalization needs one mean and one std per channel; got mean="
                f"{self.mean} and std={self.std}."
            )
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)):
            raise ConfigError(
                f"InputNormalization: mean and std must be finite; got mean={self.mean}, "
                f"std={self.std}."
            )
        if min(self.std) <= 0:
            raise ConfigError(
                f"InputNormalization: every std must be > 0 (it divides the input); got "
                f"std={self.std}."
            )

    @property
    def channels(self) -> int:
        """Number of channels ``C`` the normalisation is for."""
        return len(self.mean)
