"""Windows of steps within recorded episodes: observation histories and action chunks."""

from __future__ import annotations

import numpy as np

__all__ = ["window_rows"]


def window_rows(episode: np.ndarray, step: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For every recorded row, the rows of its episode at ``step + offsets``, clamped.

    Rows are recorded steps of several episodes in any order; each episode's steps run from
    0 without gaps. Offsets before an episode's first step give its first row, offsets past
    its last step its last row (robomimic's padding of frame stacks and action sequences).

    Args:
        episode: Episode index of each row, ``(N,)`` ints from 0.
        step: Step of each row within its episode, ``(N,)``.
        offsets: Step offsets ``(K,)``, e.g. ``[-1, 0]`` for two frames ending at the row.

    Returns:
        Row indices ``(N, K)``.
    """
    lengths = np.bincount(episode)
    table = np.zeros((len(lengths), int(lengths.max())), dtype=np.int64)
    table[episode, step] = np.arange(len(episode))
    last = (lengths[episode] - 1)[:, None]
    steps = np.clip(step[:, None] + offsets[None, :], 0, last)  # (N, K)
    rows: np.ndarray = table[episode[:, None], steps]
    return rows
