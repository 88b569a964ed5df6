"""Building blocks: MLP, RNN, Sequential, KeyModuleDict and small shape-aware layers."""

from obsnets.blocks.key_module_dict import KeyModuleDict
from obsnets.blocks.mlp import MLP
from obsnets.blocks.parameter import Parameter
from obsnets.blocks.reshape import Squeeze, Unsqueeze
from obsnets.blocks.rnn import RNN_Base, RNNState
from obsnets.blocks.sequential import Sequential
from obsnets.blocks.time_distributed import fold_time, time_distributed, unfold_time

__all__ = [
    "MLP",
    "KeyModuleDict",
    "Parameter",
    "RNNState",
    "RNN_Base",
    "Sequential",
    "Squeeze",
    "Unsqueeze",
    "fold_time",
    "time_distributed",
    "unfold_time",
]
