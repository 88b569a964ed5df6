"""What the randomizers of obsnets-randomizers share: seeding, sample folding, shape checks."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.bases import Randomizer
from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets.validation import check_int

__all__ = [
    "SeededRandomizer",
    "check_choice",
    "fold_samples",
    "repeat_samples",
]


def check_choice(component: str, name: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ConfigError`` naming them."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(
            f"{component}: {name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def repeat_samples(inputs: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``(B, ...) -> (B * N, ...)``, sample-major: the ``N`` copies of input 0 come first."""
    if num_samples == 1:
        return inputs
    return inputs.repeat_interleave(num_samples, dim=0)


def fold_samples(component: str, inputs: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``(B * N, ...) -> (B, ...)``: the mean over each input's ``N`` samples (sample-major).

    Raises:
        ShapeError: the batch size is not a multiple of ``N``.
    """
    if inputs.dim() == 0 or inputs.shape[0] % num_samples != 0:
        raise ShapeError(
            f"{component}.forward_out expects a batch of B * {num_samples} outputs "
            f"(sample-major), got shape {format_shape(inputs.shape)}."
        )
    batch = inputs.shape[0] // num_samples
    return inputs.reshape(batch, num_samples, *inputs.shape[1:]).mean(dim=1)


def _distributed_rank() -> int:
    distributed = torch.distributed
    return (
        distributed.get_rank() if distributed.is_available() and distributed.is_initialized() else 0
    )


class SeededRandomizer(Randomizer, abstract=True):
    """A randomizer that draws from a seedable ``torch.Generator``, sampling ``N`` per input.

    Randomness comes from, in order of precedence:

    1. the ``generator`` passed to :meth:`forward_in` for that one call;
    2. the randomizer's own generator when it was built with ``seed``: created at the first
       training-mode call on a device (on that device, or on the CPU for options that draw
       there as robomimic does) and seeded with ``seed``, then advanced by every call, so a
       run is reproducible; moving to another device starts a fresh generator with the same
       seed;
    3. otherwise torch's default generator of the input's device (``torch.manual_seed``).

    Under ``torch.distributed`` the own generator is seeded with ``seed + rank``, so ranks
    built from one config draw different crops and noise (identical draws on every rank would
    waste the augmentation), while each rank stays reproducible.

    Subclasses implement ``_forward_in(inputs, generator)``; ``forward_out`` in training
    averages over the ``num_samples`` samples of each input (sample-major).

    Args:
        input_shape: Shape of one input without batch dimension.
        num_samples: ``N``, samples drawn per input in training.
        seed: Seed of the randomizer's own generator, or ``None`` for torch's default one.
    """

    def __init__(
        self, input_shape: Sequence[int], num_samples: int = 1, seed: int | None = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        try:
            self.input_shape = [int(d) for d in input_shape]
        except TypeError as exc:
            raise ShapeError(f"{name} got a malformed input_shape {input_shape!r}.") from exc
        self.num_samples = check_int(name, "num_samples", num_samples, low=1)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"{name}: seed must be an int or None, got {seed!r}.")
        self.seed = seed
        self._generator: torch.Generator | None = None

    def manual_seed(self, seed: int | None) -> None:
        """Reseed: the next call starts the sequence of ``seed`` (``None``: torch's default)."""
        self.seed = seed
        self._generator = None

    def generator_for(self, device: torch.device) -> torch.Generator | None:
        """The randomizer's own generator on ``device`` (``None`` when built without seed)."""
        if self.seed is None:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed + _distributed_rank())
        return self._generator

    def forward_in(
        self, inputs: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Randomize a network input (training) or apply the deterministic eval transform.

        Args:
            inputs: ``(B, *input_shape)``, or with more leading dims ``(B, T, *input_shape)``.
            generator: Draw from this generator for this call instead of the randomizer's own.

        Returns:
            ``(B * N, ..., *output_shape_in())`` in training, sample-major;
            ``(B, ..., *output_shape_in())`` in eval.
        """
        self._check_input(inputs)
        if not self.training:
            return self._forward_in_eval(inputs)
        if generator is None:
            generator = self.generator_for(self._draw_device(inputs))
        return self._forward_in(inputs, generator)

    def _draw_device(self, inputs: torch.Tensor) -> torch.device:
        """Device the random numbers for ``inputs`` are drawn on: the inputs' own by default;
        the CPU where a randomizer reproduces a library that draws there (robomimic)."""
        return inputs.device

    def _forward_in(
        self, inputs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _forward_in")

    def _forward_out(self, inputs: torch.Tensor) -> torch.Tensor:
        return fold_samples(type(self).__name__, inputs, self.num_samples)

    def _check_input(self, inputs: torch.Tensor) -> None:
        """Raise unless ``inputs`` is ``(*leading, *input_shape)`` with at least one leading dim."""
        rank = len(self.input_shape)
        if inputs.dim() <= rank or list(inputs.shape[-rank:]) != self.input_shape:
            raise ShapeError(
                f"{type(self).__name__} expects input of shape (B, "
                f"{format_shape(self.input_shape)[1:]} (any leading dims), got "
                f"{format_shape(inputs.shape)}."
            )

    def _out_shape(self, input_shape: Sequence[int] | None) -> list[int]:
        if input_shape is None:
            raise ShapeError(
                f"{type(self).__name__}.output_shape_out needs the shape of the network output "
                f"it folds (without batch dimension); got None."
            )
        return [int(d) for d in input_shape]

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, num_samples={self.num_samples}, seed={self.seed}"
