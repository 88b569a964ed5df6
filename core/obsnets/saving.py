"""Saving and loading models: a JSON config naming every component, weights in safetensors.

A saved model is a directory::

    config.json          what to build (component name, qualified name, kind, kwargs), the
                         qualified name of every component inside it, which plugin
                         distributions provided them (with versions), and a description of
                         every weight tensor (shape, dtype, sha256)
    model.safetensors    the weights; tensors shared under several state_dict keys are stored
                         once, and config.json lists the aliases (:mod:`obsnets.saved_weights`)
    README.md            a generated model card (:mod:`obsnets.model_card`): what the Hugging
                         Face Hub shows; loading never reads it, and folders without it load

A saved model can also be loaded from the Hugging Face Hub (``"hf://org/name[@revision]"``,
downloaded through its cache, see :mod:`obsnets.hub`) and published there with
:func:`obsnets.hub_upload.push_to_hub`.

Loading rebuilds the model through the registry (nothing is unpickled or evaluated): a missing
plugin is an error naming the distribution to install, a version mismatch a warning, corrupted
or mismatched weights an error naming the tensor. A saved model loads from its folder alone:

- plain names inside the kwargs (``"backbone_class": "ResNet18Conv"``, defaults, names a
  plugin's defaults hook supplied) resolve to the classes recorded under ``components`` (see
  :func:`obsnets.registry.pinned_names`), so a plugin installed later that provides the same
  plain name changes nothing;
- the model is built inside :func:`obsnets.building.skip_pretrained_weights`, so a
  ``pretrained`` file or hub cache named in the kwargs is never read (the saved weights
  replace whatever it would have given).

Saving never loses a model and never writes one that cannot be loaded: the folder is replaced
atomically (:mod:`obsnets.saved_folder`), a folder holding anything but an obsnets saved model
is only replaced when asked to (``overwrite=True``), and a model whose structure its config does
not reproduce (changed after construction) is refused before anything is written
(:mod:`obsnets.saved_structure`). Each tensor keeps its dtype. config.json is checked field by
field (:mod:`obsnets.saved_config`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import torch
from safetensors.torch import save_file

from obsnets.building import build_component, skip_pretrained_weights
from obsnets.errors import ConfigError, ObsnetsError, PluginLoadError
from obsnets.hub import LocatedModel, locate_model
from obsnets.model_card import MODEL_CARD_FILE, render_model_card
from obsnets.registry import ComponentEntry, pinned_names, qualified_name_of, registry
from obsnets.saved_config import FORMAT_VERSION, STORABLE_DTYPES, parse_saved_config
from obsnets.saved_folder import FolderReader, read_folder, unreplaceable_contents, write_folder
from obsnets.saved_structure import check_rebuilds_same
from obsnets.saved_weights import dedupe_tensors, describe_tensor, load_state, read_weights
from obsnets.trust import refusing_imports_from

__all__ = [
    "CONFIG_FILE",
    "MODEL_FILES",
    "WEIGHTS_FILE",
    "PluginVersionWarning",
    "load",
    "load_located",
    "read_saved_config",
    "save_pretrained",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, MODEL_CARD_FILE)
"""The files a saved model is written as, and downloaded as from the Hub."""
CORE_DISTRIBUTION = "obsnets"
MAX_CONFIG_BYTES = 64 * 2**20
MAX_WEIGHTS_BYTES = 2**40
_STORABLE = frozenset(STORABLE_DTYPES.values())


class PluginVersionWarning(UserWarning):
    """A saved model was made with another version of a plugin than the one installed."""


def save_pretrained(
    model: torch.nn.Module, directory: str | Path, *, overwrite: bool = False
) -> Path:
    """Save ``model`` to ``directory`` (created if needed) as config.json + model.safetensors.

    A model card, README.md, is written beside them (:mod:`obsnets.model_card`: the network,
    its components, the plugins and versions it needs, how to install and load it); it counts
    as part of the saved model, so saving again replaces it.

    The folder is replaced in one step: readers, and a save that is interrupted at any
    moment, see the old model or the new one, never a mix. Each tensor keeps its dtype.

    Args:
        model: A registered obsnets component (any kind), built with arguments that can be
            written as JSON: numbers, strings, lists, mappings, ``torch.nn`` classes and
            registered component classes; its structure must be what those arguments build
            (not changed after construction).
        directory: Where to write: a new or empty folder, or one holding an obsnets saved
            model (which is replaced, its README.md and stale files included).
        overwrite: Also replace a folder (or file) holding anything else, and everything in
            it.

    Returns:
        The directory.

    Raises:
        ConfigError: the model is not a registered component, one of its constructor
            arguments cannot be written as JSON (e.g. a module instance), a tensor has a
            dtype a saved model cannot hold (complex, or none of ``STORABLE_DTYPES`` in
            :mod:`obsnets.saved_config`), the model's structure is not what its saved config
            rebuilds (e.g. a submodule replaced after construction), or ``directory`` holds
            other files and ``overwrite`` is false. Nothing is written then.
    """
    return _save(model, directory, overwrite=overwrite)


def _save(
    model: torch.nn.Module,
    directory: str | Path,
    *,
    overwrite: bool = False,
    repo_id: str | None = None,
) -> Path:
    """:func:`save_pretrained`, with a model card naming the Hub repository ``repo_id``.

    :func:`obsnets.hub_upload.push_to_hub` saves through this, so the card it uploads is
    rendered once, for its repository (``None``: a placeholder, as ``save_pretrained`` writes).
    """
    entry = _entry_for(model)
    arguments = getattr(model, "init_arguments", None)
    if arguments is None:
        raise ConfigError(f"{type(model).__name__} does not record its constructor arguments.")
    kwargs = {name: _encode(value, f"{entry.name}.{name}") for name, value in arguments.items()}
    tensors, tied = dedupe_tensors(model.state_dict())
    unstorable = {k: t.dtype for k, t in tensors.items() if t.dtype not in _STORABLE}
    if unstorable:
        _refuse_dtypes(entry.name, unstorable)
    components = _components(model)
    config = {
        "format_version": FORMAT_VERSION,
        "component": {
            "name": entry.name,
            "qualified_name": entry.qualified_name,
            "kind": entry.kind,
            "kwargs": kwargs,
        },
        "components": [
            {"kind": e.kind, "name": e.name, "qualified_name": e.qualified_name} for e in components
        ],
        "requires": _requirements(components),
        "weights": {
            "file": WEIGHTS_FILE,
            "tensors": {k: describe_tensor(t) for k, t in tensors.items()},
            "tied": tied,
        },
    }
    text = json.dumps(config, indent=2) + "\n"
    saved = json.loads(text)  # exactly what load will read
    card = render_model_card(saved, repo_id=repo_id)
    component = saved["component"]
    with skip_pretrained_weights(), pinned_names(_recorded_components(saved)):
        check_rebuilds_same(
            model,
            lambda: build_component(
                component["qualified_name"], component["kwargs"], kind=component["kind"]
            ),
        )
    directory = Path(directory)
    target = Path(os.path.realpath(directory))  # a symlinked folder: replace what it points to
    if not overwrite:
        _check_replaceable(target, directory)

    def write(folder: Path) -> None:
        save_file(tensors, str(folder / WEIGHTS_FILE))
        (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
        (folder / MODEL_CARD_FILE).write_text(card, encoding="utf-8")

    write_folder(target, write)
    return directory


def _refuse_dtypes(name: str, unstorable: Mapping[str, torch.dtype]) -> NoReturn:
    """Raise the ConfigError for tensors whose dtypes a saved model cannot hold."""
    listed = [f"{k!r} ({str(d).removeprefix('torch.')})" for k, d in unstorable.items()]
    more = f" and {len(listed) - 6} more" if len(listed) > 6 else ""
    shown = ", ".join(listed[:6]) + more
    complex_note = (
        " Complex weights cannot be saved: a saved model is rebuilt with real ones."
        if any(d.is_complex for d in unstorable.values())
        else ""
    )
    raise ConfigError(
        f"Cannot save {name}: tensors {shown} have dtypes a saved model cannot hold.{complex_note} "
        f"Convert them to one of {sorted(STORABLE_DTYPES)} (e.g. model.float()). Nothing was "
        f"written."
    )


def _check_replaceable(target: Path, directory: Path) -> None:
    """Raise unless ``target`` is absent, empty, or holds an obsnets saved model only."""
    what = unreplaceable_contents(target, _saved_files(target), "an obsnets saved model")
    if what is not None:
        raise ConfigError(
            f"Not saving to {str(directory)!r}: it holds {what}. Choose another folder, or pass "
            f"overwrite=True to replace it and everything in it."
        )


def _saved_files(folder: Path) -> set[str]:
    """The files of the saved model in ``folder`` (none if it does not hold one)."""
    try:
        weights = read_saved_config(folder)["weights"]["file"]
    except (ConfigError, OSError):
        return set()
    return {CONFIG_FILE, MODEL_CARD_FILE, weights}


def read_saved_config(
    directory: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> dict[str, Any]:
    """Read and check a saved model's config.json (what ``obsnets inspect`` shows).

    Args:
        directory: The saved model's folder, or ``"hf://org/name[@revision]"`` (only its
            config.json is downloaded).
        revision: For a Hub model: branch, tag or commit (see :func:`load`).
        cache_dir: For a Hub model: the Hugging Face cache folder instead of
            ``HF_HUB_CACHE``.
        local_files_only: For a Hub model: read only the cache, never the network.

    Raises:
        ConfigError: there is no saved model at ``directory``, or its config.json is
            malformed (the message names the field; see :mod:`obsnets.saved_config`).
        HubError: a Hub model that is not cached and cannot be downloaded.
    """
    located = locate_model(
        directory,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        files=(CONFIG_FILE,),
    )
    return _read_saved(located, with_weights=False).config


@dataclass(frozen=True)
class _SavedFiles:
    """A saved model's files, read from one snapshot of its folder."""

    config: dict[str, Any]
    weights: bytes


