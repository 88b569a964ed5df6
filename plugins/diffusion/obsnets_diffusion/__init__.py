"""obsnets-diffusion: diffusion policies (a 1-D conditional U-Net denoising action chunks)."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_diffusion.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_diffusion.conditional_unet1d import ConditionalUnet1D
    from obsnets_diffusion.conv1d_blocks import (
        ConditionalResidualBlock1D,
        Conv1dBlock,
        Downsample1d,
        Upsample1d,
    )
    from obsnets_diffusion.diffusion_policy_network import DiffusionPolicyNetwork
    from obsnets_diffusion.noise_schedulers import build_noise_scheduler
    from obsnets_diffusion.sinusoidal_pos_emb import SinusoidalPosEmb

__version__ = importlib.metadata.version("obsnets-diffusion")  # written once, in pyproject.toml

__all__ = [
    "ConditionalResidualBlock1D",
    "ConditionalUnet1D",
    "Conv1dBlock",
    "DiffusionPolicyNetwork",
    "Downsample1d",
    "SinusoidalPosEmb",
    "Upsample1d",
    "build_noise_scheduler",
]

_EXPORTS = {name: target for name, (_, target) in COMPONENTS.items()}
_EXPORTS |= {
    "ConditionalResidualBlock1D": "obsnets_diffusion.conv1d_blocks:ConditionalResidualBlock1D",
    "Conv1dBlock": "obsnets_diffusion.conv1d_blocks:Conv1dBlock",
    "Downsample1d": "obsnets_diffusion.conv1d_blocks:Downsample1d",
    "SinusoidalPosEmb": "obsnets_diffusion.sinusoidal_pos_emb:SinusoidalPosEmb",
    "Upsample1d": "obsnets_diffusion.conv1d_blocks:Upsample1d",
    "build_noise_scheduler": "obsnets_diffusion.noise_schedulers:build_noise_scheduler",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
