"""``exported.json``: what an exported policy's graph takes and returns, read as data only."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from obsnets.errors import ConfigError
from obsnets.exporting.step_graph import HEAD_OUTPUTS, StepLayout
from obsnets.json_data import decode_json
from obsnets.precision import PRECISIONS

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "GRAPH_FILE",
    "MANIFEST_FILE",
    "manifest_json",
    "parse_manifest",
]

FORMAT = "obsnets-exported-policy"
FORMAT_VERSION = 1
MANIFEST_FILE = "exported.json"
GRAPH_FILE = "policy.onnx"
_SHA256 = re.compile("[0-9a-f]{64}")


def manifest_json(
    layout: StepLayout, precision: str, source: Mapping[str, Any], graph_sha256: str
) -> str:
    """The manifest text for a graph of ``layout`` run at ``precision``.

    Args:
        layout: The step graph's inputs, state and head.
        precision: ``"fp32"`` or ``"bf16"``, the precision the engine computes in.
        source: Where the policy came from (component name, qualified name, versions).
        graph_sha256: Checksum of the graph file.
    """
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": dict(source),
        "precision": precision,
        "graph": {"file": GRAPH_FILE, "sha256": graph_sha256},
        "observations": [
            {"key": k, "shape": list(s)} for k, s in zip(layout.obs_keys, layout.obs_shapes)
        ],
        "state_shapes": [list(s) for s in layout.state_shapes],
        "head": {"kind": layout.head, "tanh_scale": layout.tanh_scale},
    }
    return json.dumps(manifest, indent=2) + "\n"


def parse_manifest(raw: bytes, where: str) -> tuple[StepLayout, str, dict[str, Any]]:
    """Check a manifest field by field.

    Args:
        raw: The manifest file's bytes.
        where: The file, for error messages.

    Returns:
        ``(layout, precision, manifest)``.

    Raises:
        ConfigError: not UTF-8 JSON (see :func:`~obsnets.json_data.decode_json`), another
            format or version, or a field of the wrong type; the message names the field and
            what it should be.
    """
    data = decode_json(raw, where, f"{MANIFEST_FILE} is UTF-8 JSON written by obsnets export")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(
            f"{where} is not an obsnets exported policy (expected format {FORMAT!r}); "
            "write one with `obsnets export MODEL_DIR --out PATH`."
        )
    if data.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{where} has format_version {data.get('format_version')!r}; this obsnets reads "
            f"version {FORMAT_VERSION}. Export the policy again with this obsnets."
        )
    precision = _field(data, "precision", str, where)
    if precision not in PRECISIONS:
        raise ConfigError(f"{where}: precision must be one of {PRECISIONS}, got {precision!r}.")
    head = _field(data, "head", dict, where)
    kind = _field(head, "kind", str, f"{where}: head")
    if kind not in HEAD_OUTPUTS:
        raise ConfigError(
            f"{where}: head.kind must be one of {sorted(HEAD_OUTPUTS)}, got {kind!r}."
        )
    tanh_scale = head.get("tanh_scale")
    if tanh_scale is not None and not (
        isinstance(tanh_scale, (int, float))
        and not isinstance(tanh_scale, bool)
        and math.isfinite(tanh_scale)
        and tanh_scale > 0
    ):
        raise ConfigError(f"{where}: head.tanh_scale must be a positive number or null.")
    observations = _field(data, "observations", list, where)
    keys, shapes = [], []
    for i, entry in enumerate(observations):
        entry_where = f"{where}: observations[{i}]"
        keys.append(_field(entry, "key", str, entry_where))
        shapes.append(_shape(_field(entry, "shape", list, entry_where), entry_where))
    states = [
        _shape(s, f"{where}: state_shapes") for s in _field(data, "state_shapes", list, where)
    ]
    graph = _field(data, "graph", dict, where)
    if not isinstance(graph.get("sha256"), str) or not _SHA256.fullmatch(graph["sha256"]):
        raise ConfigError(f"{where}: graph.sha256 must be the graph's SHA-256 as 64 hex digits.")
    if not keys or len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: observations must list distinct keys, got {keys}.")
    layout = StepLayout(
        obs_keys=tuple(keys),
        obs_shapes=tuple(shapes),
        state_shapes=tuple(states),
        head=kind,
        tanh_scale=None if tanh_scale is None else float(tanh_scale),
    )
    return layout, precision, data


def _field(data: Any, name: str, kind: type, where: str) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get(name), kind):
        raise ConfigError(f"{where}: field {name!r} must be a {kind.__name__}.")
    return data[name]


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value
    ):
        raise ConfigError(f"{where}: a shape must be a list of positive integers, got {value!r}.")
    return tuple(value)
