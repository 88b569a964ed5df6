"""Network configs bundled with obsnets, read as package data so they work from a wheel.

``obsnets examples`` lists them and writes one out; ``obsnets demo --config NAME`` trains one.
"""

from __future__ import annotations

from importlib import resources

from obsnets.errors import ConfigError, suggestion

__all__ = ["SUFFIX", "example_names", "example_text"]

SUFFIX = ".json"


def example_names() -> list[str]:
    """The bundled example configs' names (file names without ``.json``), sorted."""
    return sorted(
        entry.name.removesuffix(SUFFIX)
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(SUFFIX) and entry.is_file()
    )


def example_text(name: str) -> str:
    """The JSON text of one bundled example config, exactly as shipped.

    Args:
        name: Its name, with or without ``.json`` (``"reach_gmm_policy"``).

    Raises:
        ConfigError: No bundled example has this name; the message lists close matches and
            every bundled name.
    """
    names = example_names()
    stem = name.removesuffix(SUFFIX)
    if stem not in names:
        raise ConfigError(
            f"No bundled example config is named {name!r}.{suggestion(stem, names)} "
            f"The bundled examples are: {', '.join(names)} (`obsnets examples` describes them)."
        )
    return resources.files(__name__).joinpath(stem + SUFFIX).read_text(encoding="utf-8")
