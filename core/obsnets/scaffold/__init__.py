"""Scaffolding for ``obsnets new-plugin``: a complete, installable plugin distribution."""

from obsnets.scaffold.generate import (
    SCAFFOLD_KINDS,
    PluginNames,
    create_plugin,
    plugin_names,
)

__all__ = ["SCAFFOLD_KINDS", "PluginNames", "create_plugin", "plugin_names"]
