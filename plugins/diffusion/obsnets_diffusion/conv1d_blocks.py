"""The 1-D convolution blocks of the diffusion U-Net: plain, FiLM-conditioned residual,
down- and upsampling (robomimic's / diffusion policy's layout and state_dict keys)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConditionalResidualBlock1D", "Conv1dBlock", "Downsample1d", "Upsample1d"]


class Conv1dBlock(nn.Module):
    """``Conv1d`` (same padding) -> ``GroupNorm`` -> ``Mish``, as ``block.0`` / ``.1`` / ``.2``.

    Args:
        inp_channels: Input channels ``C_in``.
        out_channels: Output channels ``C_out`` (divisible by ``n_groups``).
        kernel_size: Odd kernel size (the padding ``kernel_size // 2`` keeps the length).
        n_groups: GroupNorm groups.

    Shapes: ``(B, C_in, T) -> (B, C_out, T)``.
    """

    def __init__(self, inp_channels: int, out_channels: int, kernel_size: int, n_groups: int = 8):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(inp_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_channels),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T)``."""
        out: torch.Tensor = self.block(x)
        return out


class ConditionalResidualBlock1D(nn.Module):
    """Two :class:`Conv1dBlock` with a FiLM condition between them and a residual path.

    The condition goes through ``cond_encoder`` (``Mish`` -> ``Linear(cond_dim, 2 C_out)``)
    and modulates the first block's output per channel: ``scale * x + bias`` (the first
    ``C_out`` values are the scales). The residual is a 1x1 ``Conv1d`` (``residual_conv``) when
    ``C_in != C_out``, else the identity.

    Args:
        in_channels: Input channels ``C_in``.
        out_channels: Output channels ``C_out``.
        cond_dim: Size of the condition vector.
        kernel_size: Odd kernel size of both convolutions.
        n_groups: GroupNorm groups (divide ``C_out``).

    Shapes: ``x (B, C_in, T)``, ``cond (B, cond_dim)`` -> ``(B, C_out, T)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        cond_dim: int,
        kernel_size: int = 3,
        n_groups: int = 8,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.blocks = nn.ModuleList(
            [
                Conv1dBlock(in_channels, out_channels, kernel_size, n_groups=n_groups),
                Conv1dBlock(out_channels, out_channels, kernel_size, n_groups=n_groups),
            ]
        )
        # index 1 for the Linear keeps robomimic's key cond_encoder.1.*
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, out_channels * 2))
        self.residual_conv: nn.Module = (
            nn.Conv1d(in_channels, out_channels, 1)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``x (B, C_in, T)``, ``cond (B, cond_dim)`` -> ``(B, C_out, T)``."""
        out = self.blocks[0](x)  # (B, C_out, T)
        film = self.cond_encoder(cond).reshape(cond.shape[0], 2, -1, 1)  # (B, 2, C_out, 1)
        out = film[:, 0] * out + film[:, 1]
        out = self.blocks[1](out)
        residual: torch.Tensor = self.residual_conv(x)
        return out + residual


class Downsample1d(nn.Module):
    """Halve the length: ``Conv1d(dim, dim, 3, stride 2, padding 1)`` as ``conv``.

    Shapes: ``(B, dim, T) -> (B, dim, ceil(T / 2))``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, dim, T) -> (B, dim, ceil(T / 2))``."""
        out: torch.Tensor = self.conv(x)
        return out


class Upsample1d(nn.Module):
    """Double the length: ``ConvTranspose1d(dim, dim, 4, stride 2, padding 1)`` as ``conv``.

    Shapes: ``(B, dim, T) -> (B, dim, 2 T)``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose1d(dim, dim, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, dim, T) -> (B, dim, 2 T)``."""
        out: torch.Tensor = self.conv(x)
        return out