def _read_saved(located: LocatedModel, with_weights: bool) -> _SavedFiles:
    directory = located.folder
    weights_file: list[str] = []  # set once config.json is read: the file being read next

    def read(folder: FolderReader) -> _SavedFiles:
        weights_file.clear()
        raw = folder.read(CONFIG_FILE, MAX_CONFIG_BYTES)
        config = parse_saved_config(raw, str(directory / CONFIG_FILE))
        if not with_weights:
            return _SavedFiles(config, b"")
        weights_file.append(config["weights"]["file"])
        return _SavedFiles(config, folder.read(weights_file[0], MAX_WEIGHTS_BYTES))

    try:
        return read_folder(directory, read, symlinks_within=located.symlinks_within)
    except OSError as exc:
        if weights_file:
            raise ObsnetsError(
                f"Cannot read weights {str(directory / weights_file[0])!r}: {exc.strerror}."
            ) from exc
        raise ConfigError(f"No saved obsnets model at {str(directory)!r}: {exc.strerror}.") from exc


def load(
    directory: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    trust_code: bool = False,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> torch.nn.Module:
    """Rebuild a model saved with :func:`save_pretrained` and load its weights.

    The model is read from a local folder, or from the Hugging Face Hub when ``directory`` is
    ``"hf://org/name"`` or ``"hf://org/name@revision"``: its config.json, model.safetensors
    and README.md are downloaded through the Hugging Face cache (``HF_HOME``,
    ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` apply; see :mod:`obsnets.hub`) and loaded like a
    local folder, as data. A plain ``"org/name"`` is a local path here (the error for a
    missing one suggests ``hf://``); ``from_pretrained`` also takes bare Hub ids.

    The model is returned in **eval mode** (``model.training`` is false, randomizers and
    dropout off, BatchNorm using its running statistics), as ``from_pretrained`` does across
    the ecosystem; call ``model.train()`` to fine-tune it.

    Only the folder is read: a ``pretrained`` weights file or hub cache the model was first
    built from is not needed, and plain component names resolve to the classes the model was
    saved with even if another installed plugin now provides the same name.

    Args:
        directory: The saved model's directory, or ``"hf://org/name[@revision]"``.
        map_location: Device for the weights.
        trust_code: Let names in config.json that no installed plugin declares import their
            modules (see :mod:`obsnets.trust`); only for models from a source you trust.
            Off by default: loading is data only. Even with it, no module is imported from
            inside ``directory``.
        revision: For a Hub model: the branch, tag or commit to load (default: the
            repository's default branch); not with ``@revision`` in ``directory``, nor with
            a local folder.
        cache_dir: For a Hub model: the Hugging Face cache folder to use instead of
            ``HF_HUB_CACHE``.
        local_files_only: For a Hub model: use only the cache, never the network (as
            ``HF_HUB_OFFLINE=1`` does).

    Returns:
        The model, in eval mode, on ``map_location``.

    Raises:
        PluginLoadError: a distribution the model needs is not installed (for a Hub model:
            also huggingface_hub, ``pip install "obsnets[hub]"``).
        UnknownComponentError: a component the model was saved with cannot be found now.
        ConfigError: no saved model there; a malformed Hub reference, or no such repository
            or revision.
        HubError: a Hub model that is not cached and cannot be downloaded (the message names
            the repository, the revision and the cache folder looked in).
        ObsnetsError: a weight tensor is missing, unexpected, of the wrong shape or dtype, or
            its content does not match its recorded checksum.
    """
    located = locate_model(
        directory,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        files=MODEL_FILES,
    )
    return load_located(located, map_location, trust_code=trust_code)


def load_located(
    located: LocatedModel, map_location: str | torch.device = "cpu", *, trust_code: bool = False
) -> torch.nn.Module:
    """:func:`load` the saved model at a folder :func:`obsnets.hub.locate_model` found.

    Args:
        located: The folder, and for a Hub snapshot the cache folder its symlinks stay in.
        map_location: Device for the weights.
        trust_code: As for :func:`load`.

    Returns:
        The model, in eval mode, on ``map_location``.
    """
    directory = located.folder
    saved = _read_saved(located, with_weights=True)  # config and weights of one snapshot
    config = saved.config
    _check_requirements(config["requires"])
    component = config["component"]
    with (
        skip_pretrained_weights(),
        pinned_names(_recorded_components(config)),
        refusing_imports_from(directory),
    ):
        model = build_component(
            component["qualified_name"],
            component["kwargs"],
            kind=component["kind"],
            trust_code=trust_code,
        )
    state = read_weights(directory / config["weights"]["file"], saved.weights, config["weights"])
    load_state(model, state)  # on the CPU it was built on; then one move to map_location
    return model.to(map_location).eval()


def _entry_for(model: torch.nn.Module) -> ComponentEntry:
    found = registry.find(qualified_name_of(type(model)))
    if not found:
        raise ConfigError(
            f"{type(model).__name__} is not a registered obsnets component, so it cannot be "
            f"rebuilt by name; derive it from an obsnets base class (e.g. NetworkBase)."
        )
    return found[0]


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _encode(v, f"{where}[{str(k)!r}]") for k, v in value.items()}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, torch.nn.Module):
        raise ConfigError(
            f"Cannot save {where}: it is a {type(value).__name__} instance, and config.json "
            f"describes a module only by its registered class and constructor arguments. Use "
            f"a registered obsnets component instead (obsnets.MLP, or a class derived from "
            f"EncoderCore, NetworkBase or another obsnets base), or name its class "
            f"(e.g. net_class/net_kwargs), or save the state_dict with your own code. Nothing "
            f"was written."
        )
    if isinstance(value, type):
        if value.__module__.startswith("torch.nn"):
            return f"torch.nn.{value.__name__}"
        if registry.find(qualified_name_of(value)):
            return qualified_name_of(value)
    raise ConfigError(
        f"Cannot save argument {where} = {value!r}: only numbers, strings, lists, mappings, "
        f"torch.nn classes and registered component classes can be written to config.json. "
        f"Build the model from names (e.g. net_class/net_kwargs instead of a module instance)."
    )


