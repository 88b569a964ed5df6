"""What discovery knows about one installed plugin (``obsnets plugins`` shows it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ENTRY_POINT_GROUP", "UNUSABLE", "PluginInfo"]

ENTRY_POINT_GROUP = "obsnets"
"""The entry-point group under which a distribution names its plugin module."""

UNUSABLE = ("disabled", "incompatible")
"""Statuses of a plugin kept out on purpose (by the user, or by its obsnets requirement)."""


@dataclass
class PluginInfo:
    """What discovery found about one plugin.

    Attributes:
        name: The entry-point name (e.g. ``"visual"``).
        module: The plugin module's import path (e.g. ``"obsnets_visual.plugin"``).
        distribution: The distribution that declares it, e.g. ``"obsnets-visual"``.
        version: That distribution's version.
        status: ``"loaded"``, ``"disabled"``, ``"incompatible"`` (its distribution requires
            an obsnets version other than the installed one) or ``"failed"``.
        reason: Why it is disabled or incompatible, or the failure in one line.
        fix: For a disabled or incompatible plugin, what makes it load.
        error: The exception that made it fail, if any.
        components: ``(kind, name)`` of every component it declared.
        hook_errors: Hook name -> the error that hook raised (the plugin is skipped for it).
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    status: str = "loaded"
    reason: str = ""
    fix: str = ""
    error: BaseException | None = None
    components: list[tuple[str, str]] = field(default_factory=list)
    hook_errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for ``obsnets plugins --json``)."""
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "fix": self.fix,
            "components": [{"kind": k, "name": n} for k, n in self.components],
            "hook_errors": dict(self.hook_errors),
        }
