"""Publishing a model on the Hugging Face Hub: :func:`push_to_hub`.

The model is saved as :func:`obsnets.saving.save_pretrained` saves it, into a temporary folder
(so the same checks apply and nothing unsaveable is uploaded), with a model card naming the
repository, and the folder is uploaded in one commit. Loading it back: ``obsnets.load("hf://org/name")``.

Needs the optional extra: ``pip install "obsnets[hub]"``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from obsnets.errors import HubError
from obsnets.hub import HubReference, check_repo_id, check_revision, import_huggingface_hub
from obsnets.saving import _entry_for, _save

__all__ = ["push_to_hub"]


def push_to_hub(
    model: torch.nn.Module,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    create_repo: bool = True,
) -> Any:
    """Upload ``model`` to the Hub model repository ``repo_id`` in one commit.

    The commit holds config.json, model.safetensors and a generated README.md (model card
    with ``library_name: obsnets``, tags, the components, the plugins and versions needed,
    the ``pip install`` line, and how to load it), exactly what :func:`save_pretrained`
    writes. Files of the same names already in the repository are replaced; others are kept.

    Args:
        model: A registered obsnets component, saveable with :func:`save_pretrained`.
        repo_id: ``"org/name"``.
        revision: The branch to commit to (created from the default branch if missing);
            ``None`` commits to the default branch.
        private: Visibility of a repository created here (``None``: the Hub's default);
            an existing repository keeps its visibility.
        commit_message: The commit message (default: ``"Upload <Network> with obsnets"``).
        token: A Hub token with write access; ``None`` uses ``HF_TOKEN`` or the one saved by
            ``hf auth login``.
        create_repo: Create the repository if it does not exist (an existing one is used
            as is); ``False`` requires it to exist.

    Returns:
        huggingface_hub's ``CommitInfo`` for the commit (``.commit_url``, ``.oid``).

    Raises:
        ConfigError: a malformed ``repo_id``, or a model :func:`save_pretrained` refuses
            (nothing is uploaded then).
        PluginLoadError: huggingface_hub is not installed (``pip install "obsnets[hub]"``).
        HubError: the Hub refused or could not be reached (the message names the repository
            and says what to check).
    """
    check_repo_id(repo_id)
    check_revision(revision, f"the upload to {repo_id!r}")
    hub = import_huggingface_hub()
    target = HubReference(repo_id, revision)
    with tempfile.TemporaryDirectory(prefix="obsnets-push-") as tmp:
        folder = _save(model, Path(tmp) / "model", repo_id=repo_id)
        message = commit_message or f"Upload {_entry_for(model).name} with obsnets"
        api = hub.HfApi(token=token, library_name="obsnets")
        try:
            if create_repo:
                api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
            if revision is not None:
                api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                repo_type="model",
                revision=revision,
                commit_message=message,
            )
        except Exception as exc:  # the network boundary: every failure is reported the same way
            raise HubError(
                f"Could not upload to {str(target)!r}: {type(exc).__name__}: {exc}. Check "
                f"that you are online and logged in with write access (`hf auth login`, "
                f"HF_TOKEN or token=), and that the repository exists or create_repo=True."
            ) from exc
