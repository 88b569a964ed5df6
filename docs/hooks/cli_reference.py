"""mkdocs hook: the command line reference, from the CLI's own argument parser.

``docs/cli.md`` holds ``<!-- cli-help -->``; this hook replaces it with a section per command
holding that command's ``--help``, so the page cannot drift from the parser.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mkdocs.structure.pages import Page

MARKER = "<!-- cli-help -->"
WIDTH = "96"  # argparse wraps to $COLUMNS


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise LookupError(f"obsnets' parser has no subcommands (looking for {command!r})")


def help_sections() -> str:
    """``obsnets --help`` and each command's ``--help``, as Markdown sections."""
    from obsnets.cli.main import COMMANDS, build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        sections = [f"## `obsnets`\n\n```text\n{build_parser().format_help()}```\n"]
        for command in COMMANDS:
            text = _subparser(build_parser(command), command).format_help()
            sections.append(f"## `obsnets {command}`\n\n```text\n{text}```\n")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    """Fill in the marker of the CLI page."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, help_sections())
