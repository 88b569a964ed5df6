"""griffe extension: the reStructuredText markup in obsnets' docstrings, as Markdown shows it.

The docstrings are Google style, but many name other objects with Sphinx roles
(:class:`VisualCore`, :meth:`forward_in`, :func:`~obsnets.registry.pinned_names`) and
introduce literal blocks with a trailing ``::``, which Markdown would print verbatim. Each
role becomes inline code of the name (the last dotted part when the role uses ``~``, as
Sphinx shows it), and ``text::`` before an indented block becomes ``text:`` (the indented
block is already a code block in Markdown).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj):`(?P<tilde>~?)(?P<name>[^`]+)`"
)

LITERAL_BLOCK = re.compile(r"(?<=\S)::$", re.MULTILINE)


def _as_code(match: re.Match[str]) -> str:
    name = match["name"]
    if match["tilde"]:
        name = name.rsplit(".", 1)[-1]
    return f"`{name}`"


def strip_roles(text: str) -> str:
    """``text`` with every Sphinx cross-reference role replaced by inline code, and each
    literal-block marker ``::`` at the end of a line by ``:``."""
    return LITERAL_BLOCK.sub(":", ROLE.sub(_as_code, text))


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring griffe reads, before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for each module, class, function and attribute it loads."""
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value)
