"""obsnets-transformer: GPT-style transformer policies over sequences of observation dicts."""

import importlib.metadata
from typing import TYPE_CHECKING

from obsnets.lazy import lazy_exports
from obsnets_transformer.plugin import COMPONENTS

if TYPE_CHECKING:
    from obsnets_transformer.activations import GEGLU
    from obsnets_transformer.causal_self_attention import CausalSelfAttention
    from obsnets_transformer.gpt_backbone import GPT_Backbone
    from obsnets_transformer.mimo_transformer import MIMO_Transformer
    from obsnets_transformer.positional_encoding import PositionalEncoding
    from obsnets_transformer.self_attention_block import SelfAttentionBlock
    from obsnets_transformer.transformer_actor_network import TransformerActorNetwork
    from obsnets_transformer.transformer_gmm_actor_network import TransformerGMMActorNetwork

__version__ = importlib.metadata.version("obsnets-transformer")  # written once, in pyproject.toml

__all__ = [
    "GEGLU",
    "CausalSelfAttention",
    "GPT_Backbone",
    "MIMO_Transformer",
    "PositionalEncoding",
    "SelfAttentionBlock",
    "TransformerActorNetwork",
    "TransformerGMMActorNetwork",
]

_EXPORTS = {name: target for name, (_, target) in COMPONENTS.items()}
_EXPORTS |= {
    "GEGLU": "obsnets_transformer.activations:GEGLU",
    "CausalSelfAttention": "obsnets_transformer.causal_self_attention:CausalSelfAttention",
    "GPT_Backbone": "obsnets_transformer.gpt_backbone:GPT_Backbone",
    "PositionalEncoding": "obsnets_transformer.positional_encoding:PositionalEncoding",
    "SelfAttentionBlock": "obsnets_transformer.self_attention_block:SelfAttentionBlock",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
