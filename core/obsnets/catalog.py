"""Which first-party distribution provides which component name.

Data only (no plugin is imported): it lets an unknown-name error say which ``pip install``
would provide the name, and lets a broken plugin's error surface when one of its components
is asked for.
"""

from __future__ import annotations

__all__ = ["FIRST_PARTY_COMPONENTS", "distribution_for"]

FIRST_PARTY_COMPONENTS: dict[str, tuple[str, ...]] = {
    # The keys of obsnets.plugin.COMPONENTS, written out rather than imported: obsnets.plugin is
    # a plugin module, and reading metadata (``obsnets --version``) or a disabled core plugin
    # imports none. tests/test_plugins.py checks that every installed first-party plugin
    # declares exactly the names listed here.
    "obsnets": (
        "ObservationEncoder",
        "ObservationDecoder",
        "ObservationGroupEncoder",
        "MIMO_MLP",
        "RNN_MIMO_MLP",
        "MLP",
    ),
    "obsnets-visual": (
        "VisualCore",
        "VisualCoreLanguageConditioned",
        "ResNet18Conv",
        "ResNet50Conv",
        "ShallowConv",
        "ResNet18ConvFiLM",
        "FiLMLayer",
        "TorchvisionConv",
        "SpatialSoftmax",
        "SpatialMeanPool",
        "FeatureAggregator",
    ),
    "obsnets-timm": ("TimmConv",),
    "obsnets-scan": ("ScanCore", "Conv1dBase"),
    "obsnets-randomizers": ("CropRandomizer", "ColorRandomizer", "GaussianNoiseRandomizer"),
    "obsnets-policy": (
        "ActorNetwork",
        "PerturbationActorNetwork",
        "GaussianActorNetwork",
        "GMMActorNetwork",
        "RNNActorNetwork",
        "RNNGMMActorNetwork",
        "VAEActor",
    ),
    "obsnets-value": ("ValueNetwork", "ActionValueNetwork", "DistributionalActionValueNetwork"),
    "obsnets-vae": ("VAE", "GaussianPrior", "CategoricalPrior"),
    "obsnets-transformer": (
        "MIMO_Transformer",
        "TransformerActorNetwork",
        "TransformerGMMActorNetwork",
    ),
    "obsnets-diffusion": ("ConditionalUnet1D", "DiffusionPolicyNetwork"),
}


def distribution_for(name: str) -> str | None:
    """The first-party distribution that provides component ``name``, if any."""
    plain = name.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    for distribution, names in FIRST_PARTY_COMPONENTS.items():
        if plain in names:
            return distribution
    return None
