"""Writing a new plugin distribution from the templates in ``obsnets/scaffold/templates``.

One name gives every spelling, always derived the same way: plugin (entry-point) name
``depth_edges``, distribution ``obsnets-depth-edges``, package ``obsnets_depth_edges``,
component class ``DepthEdgesConv`` in module ``obsnets_depth_edges/depth_edges_conv.py``.
"""

from __future__ import annotations

import json
import keyword
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from obsnets.catalog import FIRST_PARTY_COMPONENTS
from obsnets.errors import ConfigError, suggestion
from obsnets.saved_folder import new_folder

__all__ = ["SCAFFOLD_KINDS", "PluginNames", "create_plugin", "plugin_names"]

SCAFFOLD_KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (class-name suffix, README summary, README blurb)
    "backbone": ("Conv", "a convolutional backbone", "two stride-2 3x3 convolutions"),
    "encoder_core": ("Core", "an observation encoder core", "MLP over one observation"),
    "pool": ("Pool", "a feature-map pool", "learned attention pooling, (B, C, H, W) -> (B, C)"),
    "randomizer": ("Randomizer", "an input randomizer", "Gaussian noise while training"),
    "network": ("Network", "a network over observation dicts", "MLP over concatenated obs"),
}
"""The kinds ``obsnets new-plugin --kind`` writes a component for."""

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*")
RESERVED = {"obsnets", "core", "testing", "robomimic"} | {
    d.removeprefix("obsnets-") for d in FIRST_PARTY_COMPONENTS
}
USAGE: dict[str, dict[str, Any]] = {
    # a config fragment naming the component ("$c" stands for the class name)
    "backbone": {"core_class": "VisualCore", "core_kwargs": {"backbone_class": "$c"}},
    "encoder_core": {"core_class": "$c", "core_kwargs": {"feature_dimension": 32}},
    "pool": {"core_class": "VisualCore", "core_kwargs": {"pool_class": "$c"}},
    "randomizer": {"obs_randomizer_class": "$c", "obs_randomizer_kwargs": {"noise_std": 0.05}},
    "network": {"network": "$c", "kwargs": {"obs_shapes": {"eef_pos": [3]}, "output_dim": 7}},
}
USAGE_INTRO = {
    "backbone": "as the backbone of a `VisualCore` (obsnets-visual), in an image modality's "
    'encoder settings (`encoder_kwargs["rgb"]`)',
    "encoder_core": "as the encoder core of a modality, in its encoder settings "
    '(`encoder_kwargs["low_dim"]`, say)',
    "pool": "as the pool of a `VisualCore` (obsnets-visual), in an image modality's encoder "
    'settings (`encoder_kwargs["rgb"]`)',
    "randomizer": "as the randomizer of a modality, in its encoder settings "
    '(`encoder_kwargs["rgb"]`, say)',
    "network": "as the network a config builds (`obsnets build CONFIG.json` builds it and runs "
    "it once)",
}
MAX_NAME_LENGTH = 20


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of one plugin's name.

    Attributes:
        plugin: Entry-point name, ``"depth_edges"``.
        distribution: ``"obsnets-depth-edges"``.
        package: ``"obsnets_depth_edges"``.
        class_name: The component class, ``"DepthEdgesConv"``.
        module: The module defining it, ``"depth_edges_conv"``.
        kind: The registry kind, ``"backbone"``.
    """

    plugin: str
    distribution: str
    package: str
    class_name: str
    module: str
    kind: str


def plugin_names(name: str, kind: str, class_name: str | None = None) -> PluginNames:
    """Derive every spelling from ``name``, checking it.

    Args:
        name: Lowercase letters, digits and single ``_`` or ``-`` separators, starting with
            a letter, without the ``obsnets`` prefix (e.g. ``"depth_edges"``).
        kind: A key of :data:`SCAFFOLD_KINDS` (``"encoder-core"`` is read as
            ``"encoder_core"``).
        class_name: The component class name; default: ``name`` in CamelCase plus the kind's
            suffix.

    Raises:
        ConfigError: the name, kind or class name cannot be used, with the fix.
    """
    kind = kind.replace("-", "_")
    if kind not in SCAFFOLD_KINDS:
        choices = ", ".join(k.replace("_", "-") for k in SCAFFOLD_KINDS)
        raise ConfigError(
            f"unknown kind {kind!r}; choose one of {choices}.{suggestion(kind, SCAFFOLD_KINDS)}"
        )
    if not NAME_PATTERN.fullmatch(name):
        fixed = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        fixed = fixed if NAME_PATTERN.fullmatch(fixed) else "depth_edges"
        raise ConfigError(
            f"{name!r} is not a valid plugin name: use lowercase letters, digits "
            f"and single '_' or '-' between words, starting with a letter (e.g. {fixed!r})."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"{name!r} is {len(name)} characters long; keep plugin names to "
            f"{MAX_NAME_LENGTH} (they are repeated in the package, module and class names)."
        )
    plugin = name.replace("-", "_")
    if plugin.startswith("obsnets"):
        bare = plugin.removeprefix("obsnets").strip("_") or "mything"
        raise ConfigError(
            f"Give the plugin name without the 'obsnets' prefix ({bare!r}); the "
            f"distribution is named obsnets-<name> for you."
        )
    if plugin in RESERVED:
        raise ConfigError(
            f"{plugin!r} is taken by obsnets itself (obsnets-{plugin}); choose another name."
        )
    camel = "".join(part.capitalize() for part in plugin.split("_"))
    suffix = SCAFFOLD_KINDS[kind][0]
    chosen = class_name or (camel if camel.endswith(suffix) else camel + suffix)
    if not chosen.isidentifier() or keyword.iskeyword(chosen) or not chosen[0].isupper():
        raise ConfigError(
            f"class name {chosen!r} must be a Python identifier starting with an "
            f"uppercase letter (e.g. {camel + suffix!r})."
        )
    _check_unclaimed(chosen)
    module = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", chosen).lower()
    return PluginNames(
        plugin=plugin,
        distribution="obsnets-" + plugin.replace("_", "-"),
        package="obsnets_" + plugin,
        class_name=chosen,
        module=module,
        kind=kind,
    )


def _check_unclaimed(class_name: str) -> None:
    from obsnets.registry import registry

    taken = registry.find(class_name)
    if taken:
        raise ConfigError(
            f"a component named {class_name!r} already exists "
            f"({taken[0].kind}, from {taken[0].provider_label}); two providers of one name "
            f"make the plain name ambiguous. Choose another name or pass --class-name."
        )


def create_plugin(
    name: str, kind: str, directory: str | Path | None = None, class_name: str | None = None
) -> tuple[PluginNames, Path, list[Path]]:
    """Write a plugin distribution with one component of ``kind``.

    Args:
        name: The plugin name (see :func:`plugin_names`).
        kind: The component kind (see :data:`SCAFFOLD_KINDS`).
        directory: Where to write it; default ``./obsnets-<name>``. It must not exist, or be
            empty.
        class_name: The component class name (default derived from ``name``).

    Returns:
        The names, the directory, and the files written (relative to it).

    Raises:
        ConfigError: an invalid name or kind, or a directory that exists and is not empty.
    """
    names = plugin_names(name, kind, class_name)
    target = Path(directory) if directory is not None else Path(names.distribution)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(
            f"{str(target)!r} already exists and is not an empty directory; "
            f"nothing was written. Choose another --dir or remove it."
        )
    files = _render_all(names)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write into a sibling temporary directory and rename it: a failure leaves nothing behind.
    staging = new_folder(target.parent, ".obsnets-new-plugin-")
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return names, target, sorted(Path(p) for p in files)


def _render_all(names: PluginNames) -> dict[str, str]:
    from obsnets import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    _, summary, blurb = SCAFFOLD_KINDS[names.kind]
    values = {
        "plugin": names.plugin,
        "distribution": names.distribution,
        "package": names.package,
        "class_name": names.class_name,
        "module": names.module,
        "kind": names.kind,
        "summary": summary,
        "blurb": blurb,
        "obsnets_requirement": f"obsnets>={major}.{minor},<{major}.{minor + 1}",
        "usage_intro": USAGE_INTRO[names.kind],
        "usage": json.dumps(USAGE[names.kind], indent=2).replace("$c", names.class_name),
    }
    package, module = names.package, names.module
    layout = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        "CONTRIBUTING.md": "CONTRIBUTING.md.tmpl",
        "LICENSE": "LICENSE.tmpl",
        f"{package}/__init__.py": "package/__init__.py.tmpl",
        f"{package}/plugin.py": "package/plugin.py.tmpl",
        f"{package}/{module}.py": f"kinds/{names.kind}.py.tmpl",
        f"{package}/py.typed": None,
        f"tests/test_{module}.py": f"kinds/{names.kind}_test.py.tmpl",
        f"tests/test_{names.plugin}_plugin.py": "tests/test_plugin.py.tmpl",
    }
    templates = resources.files("obsnets.scaffold") / "templates"
    rendered = {}
    for relative, template in layout.items():
        if template is None:
            rendered[relative] = ""
            continue
        source = templates.joinpath(*template.split("/")).read_text()
        rendered[relative] = Template(source).substitute(values)
    return rendered
