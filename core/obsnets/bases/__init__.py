"""Abstract bases every obsnets component derives from."""

from obsnets.bases.conv_base import ConvBase
from obsnets.bases.encoder_core import EncoderCore
from obsnets.bases.input_normalization import InputNormalization
from obsnets.bases.module import Module
from obsnets.bases.module_aliases import AliasedModule, StateDictAlias
from obsnets.bases.network import NetworkBase, PriorBase
from obsnets.bases.pool import PoolBase
from obsnets.bases.randomizer import Randomizer

__all__ = [
    "AliasedModule",
    "ConvBase",
    "EncoderCore",
    "InputNormalization",
    "Module",
    "NetworkBase",
    "PoolBase",
    "PriorBase",
    "Randomizer",
    "StateDictAlias",
]
