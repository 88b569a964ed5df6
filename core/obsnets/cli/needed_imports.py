"""Which modules a saved model's names would need imported, and who declares them.

``obsnets inspect`` shows it so a model from elsewhere can be checked before loading: a name
that no installed plugin declares is flagged, since loading it needs ``--trust-code``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from obsnets.errors import UnknownComponentError
from obsnets.registry import registry
from obsnets.trust import split_qualified_name

__all__ = ["UNDECLARED", "needed_imports", "qualified_names_in"]

UNDECLARED = "UNDECLARED: loading needs --trust-code"


def qualified_names_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value (mapping values, list items) shaped like a qualified name.

    Args:
        value: Parsed JSON, e.g. a saved model's ``component`` section.
    """
    if isinstance(value, str) and ":" in value:
        try:
            split_qualified_name(value)
        except UnknownComponentError:
            return  # a string with a colon that no resolution would accept
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from qualified_names_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from qualified_names_in(item)


def needed_imports(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """For each qualified name in a saved config: its module and who vouches for it.

    Args:
        config: A saved model's config.json, parsed.

    Returns:
        ``{"name", "module", "source"}`` per name, sorted by name; ``source`` is the
        declaring provider, or :data:`UNDECLARED`.
    """
    recorded = [
        c.get("qualified_name") for c in config.get("components", []) if isinstance(c, Mapping)
    ]
    names = set(qualified_names_in(config.get("component", {}))) | set(qualified_names_in(recorded))
    rows = []
    for name in sorted(names):
        module = name.split(":", 1)[0]
        found = registry.find(name)
        if found:
            source = f"declared by {found[0].provider_label}"
        elif registry.is_in_plugin_package(name):  # the rule loading applies
            source = "inside an installed plugin's package"
        else:
            source = UNDECLARED
        rows.append({"name": name, "module": module, "source": source})
    return rows
