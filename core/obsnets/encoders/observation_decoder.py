"""``ObservationDecoder``: one linear head per output key, reshaped to the key's shape."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.blocks.key_module_dict import KeyModuleDict, name_of_key
from obsnets.encoders._checks import as_shape_mapping
from obsnets.errors import ConfigError, ShapeError
from obsnets.validation import check_int

__all__ = ["ObservationDecoder"]


class ObservationDecoder(NetworkBase):
    """Maps a feature vector to a dict of outputs: ``Linear(D, prod(shape))`` per key.

    Args:
        decode_shapes: Output key -> shape without batch dimension, in head order, e.g.
            ``{"action_pos": (3,), "action_orn": (4,)}``.
        input_feat_dim: Feature size ``D`` of the input.

    Shapes: ``(..., D) -> {key: (..., *decode_shapes[key])}``; the leading dimensions
    (``B``, or ``B, T``) are kept. Heads live under ``nets.<key>`` (robomimic's keys;
    ``nets`` is a :class:`~obsnets.blocks.KeyModuleDict`, so any string names an output) and
    ``forward`` runs the heads ``nets`` holds at call time.

    Differs from robomimic: a wrong feature size is a :class:`~obsnets.errors.ShapeError`
    naming the expected size, and any number of leading dimensions is accepted.
    """

    def __init__(self, decode_shapes: Mapping[str, Sequence[int]], input_feat_dim: int) -> None:
        super().__init__()
        shapes = as_shape_mapping("ObservationDecoder", "decode_shapes", decode_shapes)
        if not shapes:
            raise ConfigError("ObservationDecoder: decode_shapes must name at least one output.")
        self.obs_shapes = shapes
        self.input_feat_dim = check_int(
            "ObservationDecoder", "input_feat_dim", input_feat_dim, low=1
        )
        self.nets = KeyModuleDict(
            {k: nn.Linear(self.input_feat_dim, math.prod(s)) for k, s in shapes.items()},
            owner="ObservationDecoder.nets",
        )
        # (key, its name in nets, shape), in order, from the constructor's arguments
        self._heads = tuple((k, name_of_key(k), tuple(s)) for k, s in shapes.items())

    def output_shape(self, input_shape: Sequence[int] | None = None) -> dict[str, list[int]]:
        """``{key: shape}`` for every head (``input_shape`` is ignored)."""
        return {k: list(s) for k, s in self.obs_shapes.items()}

    def forward(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        """Decode features.

        Args:
            feats: ``(B, D)`` (or ``(B, T, D)``) features.

        Returns:
            ``{key: (B, *decode_shapes[key])}`` (or ``(B, T, ...)``).
        """
        if feats.shape[-1] != self.input_feat_dim:
            raise ShapeError(
                f"ObservationDecoder expects features of shape (..., {self.input_feat_dim}); "
                f"got a tensor of shape {tuple(feats.shape)}."
            )
        lead = feats.shape[:-1]
        # the live tree, through _modules: what attribute access returns, but cheaper
        heads: dict[str, Any] = self._modules["nets"]._modules  # type: ignore[union-attr]
        outputs = {}
        for key, name, shape in self._heads:
            out = heads[name](feats)
            # a 1-D head's output already has its shape; reshaping costs a call per head
            outputs[key] = out if len(shape) == 1 else out.reshape(*lead, *shape)
        return outputs

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for key, _, shape in self._heads:
            head = self.nets[key]
            lines.append(f"  Key(name={key}, shape={list(shape)}, modality=low_dim, net={head})")
        lines.append(")")
        return "\n".join(lines)
