"""Constructor checks shared by the transformer blocks and networks."""

from __future__ import annotations

from obsnets.errors import ConfigError

__all__ = ["check_heads"]


def check_heads(owner: str, embed_dim: int, num_heads: int) -> None:
    """Raise :class:`ConfigError` unless ``num_heads`` divides ``embed_dim``."""
    if embed_dim % num_heads:
        divisors = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
        raise ConfigError(
            f"{owner}: the number of attention heads ({num_heads}) must divide the embedding "
            f"dimension ({embed_dim}), each head taking an equal share. Valid head counts for "
            f"{embed_dim}: {divisors}."
        )
