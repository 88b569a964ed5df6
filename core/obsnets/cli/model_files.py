"""Opening model files written by other libraries, through the plugins that know them.

The core knows no foreign format: it asks the ``obsnets_open_model_file`` hook (see
:mod:`obsnets.hookspecs`), which plugins such as obsnets-robomimic implement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsnets.errors import ConfigError
from obsnets.plugins import get_plugin_manager

__all__ = ["open_model_file", "recognise_model_file"]


def recognise_model_file(path: str | Path) -> dict[str, Any] | None:
    """Ask the installed plugins to open ``path``; ``None`` when none recognises it.

    Returns:
        The hook's answer: ``{"format", "networks", "details"}``.

    Raises:
        ConfigError: a plugin answered with something else than the hook specifies.
        ObsnetsError: the plugin that recognised the file found it broken or unsafe.
    """
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
    if not Path(path).is_file():
        raise ConfigError(f"No file at {str(path)!r}.")
    answer = recognise_model_file(path)
    if answer is None:
        raise ConfigError(
            f"{str(path)!r} is not a model file any installed plugin recognises (robomimic "
            f"checkpoints need obsnets-robomimic: pip install obsnets-robomimic)."
        )
    return answer
