"""Which obsnets versions a plugin supports: the ``obsnets`` requirement of its distribution.

A plugin says which obsnets it works with the way any Python package does, as a dependency of
its distribution (``dependencies = ["obsnets>=0.1,<0.2"]``, the ``Requires-Dist`` metadata).
Discovery checks the installed obsnets against it before importing the plugin: an incompatible
plugin is not loaded, and ``obsnets plugins`` shows why. A distribution that does not require
obsnets at all (a third-party plugin that did not declare it) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "CORE_DISTRIBUTION",
    "Incompatibility",
    "canonical_name",
    "incompatibility",
    "installed_obsnets_version",
]

CORE_DISTRIBUTION = "obsnets"


def canonical_name(distribution: str) -> str:
    """A distribution name as pip compares names (PEP 503), e.g. ``"obsnets-visual"`` for
    ``"Obsnets_Visual"``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def installed_obsnets_version() -> str | None:
    """The version of the installed ``obsnets`` distribution, or ``None`` when it is not
    installed (run from a source tree), in which case no plugin can be checked."""
    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def _obsnets_requirements(requires: Iterable[str]) -> list[Requirement]:
    # packaging is imported here, at the first discovery, not with obsnets (it costs ~20 ms).
    from packaging.requirements import Requirement

    # A requirement behind an extra (`obsnets>=0.2; extra == "hub"`) binds only that extra.
    found = []
    for line in requires:
        requirement = Requirement(line)  # invalid metadata raises: the plugin fails, named
        if canonical_name(requirement.name) != CORE_DISTRIBUTION:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.append(requirement)
    return found


@dataclass(frozen=True)
class Incompatibility:
    """A plugin's ``obsnets`` requirement that the installed obsnets does not meet.

    Attributes:
        requirement: The requirement as declared, e.g. ``"obsnets<0.1"``.
        installed: The installed obsnets version, e.g. ``"0.1.0"``.
    """

    requirement: str
    installed: str

    @property
    def reason(self) -> str:
        """``"requires obsnets<0.1; installed 0.1.0"``."""
        return f"requires {self.requirement}; installed {self.installed}"

    def fix(self, distribution: str | None) -> str:
        """How to get a working pair: upgrade the plugin, or install an obsnets it supports.

        Args:
            distribution: The plugin's distribution, e.g. ``"obsnets-acme"``.
        """
        return (
            f"Upgrade the plugin to a release that supports obsnets {self.installed} (pip "
            f"install -U {distribution or '<its distribution>'}), or install an obsnets it "
            f"supports (pip install '{self.requirement}')."
        )


def incompatibility(
    requires: Iterable[str] | None, installed: str | None
) -> Incompatibility | None:
    """The first ``obsnets`` requirement of a distribution that the installed obsnets fails.

    Args:
        requires: The distribution's requirement strings (``Distribution.requires``), e.g.
            ``["obsnets>=0.1,<0.2", "torchvision>=0.16"]``; ``None`` when it declares none.
        installed: The installed obsnets version, e.g. ``"0.1.0"``; ``None`` skips the check.

    Returns:
        The unmet requirement, or ``None`` when every one allows the installed version or
        none is declared.

    Raises:
        packaging.requirements.InvalidRequirement: a requirement string cannot be read.
    """
    from packaging.version import InvalidVersion, Version

    if installed is None:
        return None
    try:
        version = Version(installed)
    except InvalidVersion:
        return None  # a local build with a non-PEP 440 version: nothing to compare against
    for requirement in _obsnets_requirements(requires or ()):
        # A development build of the supported series still counts as supported.
        if not requirement.specifier.contains(version, prereleases=True):
            return Incompatibility(f"obsnets{requirement.specifier}", installed)
    return None
