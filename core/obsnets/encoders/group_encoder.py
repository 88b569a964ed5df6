"""``ObservationGroupEncoder``: one ObservationEncoder per observation group, concatenated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, cast

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.blocks.key_module_dict import KeyModuleDict, name_of_key
from obsnets.encoders._checks import as_group_shapes
from obsnets.encoders.factory import ObsModalities, obs_encoder_factory
from obsnets.encoders.observation_encoder import ObservationEncoder
from obsnets.errors import InvalidKwargsError

__all__ = ["ObservationGroupEncoder"]


class ObservationGroupEncoder(NetworkBase):
    """Encodes several observation groups (``obs``, ``goal``, ``subgoal``, ...) into one vector.

    Each group gets its own :class:`ObservationEncoder` built by
    :func:`obs_encoder_factory`; ``forward`` concatenates their features in the group order
    of ``observation_group_shapes``.

    Args:
        observation_group_shapes: Group -> {observation key -> shape}, in order, e.g.
            ``{"obs": {"robot0_eef_pos": (3,)}, "goal": {"object": (10,)}}``.
        feature_activation: Activation after each key's core (see ObservationEncoder).
        encoder_kwargs: Per-modality encoder settings (see :func:`obs_encoder_factory`).
        obs_modalities: Modality -> observation keys, shared by every group.

    Shapes: ``forward(obs={k: (B, ...)}, goal={...}) -> (B, D)``. Encoders live under
    ``nets.<group>`` (robomimic's keys; ``nets`` is a
    :class:`~obsnets.blocks.KeyModuleDict`, so any string names a group) and ``forward``
    runs the encoders ``nets`` holds at call time.

    Differs from robomimic: a missing group, or a group passed as ``None``, raises an error
    naming the groups expected and given (robomimic asserted, or crashed on ``None``); an
    empty group is a configuration error.
    """

    def __init__(
        self,
        observation_group_shapes: Mapping[str, Mapping[str, Sequence[int]]],
        feature_activation: type[nn.Module] | str | None = nn.ReLU,
        encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        super().__init__()
        groups = as_group_shapes(
            "ObservationGroupEncoder", "observation_group_shapes", observation_group_shapes
        )
        self.observation_group_shapes = groups
        self.nets = KeyModuleDict(
            {
                group: obs_encoder_factory(
                    obs_shapes=shapes,
                    feature_activation=feature_activation,
                    encoder_kwargs=encoder_kwargs,
                    obs_modalities=obs_modalities,
                )
                for group, shapes in groups.items()
            },
            owner="ObservationGroupEncoder.nets",
        )
        # (group, its name in nets), in order, from the constructor's arguments
        self._groups = tuple((group, name_of_key(group)) for group in groups)

    def forward(self, **inputs: Mapping[str, torch.Tensor] | None) -> torch.Tensor:
        """Encode every group and concatenate.

        Args:
            **inputs: One observation dict per group, ``{key: (B, *shape)}``; groups not
                in ``observation_group_shapes`` (or set to ``None`` and not expected) are
                ignored.

        Returns:
            ``(B, D)`` features, groups in order.

        Raises:
            InvalidKwargsError: an expected group is missing or ``None``.
        """
        # the live tree, through _modules: what attribute access returns, but cheaper
        encoders: dict[str, Any] = self._modules["nets"]._modules  # type: ignore[union-attr]
        features = []
        for group, name in self._groups:
            obs = inputs.get(group)
            if obs is None:
                self._raise_missing(group, inputs)
            features.append(encoders[name](obs))
        return features[0] if len(features) == 1 else torch.cat(features, dim=-1)

    def _encoder(self, group: str) -> ObservationEncoder:
        return cast(ObservationEncoder, self.nets[group])

    def _raise_missing(self, group: str, inputs: Mapping[str, Any]) -> NoReturn:
        state = "None" if group in inputs else "missing"
        raise InvalidKwargsError(
            f"ObservationGroupEncoder: observation group {group!r} is {state}. Expected "
            f"groups: {list(self.observation_group_shapes)}; given: "
            f"{[g for g, v in inputs.items() if v is not None]}. Pass each group as a keyword "
            f"argument, e.g. forward(obs={{...}}, goal={{...}})."
        )

    def output_shape(self, input_shape: Any = None) -> list[int]:
        """``[D]``: the summed feature size of every group (``input_shape`` is ignored)."""
        return [sum(self._encoder(g).output_shape()[0] for g, _ in self._groups)]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for group, _ in self._groups:
            body = repr(self._encoder(group)).replace("\n", "\n    ")
            lines.append(f"  group={group}")
            lines.append(f"    {body}")
        lines.append(")")
        return "\n".join(lines)
