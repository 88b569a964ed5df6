"""Constructor checks shared by the transformer blocks and networks."""

from __future__ import annotations

from typing import Any

from obsnets.errors import ConfigError
from obsnets_policy._common import check_positive

__all__ = ["check_heads", "check_positive", "check_probability"]


def check_probability(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float, raising :class:`ConfigError` unless it is in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(
            f"{owner}: {name} must be a dropout probability in [0, 1); got {value!r}."
        )
    return float(value)


def check_heads(owner: str, embed_dim: int, num_heads: int) -> None:
    """Raise :class:`ConfigError` unless ``num_heads`` divides ``embed_dim``."""
    if embed_dim % num_heads:
        divisors = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
        raise ConfigError(
            f"{owner}: the number of attention heads ({num_heads}) must divide the embedding "
            f"dimension ({embed_dim}), each head taking an equal share. Valid head counts for "
            f"{embed_dim}: {divisors}."
        )
