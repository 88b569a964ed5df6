"""The core's own plugin: declares the core's networks like any plugin declares its components.

Built-in components go through the same path as third-party ones (entry point ``core`` in the
group ``obsnets``), so ``"MIMO_MLP"`` resolves by name without importing its module first.
"""

from __future__ import annotations

from obsnets.hookspecs import RegisterComponent, hookimpl

COMPONENTS: dict[str, tuple[str, str]] = {
    # name: (kind, "module:attribute")
    "ObservationEncoder": ("network", "obsnets.encoders.observation_encoder:ObservationEncoder"),
    "ObservationDecoder": ("network", "obsnets.encoders.observation_decoder:ObservationDecoder"),
    "ObservationGroupEncoder": (
        "network",
        "obsnets.encoders.group_encoder:ObservationGroupEncoder",
    ),
    "MIMO_MLP": ("network", "obsnets.mimo.mimo_mlp:MIMO_MLP"),
    "RNN_MIMO_MLP": ("network", "obsnets.mimo.rnn_mimo_mlp:RNN_MIMO_MLP"),
    # A network on its own, and the usual net= of ObservationEncoder.register_obs_key: named
    # so that an encoder holding one can be saved and rebuilt.
    "MLP": ("network", "obsnets.blocks.mlp:MLP"),
}


@hookimpl
def obsnets_register_components(register: RegisterComponent) -> None:
    """Declare the core's networks."""
    for name, (kind, target) in COMPONENTS.items():
        register(kind, name, target)
