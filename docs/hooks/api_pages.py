"""mkdocs hook: generate the API reference page of every module the nav lists.

A nav entry ``api/<module>.md`` (``api/obsnets.saving.md``, ``api/obsnets_visual.md``) needs no
file: when ``docs/api/<module>.md`` does not exist, this hook adds a generated page whose
title is the module's name and whose body is mkdocstrings' ``::: <module>``, so documenting a
new module is one line in mkdocs.yml. A page written by hand under that name is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

API_PAGE = re.compile(r"^api/(?P<module>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.md$")


def _nav_paths(nav: Any) -> Iterator[str]:
    """Every page path in a mkdocs nav (strings, ``{title: path}`` and nested sections)."""
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_paths(value)
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_paths(item)


def api_page(module: str) -> str:
    """The Markdown of a generated API page: the module's name, then its documentation."""
    return f"# `{module}`\n\n::: {module}\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add a generated page for each ``api/<module>.md`` in the nav that has no file."""
    for path in _nav_paths(config.nav):
        match = API_PAGE.match(path)
        if match is None or files.get_file_from_path(path) is not None:
            continue
        files.append(File.generated(config, path, content=api_page(match["module"])))
    return files
