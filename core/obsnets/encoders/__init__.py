"""Observation encoders and decoders, and the factory that builds encoders from configs.

``ObservationEncoder`` encodes a dict of observations key by key (randomizers, encoder core,
activation) and concatenates the features; ``ObservationGroupEncoder`` does that per group
(``obs``, ``goal``, ...); ``ObservationDecoder`` maps features to a dict of outputs;
``obs_encoder_factory`` builds an encoder from per-modality settings and an explicit
modality mapping. ``summarize`` / ``example_inputs`` describe and exercise any network.
"""

from obsnets.encoders.factory import (
    ENCODER_SETTINGS,
    default_encoder_kwargs,
    key_modalities,
    obs_encoder_factory,
    with_low_dim_keys,
)
from obsnets.encoders.group_encoder import ObservationGroupEncoder
from obsnets.encoders.observation_decoder import ObservationDecoder
from obsnets.encoders.observation_encoder import LANG_EMB_KEY, ObservationEncoder
from obsnets.encoders.summary import SummaryRow, example_inputs, format_summary, summarize

__all__ = [
    "ENCODER_SETTINGS",
    "LANG_EMB_KEY",
    "ObservationDecoder",
    "ObservationEncoder",
    "ObservationGroupEncoder",
    "SummaryRow",
    "default_encoder_kwargs",
    "example_inputs",
    "format_summary",
    "key_modalities",
    "obs_encoder_factory",
    "summarize",
    "with_low_dim_keys",
]
