"""``GaussianNoiseRandomizer``: additive Gaussian noise in training (kind ``randomizer``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.errors import ConfigError
from obsnets_randomizers._seeded import SeededRandomizer, check_choice, repeat_samples

__all__ = ["NOISE_DISTRIBUTIONS", "GaussianNoiseRandomizer"]

NOISE_DISTRIBUTIONS = ("gaussian", "robomimic_uniform")
"""The noise a :class:`GaussianNoiseRandomizer` can add."""


class GaussianNoiseRandomizer(SeededRandomizer):
    """Adds ``N(noise_mean, noise_std^2)`` noise to every element, optionally clamped.

    Training: each input is repeated ``num_samples`` times (sample-major), independent
    noise is added to each copy and the result is clamped to ``limits`` if given;
    :meth:`forward_out` averages over the ``N`` samples. Eval: the identity. Works for any
    ``input_shape`` (images, low-dimensional vectors, ...) and any leading dimensions.

    Args:
        input_shape: Shape of one input without batch dimension.
        noise_mean: Mean of the noise.
        noise_std: Standard deviation of the noise (``>= 0``).
        limits: ``(low, high)`` to clamp the noisy input to, or ``None``.
        num_samples: ``N``, noisy copies per input in training.
        noise_distribution: ``"gaussian"`` (default): ``N(noise_mean, noise_std^2)`` drawn
            on the input's device in its dtype. ``"robomimic_uniform"``: what robomimic's
            randomizer really adds, ``noise_std * U[0, 1) + noise_mean``, drawn on the CPU
            (or ``generator``'s device) in the default float dtype, so a seeded robomimic
            training run gets the same noise; obsnets-robomimic switches it on.
        seed: Seed of the randomizer's own generator (offset by the distributed
            rank), or ``None`` to draw from torch's default generator.

    Differs from robomimic: the noise is really Gaussian. robomimic's added *uniform* noise
    ``noise_std * U[0, 1) + noise_mean`` despite its name (mean ``noise_mean + noise_std /
    2``, standard deviation ``noise_std / sqrt(12)``); a model trained with robomimic's
    randomizer saw weaker, biased noise (``noise_distribution="robomimic_uniform"``
    reproduces it draw for draw; robomimic's crashed on GPU inputs, this one does not).
    ``input_shape`` and ``limits`` are validated.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        noise_mean: float = 0.0,
        noise_std: float = 0.3,
        limits: Sequence[float] | None = None,
        num_samples: int = 1,
        noise_distribution: str = "gaussian",
        seed: int | None = None,
    ) -> None:
        super().__init__(input_shape, num_samples=num_samples, seed=seed)
        if not noise_std >= 0:
            raise ConfigError(f"GaussianNoiseRandomizer: noise_std must be >= 0, got {noise_std}.")
        self.noise_distribution = check_choice(
            "GaussianNoiseRandomizer", "noise_distribution", noise_distribution, NOISE_DISTRIBUTIONS
        )
        self.noise_mean = float(noise_mean)
        self.noise_std = float(noise_std)
        self.limits: tuple[float, float] | None = None
        if limits is not None:
            try:
                low, high = (float(v) for v in limits)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"GaussianNoiseRandomizer: limits must be a (low, high) pair or None, got "
                    f"{limits!r}."
                ) from exc
            if low > high:
                raise ConfigError(f"GaussianNoiseRandomizer: limits {limits!r} have low > high.")
            self.limits = (low, high)

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
                f"GaussianNoiseRandomizer needs floating-point inputs, got dtype {inputs.dtype}."
            )
        repeated = repeat_samples(inputs, self.num_samples)  # (B * N, ...)
        if self.noise_distribution == "robomimic_uniform":
            draw = generator.device if generator is not None else torch.device("cpu")
            uniform = torch.rand(repeated.shape, generator=generator, device=draw)
            noise = (uniform * self.noise_std + self.noise_mean).to(repeated.device)
        else:
            gaussian = torch.randn(
                repeated.shape, generator=generator, device=repeated.device, dtype=repeated.dtype
            )
            noise = gaussian * self.noise_std + self.noise_mean
        noisy = noise + repeated
        if self.limits is not None:
            noisy = noisy.clamp(*self.limits)
        return noisy

    def extra_repr(self) -> str:
        return (
            f"input_shape={self.input_shape}, noise_mean={self.noise_mean}, "
            f"noise_std={self.noise_std}, limits={self.limits}, "
            f"num_samples={self.num_samples}, noise_distribution={self.noise_distribution!r}, "
            f"seed={self.seed}"
        )

    def _draw_device(self, inputs: torch.Tensor) -> torch.device:
        # robomimic drew its uniform noise on the CPU: so does a seeded own generator.
        cpu = self.noise_distribution == "robomimic_uniform"
        return torch.device("cpu") if cpu else inputs.device
