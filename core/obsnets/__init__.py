"""obsnets: plugin-based PyTorch networks for robot learning from observation dictionaries.

The core holds the abstract bases, the component registry, plugin discovery (pluggy hooks over
``obsnets`` entry points), basic blocks, observation encoders and the MIMO wrappers. Encoders,
randomizers and network families come from plugins, nameable by string in any config.

``import obsnets`` does not import torch: every name below that needs it is loaded on first
access (PEP 562), so the command line's ``--help`` and a plugin's ``plugin.py`` (whose package
imports :mod:`obsnets.lazy`, hence ``obsnets``) stay fast. No component module is imported
until its name is resolved or its class accessed.
"""

import importlib.metadata
from typing import TYPE_CHECKING

# Gives the registry its plugin discovery (which runs at the first lookup, not here): without
# it no installed plugin's component could be named. Light: pluggy and importlib.metadata.
from obsnets import plugins as _plugins  # noqa: F401 - imported for that side effect
from obsnets.errors import (
    AmbiguousNameError,
    ComponentCollisionError,
    ComponentKindError,
    ConfigError,
    DisabledPluginError,
    HubError,
    IncompatiblePluginError,
    InvalidKwargsError,
    ObsnetsError,
    PluginLoadError,
    PluginSelectionWarning,
    ShapeError,
    UnknownComponentError,
)
from obsnets.lazy import lazy_exports

# Imported here, not lazily: the package attribute ``registry`` must be the Registry object,
# and importing the submodule ``obsnets.registry`` later would otherwise bind the module there.
from obsnets.registry import (
    KINDS,
    is_component,
    list_components,
    register,
    registry,
    resolve_component,
)

if TYPE_CHECKING:
    from obsnets.bases import (
        ConvBase,
        EncoderCore,
        InputNormalization,
        Module,
        NetworkBase,
        PoolBase,
        PriorBase,
        Randomizer,
    )
    from obsnets.blocks import (
        MLP,
        Parameter,
        RNN_Base,
        Sequential,
        Squeeze,
        Unsqueeze,
    )
    from obsnets.blocks.time_distributed import time_distributed
    from obsnets.building import build_component, check_kwargs
    from obsnets.encoders import (
        ObservationDecoder,
        ObservationEncoder,
        ObservationGroupEncoder,
        default_encoder_kwargs,
        obs_encoder_factory,
    )
    from obsnets.exporting import export_policy, load_exported
    from obsnets.hookspecs import hookimpl
    from obsnets.hub_upload import push_to_hub
    from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP
    from obsnets.saving import load, save_pretrained

# Written once, in pyproject.toml; read back from the installed metadata.
__version__ = importlib.metadata.version("obsnets")

__all__ = [
    "KINDS",
    "MIMO_MLP",
    "MLP",
    "RNN_MIMO_MLP",
    "AmbiguousNameError",
    "ComponentCollisionError",
    "ComponentKindError",
    "ConfigError",
    "ConvBase",
    "DisabledPluginError",
    "EncoderCore",
    "HubError",
    "IncompatiblePluginError",
    "InputNormalization",
    "InvalidKwargsError",
    "Module",
    "NetworkBase",
    "ObservationDecoder",
    "ObservationEncoder",
    "ObservationGroupEncoder",
    "ObsnetsError",
    "Parameter",
    "PluginLoadError",
    "PluginSelectionWarning",
    "PoolBase",
    "PriorBase",
    "RNN_Base",
    "Randomizer",
    "Sequential",
    "ShapeError",
    "Squeeze",
    "UnknownComponentError",
    "Unsqueeze",
    "__version__",
    "build_component",
    "check_kwargs",
    "default_encoder_kwargs",
    "export_policy",
    "hookimpl",
    "is_component",
    "list_components",
    "load",
    "load_exported",
    "obs_encoder_factory",
    "push_to_hub",
    "register",
    "registry",
    "resolve_component",
    "save_pretrained",
    "time_distributed",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ConvBase": "obsnets.bases.conv_base:ConvBase",
        "EncoderCore": "obsnets.bases.encoder_core:EncoderCore",
        "InputNormalization": "obsnets.bases.input_normalization:InputNormalization",
        "Module": "obsnets.bases.module:Module",
        "NetworkBase": "obsnets.bases.network:NetworkBase",
        "PoolBase": "obsnets.bases.pool:PoolBase",
        "PriorBase": "obsnets.bases.network:PriorBase",
        "Randomizer": "obsnets.bases.randomizer:Randomizer",
        "MLP": "obsnets.blocks.mlp:MLP",
        "Parameter": "obsnets.blocks.parameter:Parameter",
        "RNN_Base": "obsnets.blocks.rnn:RNN_Base",
        "Sequential": "obsnets.blocks.sequential:Sequential",
        "Squeeze": "obsnets.blocks.reshape:Squeeze",
        "Unsqueeze": "obsnets.blocks.reshape:Unsqueeze",
        "time_distributed": "obsnets.blocks.time_distributed:time_distributed",
        "build_component": "obsnets.building:build_component",
        "check_kwargs": "obsnets.building:check_kwargs",
        "hookimpl": "obsnets.hookspecs:hookimpl",
        "MIMO_MLP": "obsnets.mimo.mimo_mlp:MIMO_MLP",
        "RNN_MIMO_MLP": "obsnets.mimo.rnn_mimo_mlp:RNN_MIMO_MLP",
        "ObservationDecoder": "obsnets.encoders.observation_decoder:ObservationDecoder",
        "ObservationEncoder": "obsnets.encoders.observation_encoder:ObservationEncoder",
        "ObservationGroupEncoder": "obsnets.encoders.group_encoder:ObservationGroupEncoder",
        "default_encoder_kwargs": "obsnets.encoders.factory:default_encoder_kwargs",
        "obs_encoder_factory": "obsnets.encoders.factory:obs_encoder_factory",
        "load": "obsnets.saving:load",
        "load_exported": "obsnets.exporting.exported_policy:load_exported",
        "export_policy": "obsnets.exporting.export:export_policy",
        "save_pretrained": "obsnets.saving:save_pretrained",
        "push_to_hub": "obsnets.hub_upload:push_to_hub",
    },
)
