"""obsnets: plugin-based PyTorch networks for robot learning from observation dictionaries.

The core holds the abstract bases, the component registry, plugin discovery (pluggy hooks over
``obsnets`` entry points), basic blocks, observation encoders and the MIMO wrappers. Encoders,
randomizers and network families come from plugins, nameable by string in any config.
"""

from typing import TYPE_CHECKING

from obsnets.bases import (
    ConvBase,
    EncoderCore,
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
    time_distributed,
)
from obsnets.building import build_component, check_kwargs
from obsnets.errors import (
    AmbiguousNameError,
    ComponentCollisionError,
    ConfigError,
    InvalidKwargsError,
    ObsnetsError,
    PluginLoadError,
    ShapeError,
    UnknownComponentError,
)
from obsnets.hookspecs import hookimpl
from obsnets.lazy import lazy_exports
from obsnets.registry import (
    KINDS,
    is_component,
    list_components,
    register,
    registry,
    resolve_component,
)

if TYPE_CHECKING:
    from obsnets.encoders import (
        ObservationDecoder,
        ObservationEncoder,
        ObservationGroupEncoder,
        default_encoder_kwargs,
        obs_encoder_factory,
    )
    from obsnets.exporting import export_policy, load_exported
    from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP
    from obsnets.saving import load, save_pretrained

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "MIMO_MLP",
    "MLP",
    "RNN_MIMO_MLP",
    "AmbiguousNameError",
    "ComponentCollisionError",
    "ConfigError",
    "ConvBase",
    "EncoderCore",
    "InvalidKwargsError",
    "Module",
    "NetworkBase",
    "ObservationDecoder",
    "ObservationEncoder",
    "ObservationGroupEncoder",
    "ObsnetsError",
    "Parameter",
    "PluginLoadError",
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
    "register",
    "registry",
    "resolve_component",
    "save_pretrained",
    "time_distributed",
]

# Loaded on first access to keep ``import obsnets`` light: saving pulls in safetensors, and the
# encoders and MIMO wrappers resolve by name through the core's own plugin anyway.
__getattr__, _lazy_dir = lazy_exports(
    __name__,
    {
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
    },
)
