"""``ConditionalUnet1D``: the noise-prediction network of diffusion policies."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_diffusion.conv1d_blocks import (
    ConditionalResidualBlock1D,
    Conv1dBlock,
    Downsample1d,
    Upsample1d,
)
from obsnets_diffusion.sinusoidal_pos_emb import SinusoidalPosEmb

__all__ = ["FINAL_CONV_GROUPS", "ConditionalUnet1D"]

FINAL_CONV_GROUPS = 8
"""GroupNorm groups of the final Conv1dBlock, whatever ``n_groups`` says (robomimic's)."""


class ConditionalUnet1D(NetworkBase):
    """A 1-D U-Net over an action sequence, conditioned on the diffusion step and observations.

    The step goes through ``diffusion_step_encoder`` (:class:`SinusoidalPosEmb` ->
    ``Linear(d, 4d)`` -> ``Mish`` -> ``Linear(4d, d)``) and is concatenated with
    ``global_cond`` into the FiLM condition of every :class:`ConditionalResidualBlock1D`.
    ``down_modules``: per level of ``down_dims`` two residual blocks and a stride-2
    :class:`Downsample1d` (none at the last level); ``mid_modules``: two residual blocks;
    ``up_modules``: per level but the first, the matching down level's output concatenated on
    the channels, two residual blocks and an :class:`Upsample1d`; ``final_conv``: a
    :class:`Conv1dBlock` (always 8 GroupNorm groups) and a 1x1 ``Conv1d`` back to
    ``input_dim``. Wiring, state_dict keys and numbers are robomimic's (parity case 23).

    Args:
        input_dim: Channels of the sequence (the action dimension ``A``).
        global_cond_dim: Size ``G`` of the observation condition.
        diffusion_step_embed_dim: Step embedding size ``d`` (even, >= 4).
        down_dims: Channels of each level; every entry divisible by ``n_groups``, the first
            also by 8 (the final block's groups).
        kernel_size: Odd convolution kernel size.
        n_groups: GroupNorm groups of the residual blocks.

    Shapes: ``forward(sample (B, T, A), timestep, global_cond (B, G)) -> (B, T, A)``, where
    ``T`` is a multiple of ``2 ** (len(down_dims) - 1)`` and ``timestep`` is a Python int, a
    0-d tensor, or a ``(1,)`` or ``(B,)`` tensor of integers or integer-valued floats.

    Differs from robomimic: a ``T`` that is not a multiple of ``2 ** (len(down_dims) - 1)``
    is a :class:`~obsnets.errors.ShapeError` naming the valid lengths (robomimic returned
    another length); timesteps must be integers or integer-valued tensors (robomimic
    truncated a Python float but used a fractional float tensor as is); a step embedding size
    below 4 or odd, an even kernel, and channel counts that GroupNorm cannot split are
    constructor errors; ``global_cond`` is required (robomimic then failed with a size
    mismatch).
    """

    def __init__(
        self,
        input_dim: int,
        global_cond_dim: int,
        diffusion_step_embed_dim: int = 256,
        down_dims: Sequence[int] = (256, 512, 1024),
        kernel_size: int = 5,
        n_groups: int = 8,
    ) -> None:
        super().__init__()
        _check_architecture(down_dims, kernel_size, n_groups)
        self.input_dim = input_dim
        self.global_cond_dim = global_cond_dim
        embed = diffusion_step_embed_dim
        step_encoder = nn.Sequential(
            SinusoidalPosEmb(embed),
            nn.Linear(embed, embed * 4),
            nn.Mish(),
            nn.Linear(embed * 4, embed),
        )
        cond_dim = embed + global_cond_dim
        all_dims = [input_dim, *down_dims]
        in_out = list(pairwise(all_dims))

        def residual(c_in: int, c_out: int) -> ConditionalResidualBlock1D:
            return ConditionalResidualBlock1D(c_in, c_out, cond_dim, kernel_size, n_groups)

        # registration order gives robomimic's state_dict key order
        self.mid_modules = nn.ModuleList([residual(all_dims[-1], all_dims[-1]) for _ in range(2)])
        self.diffusion_step_encoder = step_encoder
        self.up_modules = nn.ModuleList(
            nn.ModuleList([residual(c_out * 2, c_in), residual(c_in, c_in), Upsample1d(c_in)])
            for c_in, c_out in reversed(in_out[1:])
        )
        last = len(in_out) - 1
        self.down_modules = nn.ModuleList(
            nn.ModuleList(
                [
                    residual(c_in, c_out),
                    residual(c_out, c_out),
                    Downsample1d(c_out) if level < last else nn.Identity(),
                ]
            )
            for level, (c_in, c_out) in enumerate(in_out)
        )
        self.final_conv = nn.Sequential(
            Conv1dBlock(down_dims[0], down_dims[0], kernel_size, n_groups=FINAL_CONV_GROUPS),
            nn.Conv1d(down_dims[0], input_dim, 1),
        )

    @property
    def length_multiple(self) -> int:
        """Sequence lengths must be multiples of this: ``2 ** (levels - 1)``."""
        return 2 ** (len(self.down_modules) - 1)

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The shape of ``sample`` without batch dimension, ``[T, A]``.

        Args:
            input_shape: ``(T, A)``.
        """
        if (
            not isinstance(input_shape, Sequence)
            or isinstance(input_shape, str)
            or len(input_shape) != 2
            or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in input_shape
            )
        ):
            raise ShapeError(
                f"ConditionalUnet1D.output_shape needs the sample's shape (T, {self.input_dim})"
                f"; got {input_shape!r}."
            )
        return [int(input_shape[0]), int(input_shape[1])]

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | int,
        global_cond: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the noise in ``sample``.

        Args:
            sample: Noisy sequences ``(B, T, A)``.
            timestep: Diffusion step(s): a Python int, a 0-d or ``(1,)`` tensor (the same step
                for the whole batch) or a ``(B,)`` tensor; integer-valued.
            global_cond: Observation condition ``(B, G)``.

        Returns:
            ``(B, T, A)``.
        """
        cond = self._checked_condition(sample, global_cond)
        condition = torch.cat([self._step_features(timestep, sample), cond], dim=-1)  # (B, d + G)
        x = sample.moveaxis(-1, -2)  # (B, A, T)
        skips = []
        for first, second, downsample in self.down_modules:
            x = second(first(x, condition), condition)
            skips.append(x)
            x = downsample(x)
        for block in self.mid_modules:
            x = block(x, condition)
        for first, second, upsample in self.up_modules:
            x = torch.cat((x, skips.pop()), dim=1)  # the deepest unused skip first
            x = upsample(second(first(x, condition), condition))
        out: torch.Tensor = self.final_conv(x)
        return out.moveaxis(-1, -2)  # (B, T, A)

    def _step_features(self, timestep: torch.Tensor | int, sample: torch.Tensor) -> torch.Tensor:
        """``diffusion_step_encoder`` applied to the steps: ``(B, d)`` in the sample's dtype.

        The sinusoidal embedding is computed in at least float32 (robomimic's numbers; float64
        for float64 models) and only then cast to the sample's dtype for the MLP: in
        bfloat16, steps above 256 would otherwise round together (256 and 257 embed the same).
        """
        embed_dtype = torch.promote_types(sample.dtype, torch.float32)
        steps = _timesteps(timestep, sample).to(embed_dtype)  # (B,)
        sinusoidal, *mlp = self.diffusion_step_encoder
        features: torch.Tensor = sinusoidal(steps).to(sample.dtype)  # (B, d)
        for layer in mlp:
            features = layer(features)
        return features

    def _checked_condition(self, sample: Any, global_cond: Any) -> torch.Tensor:
        """``global_cond`` after checking it and ``sample``."""
        if not isinstance(sample, torch.Tensor) or sample.dim() != 3:
            raise ShapeError(
                f"ConditionalUnet1D: sample must be a tensor (B, T, {self.input_dim}); got "
                f"{_describe(sample)}."
            )
        batch, steps, channels = sample.shape
        if channels != self.input_dim:
            raise ShapeError(
                f"ConditionalUnet1D: sample must have input_dim = {self.input_dim} channels in "
                f"its last dimension (B, T, {self.input_dim}); got {tuple(sample.shape)}."
            )
        multiple = self.length_multiple
        if steps % multiple or steps == 0:
            raise ShapeError(
                f"ConditionalUnet1D with {len(self.down_modules)} levels (down_dims) halves the "
                f"sequence {len(self.down_modules) - 1} times: T must be a multiple of "
                f"{multiple} ({', '.join(str(multiple * k) for k in range(1, 5))}, ...); got "
                f"T = {steps}. Pad the sequence or change the prediction horizon."
            )
        if global_cond is None:
            raise InvalidKwargsError(
                f"ConditionalUnet1D needs global_cond (B, {self.global_cond_dim}); got None."
            )
        if not isinstance(global_cond, torch.Tensor) or tuple(global_cond.shape) != (
            batch,
            self.global_cond_dim,
        ):
            raise ShapeError(
                f"ConditionalUnet1D: global_cond must be ({batch}, {self.global_cond_dim}) "
                f"(batch, global_cond_dim); got {_describe(global_cond)}."
            )
        return global_cond


def _timesteps(timestep: Any, sample: torch.Tensor) -> torch.Tensor:
    """One step per batch element, ``(B,)``, on the sample's device (integer-valued)."""
    batch = sample.shape[0]
    if isinstance(timestep, int) and not isinstance(timestep, bool):
        return torch.full((batch,), timestep, dtype=torch.long, device=sample.device)
    if (
        not isinstance(timestep, torch.Tensor)
        or timestep.is_complex()
        or timestep.dtype == torch.bool
    ):
        raise InvalidKwargsError(
            f"ConditionalUnet1D: timestep must be a Python int or a tensor of integer steps "
            f"(integer dtype, or floating point holding whole numbers); got "
            f"{_describe(timestep)}. Pass int(t) or a torch.long tensor."
        )
    if timestep.dim() > 1 or timestep.numel() not in (1, batch):
        raise ShapeError(
            f"ConditionalUnet1D: timestep must be 0-d, (1,) or (B,) = ({batch},); got shape "
            f"{tuple(timestep.shape)}."
        )
    if timestep.is_floating_point() and not torch.equal(timestep, timestep.round()):
        raise InvalidKwargsError(
            f"ConditionalUnet1D: diffusion steps are whole numbers; got the fractional "
            f"timestep(s) {timestep.flatten()[:4].tolist()}. Pass integer steps (robomimic used "
            f"fractional float tensors as is, but truncated Python floats)."
        )
    return timestep.reshape(-1).to(sample.device).expand(batch)


def _check_architecture(down_dims: Sequence[int], kernel_size: int, n_groups: int) -> None:
    if len(down_dims) == 0:
        raise ConfigError("ConditionalUnet1D: down_dims needs at least one level; got [].")
    if kernel_size % 2 == 0:
        raise ConfigError(
            f"ConditionalUnet1D: kernel_size must be odd so that the convolutions keep the "
            f"sequence length (padding kernel_size // 2); got {kernel_size}. Use e.g. 3 or 5."
        )
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 1:
        raise ConfigError(f"ConditionalUnet1D: n_groups must be an int >= 1; got {n_groups!r}.")
    uneven = [d for d in down_dims if d % n_groups]
    if uneven:
        raise ConfigError(
            f"ConditionalUnet1D: GroupNorm splits each level's channels into n_groups = "
            f"{n_groups} groups, so every entry of down_dims must be divisible by {n_groups}; "
            f"got down_dims {list(down_dims)} ({uneven} are not)."
        )
    if down_dims[0] % FINAL_CONV_GROUPS:
        raise ConfigError(
            f"ConditionalUnet1D: the final block normalises down_dims[0] channels in "
            f"{FINAL_CONV_GROUPS} groups (robomimic's layout): down_dims[0] must be divisible "
            f"by {FINAL_CONV_GROUPS}; got {down_dims[0]}."
        )


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"
