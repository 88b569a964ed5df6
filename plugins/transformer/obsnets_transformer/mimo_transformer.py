"""``MIMO_Transformer``: observation-group sequences -> per-step tokens -> GPT -> output heads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.blocks import time_distributed
from obsnets.encoders import ObservationDecoder, ObservationGroupEncoder
from obsnets.encoders.factory import ObsModalities
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets.validation import check_int, check_probability
from obsnets_transformer._checks import check_heads
from obsnets_transformer.activations import build_activation
from obsnets_transformer.gpt_backbone import GPT_Backbone
from obsnets_transformer.positional_encoding import PositionalEncoding

__all__ = ["ENCODER_OUTPUTS_KEY", "MIMO_Transformer"]

ENCODER_OUTPUTS_KEY = "transformer_encoder_outputs"
"""The extra output holding the GPT's output ``(B, T, D)`` (robomimic's name)."""


class MIMO_Transformer(NetworkBase):
    """Multi-input, multi-output GPT over sequences of observation dictionaries.

    Each step's observation groups are encoded by ``nets.encoder`` (an
    :class:`~obsnets.encoders.ObservationGroupEncoder` without feature activation), projected
    to the embedding size by ``nets.embed_encoder``, given a position embedding of the step
    index ``0..T-1`` (``nets.embed_timestep`` = ``nn.Embedding``; or ``params.embed_timestep``
    ``(1, L, D)`` with ``transformer_nn_parameter_for_timesteps``; or a fixed sinusoidal
    :class:`PositionalEncoding` with ``transformer_sinusoidal_embedding``), normalised by
    ``nets.embed_ln``, passed through ``nets.embed_drop`` and the :class:`GPT_Backbone`
    ``nets.transformer``, and decoded at every step by ``nets.decoder`` (one linear head per
    output key). State-dict keys are robomimic's.

    Args:
        input_obs_group_shapes: Group -> {observation key -> shape without batch or time}.
        output_shapes: Output key -> shape, e.g. ``{"action": (7,)}``.
        transformer_embed_dim: Embedding size ``D``.
        transformer_num_layers: Transformer blocks.
        transformer_num_heads: Attention heads (divides ``D``).
        transformer_context_length: Longest sequence ``L``.
        transformer_emb_dropout: Dropout probability on the input embeddings.
        transformer_attn_dropout: Dropout probability on attention weights.
        transformer_block_output_dropout: Dropout probability on each block's outputs.
        transformer_sinusoidal_embedding: Fixed sinusoidal position encoding.
        transformer_activation: ``"relu"``, ``"gelu"`` or ``"geglu"``.
        transformer_nn_parameter_for_timesteps: Learned position embedding as one parameter
            (zeros at start) instead of an ``nn.Embedding``.
        encoder_kwargs: Per-modality encoder settings (see ``obs_encoder_factory``).
        obs_modalities: Modality -> observation keys, passed to the encoders.

    Shapes: ``forward(obs={k: (B, T, ...)}, goal=...) -> {key: (B, T, *shape)}`` plus
    ``"transformer_encoder_outputs"`` ``(B, T, D)``, for ``1 <= T <= L``.

    Differs from robomimic: ``T < L`` works (robomimic required ``T == L``); sinusoidal
    together with ``transformer_nn_parameter_for_timesteps``, an unknown activation, heads
    that do not divide ``D`` and an odd ``D`` with sinusoidal encoding are constructor errors
    (robomimic failed in forward or with an ``AttributeError``); :meth:`output_shape` also
    lists ``"transformer_encoder_outputs"``, which forward returns.
    """

    def __init__(
        self,
        input_obs_group_shapes: Mapping[str, Mapping[str, Sequence[int]]],
        output_shapes: Mapping[str, Sequence[int]],
        transformer_embed_dim: int,
        transformer_num_layers: int,
        transformer_num_heads: int,
        transformer_context_length: int,
        transformer_emb_dropout: float = 0.1,
        transformer_attn_dropout: float = 0.1,
        transformer_block_output_dropout: float = 0.1,
        transformer_sinusoidal_embedding: bool = False,
        transformer_activation: str = "gelu",
        transformer_nn_parameter_for_timesteps: bool = False,
        encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        embed_dim = check_int(owner, "transformer_embed_dim", transformer_embed_dim, low=1)
        context_length = check_int(
            owner, "transformer_context_length", transformer_context_length, low=1
        )
        check_heads(
            owner,
            embed_dim,
            check_int(owner, "transformer_num_heads", transformer_num_heads, low=1),
        )
        build_activation(owner, transformer_activation)
        if transformer_sinusoidal_embedding and transformer_nn_parameter_for_timesteps:
            raise ConfigError(
                f"{owner}: transformer_sinusoidal_embedding and "
                f"transformer_nn_parameter_for_timesteps are exclusive (a fixed encoding or a "
                f"learned parameter); set one of them to False."
            )
        if ENCODER_OUTPUTS_KEY in output_shapes:
            raise ConfigError(
                f"{owner}: output key {ENCODER_OUTPUTS_KEY!r} is reserved for the transformer's "
                f"own output; rename that output."
            )
        self.transformer_context_length = context_length
        self.transformer_embed_dim = embed_dim
        self.transformer_sinusoidal_embedding = bool(transformer_sinusoidal_embedding)
        self.transformer_nn_parameter_for_timesteps = bool(transformer_nn_parameter_for_timesteps)

        self.nets = nn.ModuleDict()
        self.params = nn.ParameterDict()
        encoder = ObservationGroupEncoder(
            observation_group_shapes=input_obs_group_shapes,
            feature_activation=None,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        self.input_obs_group_shapes = encoder.observation_group_shapes
        self.nets["encoder"] = encoder
        self.nets["embed_encoder"] = nn.Linear(encoder.output_shape()[0], embed_dim)
        if self.transformer_sinusoidal_embedding:
            self.nets["embed_timestep"] = PositionalEncoding(embed_dim)
        elif self.transformer_nn_parameter_for_timesteps:
            self.params["embed_timestep"] = nn.Parameter(torch.zeros(1, context_length, embed_dim))
        else:
            self.nets["embed_timestep"] = nn.Embedding(context_length, embed_dim)
        self.nets["embed_ln"] = nn.LayerNorm(embed_dim)
        self.nets["embed_drop"] = nn.Dropout(
            check_probability(owner, "transformer_emb_dropout", transformer_emb_dropout)
        )
        self.nets["transformer"] = GPT_Backbone(
            embed_dim=embed_dim,
            context_length=context_length,
            attn_dropout=transformer_attn_dropout,
            block_output_dropout=transformer_block_output_dropout,
            num_layers=transformer_num_layers,
            num_heads=transformer_num_heads,
            activation=transformer_activation,
        )
        self.nets["decoder"] = ObservationDecoder(
            decode_shapes=output_shapes, input_feat_dim=embed_dim
        )
        self.output_shapes = cast(ObservationDecoder, self.nets["decoder"]).obs_shapes

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """``{key: shape}`` per output head and ``[D]`` for ``"transformer_encoder_outputs"``,
        without the ``(B, T)`` leading dimensions (``input_shape`` is ignored)."""
        shapes = {k: list(s) for k, s in self.output_shapes.items()}
        shapes[ENCODER_OUTPUTS_KEY] = [self.transformer_embed_dim]
        return shapes

    def embed_timesteps(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The position embedding to add to ``embeddings`` ``(B, T, D)``: ``(1, T, D)``."""
        steps = embeddings.shape[1]
        if self.transformer_nn_parameter_for_timesteps:
            return self.params["embed_timestep"][:, :steps]
        positions = torch.arange(steps, device=embeddings.device).unsqueeze(0)  # (1, T)
        if self.transformer_sinusoidal_embedding:
            positions = positions.to(embeddings.dtype)
        embedded: torch.Tensor = self.nets["embed_timestep"](positions)
        return embedded

    def input_embedding(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encoded observations ``(B, T, F)`` -> transformer inputs ``(B, T, D)``.

        ``embed_drop(embed_ln(embed_encoder(inputs) + position embedding))``.
        """
        embeddings = self.nets["embed_encoder"](inputs)
        embeddings = embeddings + self.embed_timesteps(embeddings)
        out: torch.Tensor = self.nets["embed_drop"](self.nets["embed_ln"](embeddings))
        return out

    def _sequence_groups(self, inputs: Mapping[str, Any]) -> dict[str, dict[str, torch.Tensor]]:
        """The expected groups of ``inputs``, checked to be ``(B, T, ...)`` with one ``(B, T)``."""
        owner = type(self).__name__
        groups: dict[str, dict[str, torch.Tensor]] = {}
        lead: tuple[int, ...] | None = None
        for group, shapes in self.input_obs_group_shapes.items():
            obs = inputs.get(group)
            if not isinstance(obs, Mapping):
                raise InvalidKwargsError(
                    f"{owner}: observation group {group!r} is missing or not a dict. Expected "
                    f"groups: {list(self.input_obs_group_shapes)}; given: "
                    f"{[g for g, v in inputs.items() if v is not None]}."
                )
            for key, shape in shapes.items():
                x = obs.get(key)
                if not isinstance(x, torch.Tensor) or x.dim() != len(shape) + 2:
                    got = "missing" if x is None else f"shape {tuple(getattr(x, 'shape', ()))}"
                    raise ShapeError(
                        f"{owner}: {group}[{key!r}] must be (B, T, {', '.join(map(str, shape))})"
                        f"; got {got}."
                    )
                if lead is None:
                    lead = tuple(x.shape[:2])
                elif tuple(x.shape[:2]) != lead:
                    raise ShapeError(
                        f"{owner}: every input must share (B, T); {group}[{key!r}] has "
                        f"{tuple(x.shape[:2])}, others {lead}."
                    )
            groups[group] = {k: obs[k] for k in shapes}
        if lead is not None and not 1 <= lead[1] <= self.transformer_context_length:
            raise ShapeError(
                f"{owner}: sequences must have 1 <= T <= {self.transformer_context_length} "
                f"(transformer_context_length); got T = {lead[1]}."
            )
        return groups

    def forward(self, **inputs: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        """Run over observation sequences.

        Args:
            **inputs: One observation dict per group, ``{key: (B, T, *shape)}``; other
                groups are ignored.

        Returns:
            ``{key: (B, T, *output_shapes[key])}`` and ``"transformer_encoder_outputs"``
            ``(B, T, D)``.
        """
        groups = self._sequence_groups(inputs)
        features = time_distributed(groups, self.nets["encoder"], inputs_as_kwargs=True)
        encoded = self.nets["transformer"](self.input_embedding(features))  # (B, T, D)
        outputs: dict[str, torch.Tensor] = self.nets["decoder"](encoded)
        outputs[ENCODER_OUTPUTS_KEY] = encoded
        return outputs

    def _to_string(self) -> str:
        """Extra text for ``repr`` (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        header = f"{type(self).__name__}("
        extra = self._to_string()
        body = [f"  {extra}"] if extra else []
        for name in ("encoder", "transformer", "decoder"):
            body.append(f"  {name}={repr(self.nets[name]).replace(chr(10), chr(10) + '  ')}")
        return "\n".join([header, *body, ")"])
