"""Saved models on the Hugging Face Hub: ``hf://`` references and downloads through its cache.

A saved model (config.json + model.safetensors + README.md, see :mod:`obsnets.saving`) can live
in a Hub model repository. Where a model is named:

- ``"hf://org/name"`` or ``"hf://org/name@revision"`` (a branch, tag or commit) is always the
  Hub, for :func:`obsnets.load` and ``from_pretrained`` alike;
- a ``pathlib.Path`` is always a local folder;
- a string naming something that exists on disk is that local folder: an existing local folder
  wins, as in ``transformers``;
- otherwise ``from_pretrained`` reads a string of the form ``"org/name"`` as a Hub repository
  id; :func:`obsnets.load` does not (it takes folders and ``hf://`` references) and its error
  says to write ``hf://org/name``.

Downloads go through ``huggingface_hub.snapshot_download`` (only the files of a saved model),
so the Hugging Face cache and its settings apply: ``HF_HOME`` / ``HF_HUB_CACHE`` choose the
cache, ``HF_HUB_OFFLINE=1`` (or ``local_files_only=True``) uses only what is cached, ``HF_TOKEN``
or ``hf auth login`` reach private repositories. The downloaded files are data, loaded as any
saved folder is (nothing in them is imported or run); the cache stores them as symlinks into
its ``blobs/`` folder, which the loader follows only while they stay inside the repository's
cache folder (``models--org--name``).

Needs the optional extra: ``pip install "obsnets[hub]"``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from obsnets.errors import ConfigError, HubError, PluginLoadError
from obsnets.plugin_compatibility import installed_obsnets_version

__all__ = [
    "HUB_SCHEME",
    "HubReference",
    "LocatedModel",
    "check_repo_id",
    "check_revision",
    "download_model",
    "import_huggingface_hub",
    "locate_model",
    "parse_hub_reference",
]

HUB_SCHEME = "hf://"
INSTALL_HINT = 'pip install "obsnets[hub]"'

# The Hub's own rule (huggingface_hub.utils.validate_repo_id), with the namespace required:
# obsnets models are published as "org/name".
_PART = r"[A-Za-z0-9_](?:[\w\-.]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"{_PART}/{_PART}")


@dataclass(frozen=True)
class HubReference:
    """A model repository on the Hub, at a revision.

    Attributes:
        repo_id: ``"org/name"``.
        revision: A branch, tag or commit hash; ``None`` for the default branch.
    """

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        revision = f"@{self.revision}" if self.revision is not None else ""
        return f"{HUB_SCHEME}{self.repo_id}{revision}"


@dataclass(frozen=True)
class LocatedModel:
    """Where a saved model's files are on disk.

    Attributes:
        folder: The folder holding config.json (a local folder or a Hub cache snapshot).
        symlinks_within: For a Hub snapshot, the repository's cache folder: files may be
            symlinks whose real path stays inside it. ``None`` for a local folder (no symlinks).
        reference: The Hub repository it came from, if any.
    """

    folder: Path
    symlinks_within: Path | None = None
    reference: HubReference | None = None


def check_repo_id(repo_id: object, where: str = "repo_id") -> str:
    """Return ``repo_id`` if it is a valid ``"org/name"`` Hub repository id, else raise.

    Raises:
        ConfigError: it is not a string of the form ``org/name`` with letters, digits,
            ``-``, ``_`` and ``.`` (at most 96 each, no ``--`` or ``..``).
    """
    if (
        not isinstance(repo_id, str)
        or not _REPO_ID.fullmatch(repo_id)
        or "--" in repo_id
        or ".." in repo_id
        or repo_id.endswith(".git")
    ):
        raise ConfigError(
            f"{where} must be a Hugging Face Hub model repository id 'org/name' (letters, "
            f"digits, '-', '_', '.'; no '--' or '..'), e.g. 'my-lab/bc-rnn-lift'; got "
            f"{repo_id!r}."
        )
    return repo_id


def check_revision(revision: object, where: str) -> str | None:
    """Return ``revision`` (``None`` for the default branch) if it can name a branch, tag or
    commit, else raise :class:`~obsnets.errors.ConfigError` naming ``where``."""
    if revision is None:
        return None
    if not isinstance(revision, str) or not revision.strip() or revision != revision.strip():
        raise ConfigError(
            f"The revision of {where} must be a branch, tag or commit hash (e.g. 'main', "
            f"'v1.0'); got {revision!r}."
        )
    return revision


def parse_hub_reference(text: str) -> HubReference | None:
    """Read ``"hf://org/name[@revision]"``; ``None`` when ``text`` does not start with ``hf://``.

    Args:
        text: A model reference, e.g. ``"hf://my-lab/bc-rnn-lift@v1.0"``.

    Raises:
        ConfigError: it starts with ``hf://`` but the repository id or revision is malformed.
    """
    if not text.startswith(HUB_SCHEME):
        return None
    body = text[len(HUB_SCHEME) :]
    repo_id, at, revision = body.partition("@")
    check_repo_id(repo_id, where=f"The repository id in {text!r}")
    if at and not revision:
        raise ConfigError(f"{text!r} ends with '@': write hf://{repo_id}@REVISION, or no '@'.")
    return HubReference(repo_id, check_revision(revision or None, text))


def import_huggingface_hub() -> ModuleType:
    """Return the ``huggingface_hub`` module.

    Raises:
        PluginLoadError: it is not installed (the message says ``pip install "obsnets[hub]"``).
    """
    try:
        import huggingface_hub
    except ImportError as exc:
        raise PluginLoadError(
            f"Loading or sharing models on the Hugging Face Hub needs huggingface_hub, which "
            f"is not installed: {INSTALL_HINT}"
        ) from exc
    return huggingface_hub


def locate_model(
    source: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    bare_repo_ids: bool = False,
    files: Sequence[str],
) -> LocatedModel:
    """Find the folder of the saved model ``source`` names, downloading it if it is on the Hub.

    Args:
        source: A local folder, ``"hf://org/name[@revision]"``, or (with ``bare_repo_ids``)
            ``"org/name"``; see the module docstring for how they are told apart.
        revision: The Hub revision (branch, tag or commit); not with an ``@revision`` in
            ``source``, nor with a local folder.
        cache_dir: The Hugging Face cache to use instead of ``HF_HUB_CACHE``.
        local_files_only: Use only the cache, never the network.
        bare_repo_ids: Read ``"org/name"`` that is not a local path as a Hub repository id.
        files: The files of the saved model to download.

    Raises:
        ConfigError: a malformed reference, a revision given twice or for a local folder, no
            such repository or revision, or a repository that holds no obsnets model.
        HubError: the model is not cached and cannot be downloaded (offline, network, access).
        PluginLoadError: huggingface_hub is not installed.
    """
    reference = _hub_reference(source, bare_repo_ids)
    if reference is None:
        if revision is not None:
            raise ConfigError(
                f"revision={revision!r} applies to Hugging Face Hub models, but {str(source)!r} "
                f"is a local folder. Drop revision, or name the Hub model as "
                f"'hf://org/name'."
            )
        return LocatedModel(Path(source))
    if revision is not None:
        if reference.revision is not None:
            raise ConfigError(
                f"{str(reference)!r} names revision {reference.revision!r} and revision="
                f"{revision!r} is passed too; give it once."
            )
        reference = HubReference(reference.repo_id, check_revision(revision, str(reference)))
    try:
        folder = download_model(
            reference, cache_dir=cache_dir, local_files_only=local_files_only, files=files
        )
    except (ConfigError, HubError) as exc:
        if str(source).startswith(HUB_SCHEME):
            raise
        # A mistyped local path reads as a Hub id: say why the Hub was asked.
        raise type(exc)(
            f"There is no local folder {str(source)!r}, so it was read as a Hugging Face Hub "
            f"model id. {exc}"
        ) from exc
    return LocatedModel(folder, _repository_cache_folder(folder), reference)


def _hub_reference(source: str | Path, bare_repo_ids: bool) -> HubReference | None:
    if isinstance(source, Path):
        return None
    if not isinstance(source, str):
        raise ConfigError(
            f"A saved model is named by a folder path or 'hf://org/name'; got "
            f"{type(source).__name__} {source!r}."
        )
    reference = parse_hub_reference(source)
    if reference is not None or os.path.lexists(source):
        return reference
    if _REPO_ID.fullmatch(source):
        if bare_repo_ids:
            return HubReference(check_repo_id(source))
        raise ConfigError(
            f"No saved obsnets model at {source!r}: there is no such folder. To load it from "
            f"the Hugging Face Hub, write 'hf://{source}'."
        )
    return None


def download_model(
    reference: HubReference,
    *,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    files: Sequence[str],
) -> Path:
    """Download ``files`` of a Hub repository into the Hugging Face cache; return the snapshot.

    Files already cached are not downloaded again; offline (``HF_HUB_OFFLINE=1`` or
    ``local_files_only``), only the cache is read.

    Args:
        reference: The repository and revision.
        cache_dir: The cache folder; ``None`` uses huggingface_hub's (``HF_HUB_CACHE``, under
            ``HF_HOME``).
        local_files_only: Never reach the network.
        files: File names to fetch (e.g. config.json, model.safetensors, README.md).

    Returns:
        The snapshot folder ``<cache>/models--org--name/snapshots/<commit>``.

    Raises:
        ConfigError: no such repository or revision, or it holds no config.json.
        HubError: not cached and cannot be downloaded.
        PluginLoadError: huggingface_hub is not installed.
    """
    hub = import_huggingface_hub()
    from huggingface_hub import constants, errors

    cache = Path(cache_dir if cache_dir is not None else constants.HF_HUB_CACHE)
    where = f"{str(reference)!r} (repository {reference.repo_id!r}, revision " + (
        f"{reference.revision!r})" if reference.revision is not None else "the default branch)"
    )
    looked = cache / ("models--" + reference.repo_id.replace("/", "--"))
    try:
        folder = Path(
            hub.snapshot_download(
                reference.repo_id,
                repo_type="model",
                revision=reference.revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                allow_patterns=list(files),
                library_name="obsnets",
                library_version=installed_obsnets_version(),
            )
        )
    except errors.LocalEntryNotFoundError as exc:
        revision = f" --revision {reference.revision}" if reference.revision is not None else ""
        offline = local_files_only or constants.HF_HUB_OFFLINE
        why = (
            "downloads are off (local_files_only=True or HF_HUB_OFFLINE=1)"
            if offline
            else "the Hub could not be reached"
        )
        raise HubError(
            f"Cannot load {where}: it is not in the Hugging Face cache (looked in "
            f"{str(looked)!r}) and {why}. Go online (unset HF_HUB_OFFLINE, pass "
            f"local_files_only=False), or download it where you are online with "
            f"`hf download {reference.repo_id}{revision}` into the same cache (HF_HOME / "
            f"HF_HUB_CACHE, or cache_dir)."
        ) from exc
    except errors.GatedRepoError as exc:
        raise HubError(
            f"Cannot download {where}: the repository is gated. Accept its terms on "
            f"https://huggingface.co/{reference.repo_id} and log in (`hf auth login` or "
            f"HF_TOKEN)."
        ) from exc
    except errors.RepositoryNotFoundError as exc:
        raise ConfigError(
            f"Cannot load {where}: no such model repository on the Hugging Face Hub (or it is "
            f"private: log in with `hf auth login` or set HF_TOKEN). Check the name."
        ) from exc
    except errors.RevisionNotFoundError as exc:
        raise ConfigError(
            f"Cannot load {where}: the repository has no revision {reference.revision!r}. "
            f"Use a branch, tag or commit hash it has, or leave revision out for its default "
            f"branch."
        ) from exc
    except errors.HFValidationError as exc:
        raise ConfigError(f"Cannot load {where}: {exc}") from exc
    except Exception as exc:  # the network boundary: the rest of huggingface_hub's errors
        raise HubError(
            f"Cannot download {where} into {str(cache)!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if not (folder / "config.json").is_file():
        raise ConfigError(
            f"{where} holds no config.json (snapshot {str(folder)!r}): it is not an obsnets "
            f"saved model, or an earlier download stopped short (go online to complete it)."
        )
    return folder


def _repository_cache_folder(snapshot: Path) -> Path:
    """``<cache>/models--org--name`` for ``<cache>/models--org--name/snapshots/<commit>``."""
    repository = snapshot.parent.parent
    if snapshot.parent.name != "snapshots" or not repository.name.startswith("models--"):
        raise HubError(
            f"huggingface_hub returned {str(snapshot)!r}, which is not a snapshot folder of "
            f"its cache (<cache>/models--org--name/snapshots/<commit>)."
        )
    return Path(os.path.realpath(repository))