def _components(model: torch.nn.Module) -> list[ComponentEntry]:
    """The registry entries of every component class in the model's module tree."""
    classes = {qualified_name_of(type(module)) for module in model.modules()}
    found = {e for name in classes for e in registry.find(name)}
    return sorted(found, key=lambda e: (e.kind, e.name, e.qualified_name))


def _recorded_components(config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    # parse_saved_config checked the entries' fields.
    return [(c["kind"], c["name"], c["qualified_name"]) for c in config["components"]]


def _requirements(components: list[ComponentEntry]) -> dict[str, str | None]:
    distributions = {CORE_DISTRIBUTION}
    distributions.update(e.provider for e in components if e.provider is not None)
    return {d: _installed_version(d) for d in sorted(distributions)}


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _check_requirements(requires: Mapping[str, str | None]) -> None:
    missing = [d for d in requires if _installed_version(d) is None]
    if missing:
        raise PluginLoadError(
            f"This saved model needs {', '.join(missing)}, which is not installed: "
            f"pip install {' '.join(missing)}"
        )
    for distribution, saved in requires.items():
        installed = _installed_version(distribution)
        if saved is not None and installed != saved:
            warnings.warn(
                f"Model was saved with {distribution} {saved}; {installed} is installed.",
                PluginVersionWarning,
                stacklevel=3,
            )
