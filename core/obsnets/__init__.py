"""obsnets: plugin-based PyTorch networks for robot learning from observation dictionaries.

The core holds the abstract bases, the component registry, plugin discovery (pluggy hooks over
``obsnets`` entry points), basic blocks, observation encoders and the MIMO wrappers. Encoders,
randomizers and network families come from plugins, nameable by string in any config.
"""

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
from obsnets.encoders import (
    ObservationDecoder,
    ObservationEncoder,
    ObservationGroupEncoder,
    default_encoder_kwargs,
    obs_encoder_factory,
)
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
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP
from obsnets.registry import (
    KINDS,
    is_component,
    list_components,
    register,
    registry,
    resolve_component,
)

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
    "hookimpl",
    "is_component",
    "list_components",
    "load",
    "obs_encoder_factory",
    "register",
    "registry",
    "resolve_component",
    "save_pretrained",
    "time_distributed",
]

# Saving pulls in safetensors; loaded on first use to keep ``import obsnets`` light.
__getattr__, _lazy_dir = lazy_exports(
    __name__, {"load": "obsnets.saving:load", "save_pretrained": "obsnets.saving:save_pretrained"}
)
