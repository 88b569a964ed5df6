"""The format of a saved model's config.json, checked field by field.

A saved model may come from anywhere, so its config.json is untrusted data: every field is
checked for presence and JSON type before anything uses it, and every problem is a
:class:`~obsnets.errors.ConfigError` naming the file and the field (``weights.tensors['a.b'].
shape``), never a ``KeyError`` or ``TypeError`` from deep inside loading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

import torch

from obsnets.errors import ConfigError
from obsnets.json_data import MAX_NESTING, decode_json
from obsnets.saved_folder import check_file_name

__all__ = ["FORMAT_VERSION", "MAX_NESTING", "STORABLE_DTYPES", "parse_saved_config"]

FORMAT_VERSION = 1

STORABLE_DTYPES: dict[str, torch.dtype] = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.float8_e4m3fn,
        torch.float8_e5m2,
    )
}
"""The tensor dtypes a saved model's weights may have, by the name config.json uses.

No complex dtype: a saved model is rebuilt in the default (real) dtype, and only real
floating-point tensors take another saved dtype at load (:func:`obsnets.saved_weights.load_state`).
"""

_SHA256 = re.compile(r"[0-9a-f]{64}")


def parse_saved_config(raw: bytes, path: str) -> dict[str, Any]:
    """Decode and check a saved model's config.json.

    Args:
        raw: The file's bytes.
        path: The file, for messages.

    Returns:
        The config, with the optional fields (``components``, ``requires``,
        ``weights.tied``) filled with their empty defaults.

    Raises:
        ConfigError: the file is not UTF-8 JSON, is nested deeper than :data:`MAX_NESTING`,
            repeats a key, or a field is missing or of the wrong type; the message names the
            field.
    """
    config = decode_json(
        raw, path, "a saved model's config.json is UTF-8 JSON written by obsnets.save_pretrained"
    )
    return _check_config(config, path)


def _check_config(config: Any, path: str) -> dict[str, Any]:
    found = config.get("format_version") if isinstance(config, dict) else config
    if type(found) is not int or found != FORMAT_VERSION:
        raise ConfigError(
            f"{path!r} is not an obsnets saved-model config (format_version {found!r}, "
            f"expected {FORMAT_VERSION})."
        )
    component = _field(config, "component", dict, path)
    for key in ("name", "qualified_name", "kind"):
        _text(component, key, path, "component")
    _field(component, "kwargs", dict, path, "component")

    components = config.setdefault("components", [])
    _expect(components, list, "components", "a list", path)
    for i, entry in enumerate(components):
        _expect(entry, dict, f"components[{i}]", "an object", path)
        for key in ("kind", "name", "qualified_name"):
            _text(entry, key, path, f"components[{i}]")

    requires = config.setdefault("requires", {})
    _expect(requires, dict, "requires", "an object", path)
    for distribution, version in requires.items():
        if version is not None and not isinstance(version, str):
            _wrong(f"requires[{distribution!r}]", "a version string or null", version, path)

    weights = _field(config, "weights", dict, path)
    check_file_name(weights.get("file"), f"{path!r} field 'weights.file'")
    tensors = _field(weights, "tensors", dict, path, "weights")
    for key, description in tensors.items():
        _check_tensor(description, f"weights.tensors[{key!r}]", path)
    tied = weights.setdefault("tied", {})
    _expect(tied, dict, "weights.tied", "an object", path)
    for alias, canonical in tied.items():
        where = f"weights.tied[{alias!r}]"
        if alias in tensors:
            raise ConfigError(
                f"{path!r} field {where!r}: {alias!r} is stored itself, so it cannot also be an "
                f"alias of another tensor."
            )
        if not isinstance(canonical, str) or canonical not in tensors:
            _wrong(where, "the key of a stored tensor (one of weights.tensors)", canonical, path)
    return config


def _check_tensor(description: Any, where: str, path: str) -> None:
    _expect(description, dict, where, "an object", path)
    shape = description.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        _wrong(f"{where}.shape", "a list of non-negative integers", shape, path)
    dtype = description.get("dtype")
    if dtype not in STORABLE_DTYPES:
        _wrong(f"{where}.dtype", f"one of {sorted(STORABLE_DTYPES)}", dtype, path)
    digest = description.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        _wrong(f"{where}.sha256", "64 lowercase hexadecimal digits", digest, path)


def _field(container: Mapping[str, Any], key: str, kind: type, path: str, parent: str = "") -> Any:
    where = f"{parent}.{key}" if parent else key
    if key not in container:
        raise ConfigError(f"{path!r} lacks the field {where!r}.")
    value = container[key]
    _expect(value, kind, where, "an object" if kind is dict else kind.__name__, path)
    return value


def _text(container: Mapping[str, Any], key: str, path: str, parent: str) -> None:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        _wrong(f"{parent}.{key}", "a non-empty string", value, path)


def _expect(value: Any, kind: type, where: str, expected: str, path: str) -> None:
    if not isinstance(value, kind):
        _wrong(where, expected, value, path)


def _wrong(where: str, expected: str, value: Any, path: str) -> NoReturn:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise ConfigError(f"{path!r} field {where!r} must be {expected}; got {shown}.")
