"""Opening model files written by other libraries, through the plugins that know them.

The core knows no foreign format: it asks the ``obsnets_open_model_file`` hook (see
:mod:`obsnets.hookspecs`), which plugins such as obsnets-robomimic implement. A Hugging Face
Hub reference, ``hf://org/name[@revision]``, is opened here: the obsnets saved model it names
is downloaded through the Hugging Face cache and loaded (see :mod:`obsnets.hub`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsnets.errors import ConfigError
from obsnets.hub import HUB_SCHEME, locate_model
from obsnets.plugins import get_plugin_manager

__all__ = ["is_model_reference", "open_model_file", "recognise_model_file"]

HUB_FORMAT = "obsnets saved model (Hugging Face Hub)"


def is_model_reference(path: str | Path) -> bool:
    """Whether ``path`` names a model file or a Hub model (``hf://...``) rather than a config."""
    return str(path).startswith(HUB_SCHEME) or Path(path).is_file()


def _open_hub_model(reference: str) -> dict[str, Any]:
    """Download and load the saved model ``hf://org/name[@revision]`` names."""
    from obsnets.saving import MODEL_FILES, load_located

    located = locate_model(reference, files=MODEL_FILES)
    model = load_located(located)
    details = {"repository": str(located.reference), "snapshot": str(located.folder)}
    return {"format": HUB_FORMAT, "networks": {type(model).__name__: model}, "details": details}


def recognise_model_file(path: str | Path) -> dict[str, Any] | None:
    """Ask the installed plugins to open ``path``; ``None`` when none recognises it.

    Args:
        path: A model file, or ``hf://org/name[@revision]`` (an obsnets saved model on the
            Hugging Face Hub, always recognised).

    Returns:
        The hook's answer: ``{"format", "networks", "details"}``.

    Raises:
        ConfigError: a plugin answered with something else than the hook specifies.
        ObsnetsError: the plugin that recognised the file found it broken or unsafe; the Hub
            model cannot be fetched or loaded.
    """
    if str(path).startswith(HUB_SCHEME):
        return _open_hub_model(str(path))
    answer = get_plugin_manager().hook.obsnets_open_model_file(path=str(path))
    if answer is None:
        return None
    if not isinstance(answer, dict) or not {"format", "networks", "details"} <= set(answer):
        raise ConfigError(
            f"A plugin's obsnets_open_model_file answered {type(answer).__name__} for "
            f"{str(path)!r}; expected a dict with 'format', 'networks' and 'details'."
        )
    return answer


def open_model_file(path: str | Path) -> dict[str, Any]:
    """Like :func:`recognise_model_file`, but an unrecognised file is an error.

    Raises:
        ConfigError: no installed plugin recognises the file (or it does not exist).
    """
    if not is_model_reference(path):
        raise ConfigError(f"No file at {str(path)!r}.")
    answer = recognise_model_file(path)
    if answer is None:
        raise ConfigError(
            f"{str(path)!r} is not a model file any installed plugin recognises (robomimic "
            f"checkpoints need obsnets-robomimic: pip install obsnets-robomimic)."
        )
    return answer
