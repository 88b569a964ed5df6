"""Adding the observation keys a network creates itself to the caller's modality mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from obsnets.errors import ConfigError

__all__ = ["with_low_dim_keys"]


def with_low_dim_keys(
    obs_modalities: Mapping[str, Sequence[str]] | None,
    keys: Iterable[str],
    *,
    component: str,
) -> dict[str, list[str]] | None:
    """Return a copy of ``obs_modalities`` in which ``keys`` are listed as ``low_dim``.

    Networks such as :class:`~obsnets_vae.VAE` feed tensors they create
    (the ``"latent"`` key) through the observation encoder, so those keys must be low_dim
    whatever the caller's mapping says about its own observation keys.

    Args:
        obs_modalities: Modality -> observation keys, or ``None`` (every key low_dim).
        keys: The keys the network adds.
        component: Name used in error messages.

    Raises:
        ConfigError: the caller listed one of ``keys`` under another modality.
    """
    if obs_modalities is None:
        return None
    mapping = {modality: list(names) for modality, names in obs_modalities.items()}
    for key in keys:
        for modality, names in mapping.items():
            if key in names and modality != "low_dim":
                raise ConfigError(
                    f"{component} feeds its own {key!r} input through the observation encoder "
                    f"as low_dim, but obs_modalities lists {key!r} under {modality!r}; "
                    f"remove it from {modality!r}."
                )
        low_dim = mapping.setdefault("low_dim", [])
        if key not in low_dim:
            low_dim.append(key)
    return mapping
