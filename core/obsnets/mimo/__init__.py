"""Multi-input, multi-output wrappers: ``MIMO_MLP`` and ``RNN_MIMO_MLP``.

The policy, value and VAE families (plugins) subclass these; they take observation groups
(``obs``, ``goal``, ...) and return a dict of named outputs.
"""

from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets.mimo.rnn_mimo_mlp import RNN_MIMO_MLP

__all__ = ["MIMO_MLP", "RNN_MIMO_MLP"]
