"""Fixtures for the robomimic checkpoint tests: sidecars of the checkpoint files and crafted ones.

``checkpoint_path`` (the files in tests/fixtures/robomimic_checkpoints) comes from the root
conftest.py.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

CHECKPOINT_NAMES = ("bc_lowdim", "bc_rnn_gmm_image", "bc_transformer_gmm_lowdim")


@pytest.fixture
def sidecar(checkpoint_path: Callable[[str], Path]) -> Callable[[str], dict[str, Any]]:
    """``sidecar(name)``: the parsed ``<name>.expected.json``."""

    def read(name: str) -> dict[str, Any]:
        path = checkpoint_path(name).with_suffix(".expected.json")
        with path.open() as handle:
            data: dict[str, Any] = json.load(handle)
        return data

    return read


@pytest.fixture
def quietly() -> Callable[..., Any]:
    """``quietly(fn, *args, **kwargs)``: call ``fn`` ignoring ``RobomimicMigrationWarning``.

    Loading a checkpoint builds its networks with robomimic's training-time quirks (random
    draws), which that warning lists; these tests are about loading, not about the quirks.
    """
    from obsnets_robomimic import RobomimicMigrationWarning

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RobomimicMigrationWarning)
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def write_checkpoint(checkpoint_path: Callable[[str], Path], tmp_path: Path) -> Callable[..., Path]:
    """``write_checkpoint(base, algo=..., nets=..., drop=(), replace=None, config=None)``.

    A crafted file. Starts from the shared checkpoint ``base`` (read with
    ``weights_only=False``: it is our own test input), deep-merges ``algo`` into
    ``config.algo`` and ``config`` into the config, replaces ``model["nets"]``
    by ``nets`` (keys prefixed by network name), removes the top-level keys in ``drop`` and
    sets those in ``replace``; writes it with ``torch.save`` as robomimic does.
    """

    def write(
        base: str,
        algo: Mapping[str, Any] | None = None,
        nets: Mapping[str, torch.Tensor] | None = None,
        drop: tuple[str, ...] = (),
        replace: Mapping[str, Any] | None = None,
        name: str = "crafted.pth",
        config: Mapping[str, Any] | None = None,
    ) -> Path:
        data = torch.load(checkpoint_path(base), weights_only=False)
        parsed = json.loads(data["config"])
        _merge(parsed["algo"], algo or {})
        _merge(parsed, config or {})
        data["config"] = json.dumps(parsed)
        if nets is not None:
            data["model"]["nets"] = dict(nets)
        for key in drop:
            del data[key]
        data.update(replace or {})
        path = tmp_path / name
        torch.save(data, path)
        return path

    return write


def _merge(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
