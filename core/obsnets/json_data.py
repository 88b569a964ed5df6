"""JSON read from files that may come from anywhere: decoded as data, with limits.

A saved model's config.json and an exported policy's manifest are untrusted input. Decoding
turns every way such a file can be malformed (not UTF-8, not JSON, an integer too long to
convert, nesting deep enough to exhaust the interpreter's stack, a key given twice) into a
:class:`~obsnets.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import json
from typing import Any

from obsnets.errors import ConfigError

__all__ = ["MAX_NESTING", "decode_json"]

MAX_NESTING = 64
"""Deepest nesting of lists and objects a file may have (real ones stay under 10)."""


def decode_json(raw: bytes, path: str, written_by: str) -> Any:
    """Decode ``raw`` as UTF-8 JSON, refusing anything malformed.

    Args:
        raw: The file's bytes.
        path: The file, for messages.
        written_by: What writes such files, ending the not-UTF-8 message (``"a saved model's
            config.json is UTF-8 JSON written by obsnets.save_pretrained"``).

    Returns:
        The decoded value (any JSON type; the caller checks its fields).

    Raises:
        ConfigError: not UTF-8, not JSON, nested deeper than :data:`MAX_NESTING`, or an
            object that repeats a key.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path!r} is not UTF-8 text (byte {exc.start}); {written_by}.") from exc
    try:
        value = json.loads(text, object_pairs_hook=lambda pairs: _unique(pairs, path))
    except RecursionError as exc:
        raise ConfigError(f"{path!r} is nested too deeply to be read.") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise ConfigError(f"{path!r} is not valid JSON: {exc}.") from exc
    _check_nesting(value, path)
    return value


def _unique(pairs: list[tuple[str, Any]], path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ConfigError(f"{path!r} repeats the key {key!r} in one object.")
        found[key] = value
    return found


def _check_nesting(value: Any, path: str) -> None:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(f"{path!r} nests lists and objects deeper than {MAX_NESTING} levels.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
