"""``RNN_MIMO_MLP``: observation-group sequences -> RNN -> per-step (or last-step) output heads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from obsnets.bases.module_aliases import AliasedModule, StateDictAlias
from obsnets.bases.network import NetworkBase
from obsnets.blocks.rnn import RNN_Base, RNNState
from obsnets.blocks.time_distributed import time_distributed
from obsnets.encoders._checks import as_group_shapes, as_shape_mapping, dtype_error, shape_text
from obsnets.encoders.factory import ObsModalities
from obsnets.encoders.group_encoder import ObservationGroupEncoder
from obsnets.errors import InvalidKwargsError, ShapeError
from obsnets.mimo.mimo_mlp import add_output_head, check_layer_dims

__all__ = ["RNN_MIMO_MLP"]


class RNN_MIMO_MLP(AliasedModule, NetworkBase):
    """Multi-input, multi-output recurrent network over observation sequences.

    Each step's observation groups are encoded by ``nets["encoder"]`` (an
    :class:`~obsnets.encoders.ObservationGroupEncoder`), the ``(B, T, D)`` features run
    through ``nets["rnn"]`` (an :class:`~obsnets.blocks.RNN_Base` LSTM/GRU), then an optional
    ``nets["mlp"]`` (``mlp_activation`` after every layer, the last included) and
    ``nets["decoder"]`` (one linear head per output key). With ``per_step=True`` the MLP and
    decoder run on every step, and the state_dict also lists their tensors under robomimic's
    second names ``nets.rnn.per_step_net.0`` / ``.1`` (``nets.rnn.per_step_net`` without an
    MLP), in robomimic's key order; ``load_state_dict`` accepts either name or both (equal).
    With ``per_step=False`` they run on the last step only.

    Args:
        input_obs_group_shapes: Group -> {observation key -> shape without batch or time}.
        output_shapes: Output key -> shape, e.g. ``{"action": (7,)}``.
        mlp_layer_dims: MLP layer sizes after the RNN; ``()`` for none.
        rnn_hidden_dim: Hidden size ``H``.
        rnn_num_layers: Stacked RNN layers ``L``.
        rnn_type: ``"LSTM"`` or ``"GRU"``.
        rnn_kwargs: Extra ``nn.LSTM``/``nn.GRU`` arguments (e.g. ``{"bidirectional": True}``);
            ``None`` for none.
        mlp_activation: Activation class (or ``torch.nn`` class name) of the MLP.
        mlp_layer_func: Layer constructor of the MLP.
        per_step: Decode every step (``(B, T, ...)`` outputs) or only the last (``(B, ...)``).
        encoder_kwargs: Per-modality encoder settings (see ``obs_encoder_factory``).
        obs_modalities: Modality -> observation keys, passed to the encoders.

    Shapes: ``forward(obs={k: (B, T, ...)}) -> {key: (B, T, *shape)}`` (per_step) or
    ``{key: (B, *shape)}``; RNN state ``(h, c)`` (LSTM) or ``h`` (GRU), each
    ``(L * num_dirs, B, H)``.

    Differs from robomimic: ``rnn_kwargs=None`` works (robomimic crashed); the MLP's hidden
    layers use ``mlp_activation`` (robomimic always used ReLU there and ``mlp_activation``
    only after the last layer; the two agree when ``mlp_activation`` is ReLU, the default);
    :meth:`forward_step` works (robomimic's raised ``AttributeError``); :meth:`output_shape`
    has no time dimension for ``per_step=False``; inputs that are not ``(B, T, ...)`` raise
    :class:`~obsnets.errors.ShapeError` naming the key. The MLP and decoder are registered
    once, as ``nets["mlp"]`` / ``nets["decoder"]`` (robomimic also registered them as the
    RNN's ``per_step_net``, so replacing ``nets["decoder"]`` did not change what ran); here
    ``nets["rnn"].per_step_net`` is ``None`` and this network applies them per step.
    """

    def __init__(
        self,
        input_obs_group_shapes: Mapping[str, Mapping[str, Sequence[int]]],
        output_shapes: Mapping[str, Sequence[int]],
        mlp_layer_dims: Sequence[int],
        rnn_hidden_dim: int,
        rnn_num_layers: int,
        rnn_type: str = "LSTM",
        rnn_kwargs: Mapping[str, Any] | None = None,
        mlp_activation: type[nn.Module] | str = nn.ReLU,
        mlp_layer_func: Callable[..., nn.Module] | str = nn.Linear,
        per_step: bool = True,
        encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_obs_group_shapes = as_group_shapes(
            owner, "input_obs_group_shapes", input_obs_group_shapes
        )
        self.output_shapes = as_shape_mapping(owner, "output_shapes", output_shapes)
        dims = check_layer_dims(owner, "mlp_layer_dims", mlp_layer_dims)
        # rnn_hidden_dim and rnn_num_layers: checked before __init__ (obsnets.validation).
        kwargs = dict(rnn_kwargs or {})
        self.per_step = bool(per_step)

        self.nets = nn.ModuleDict()
        self.nets["encoder"] = ObservationGroupEncoder(
            observation_group_shapes=self.input_obs_group_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        rnn_input_dim = cast(ObservationGroupEncoder, self.nets["encoder"]).output_shape()[0]
        num_directions = 2 if kwargs.get("bidirectional", False) else 1
        feature_dim = num_directions * rnn_hidden_dim
        add_output_head(
            self.nets, feature_dim, dims, self.output_shapes, mlp_layer_func, mlp_activation
        )
        self.nets["rnn"] = RNN_Base(
            input_dim=rnn_input_dim,
            rnn_hidden_dim=rnn_hidden_dim,
            rnn_num_layers=rnn_num_layers,
            rnn_type=rnn_type,
            rnn_kwargs=kwargs,
        )
        self.rnn_input_dim = rnn_input_dim
        self._key_ranks = {
            group: {k: len(s) for k, s in shapes.items()}
            for group, shapes in self.input_obs_group_shapes.items()
        }

    def state_dict_aliases(self) -> list[StateDictAlias]:
        """robomimic's per-step names for the MLP and decoder (``per_step=True`` only)."""
        if not self.per_step:
            return []
        if "mlp" not in self.nets:
            return [StateDictAlias("nets.rnn.per_step_net", "nets.decoder", before="nets.rnn")]
        return [
            StateDictAlias("nets.rnn.per_step_net.0", "nets.mlp", before="nets.rnn"),
            StateDictAlias("nets.rnn.per_step_net.1", "nets.decoder", before="nets.rnn"),
        ]

    # -- state and shapes --------------------------------------------------------------------

    def get_rnn_init_state(self, batch_size: int, device: torch.device | str) -> RNNState:
        """Zero initial state: ``(h, c)`` for LSTM, ``h`` for GRU, each ``(L * dirs, B, H)``."""
        return cast(RNN_Base, self.nets["rnn"]).get_rnn_init_state(batch_size, device)

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """Output head shapes.

        Args:
            input_shape: With ``per_step=True``: group -> {key -> ``(T, ...)``} (robomimic's
                form), from which ``T`` is read. Ignored with ``per_step=False``.

        Returns:
            ``{key: [T, *shape]}`` (per_step) or ``{key: shape}``.
        """
        heads = {k: list(s) for k, s in self.output_shapes.items()}
        if not self.per_step:
            return heads
        steps = self._steps_from_shapes(input_shape)
        return {k: [steps, *s] for k, s in heads.items()}

    def _steps_from_shapes(self, input_shape: Any) -> int:
        owner = type(self).__name__
        group = next(iter(self.input_obs_group_shapes))
        key = next(iter(self.input_obs_group_shapes[group]))
        try:
            steps = {
                int(s[0]) for g in self.input_obs_group_shapes for s in input_shape[g].values()
            }
        except (TypeError, KeyError, IndexError, AttributeError):
            steps = set()
        if len(steps) != 1:
            raise ShapeError(
                f"{owner}.output_shape (per_step=True) needs the input shapes with their time "
                f"dimension, group -> {{key -> (T, ...)}}, all with the same T, e.g. "
                f"{{{group!r}: {{{key!r}: (10, ...)}}}}; got {input_shape!r}."
            )
        return steps.pop()

    # -- running -----------------------------------------------------------------------------

    def _sequence_groups(self, inputs: Mapping[str, Any], leading: int) -> dict[str, Any]:
        """The expected groups of ``inputs``, checked to be ``(B, T, ...)`` (or ``(B, ...)``)."""
        owner = type(self).__name__
        lead_names = "B, T" if leading == 2 else "B"
        groups: dict[str, Any] = {}
        lead: torch.Size | None = None
        for group, ranks in self._key_ranks.items():
            obs = inputs.get(group)
            if obs is None:
                raise InvalidKwargsError(
                    f"{owner}: observation group {group!r} is missing or None. Expected groups: "
                    f"{list(self._key_ranks)}; given: "
                    f"{[g for g, v in inputs.items() if v is not None]}."
                )
            for key, rank in ranks.items():
                x = obs.get(key)
                expected = self.input_obs_group_shapes[group][key]
                if x is None or x.dim() != rank + leading:
                    got = "missing" if x is None else f"shape {tuple(x.shape)}"
                    raise ShapeError(
                        f"{owner}: {group}[{key!r}] must be {shape_text(expected, lead_names)}; "
                        f"got {got}."
                    )
                if lead is None:
                    lead = x.shape[:leading]
                elif x.shape[:leading] != lead:
                    raise ShapeError(
                        f"{owner}: every input must share the leading ({lead_names}) dimensions; "
                        f"{group}[{key!r}] has {tuple(x.shape[:leading])}, others "
                        f"{tuple(lead)}."
                    )
            groups[group] = {k: obs[k] for k in ranks}
        return groups

    def forward(
        self,
        rnn_init_state: RNNState | None = None,
        return_state: bool = False,
        **inputs: Mapping[str, torch.Tensor] | None,
    ) -> Any:
        """Run over observation sequences.

        Args:
            rnn_init_state: Initial state (see :meth:`get_rnn_init_state`); zeros when None.
            return_state: Also return the final RNN state.
            **inputs: One observation dict per group, ``{key: (B, T, *shape)}``.

        Returns:
            ``{key: (B, T, *shape)}`` (per_step) or ``{key: (B, *shape)}`` (last step), and
            the final RNN state if ``return_state``.
        """
        groups = self._sequence_groups(inputs, leading=2)
        rnn_inputs = time_distributed(groups, self.nets["encoder"], inputs_as_kwargs=True)
        try:  # costs nothing unless torch raises
            outputs, state = self.nets["rnn"](rnn_inputs, rnn_init_state, return_state=True)
        except (RuntimeError, ValueError) as error:  # torch's LSTM/GRU raise either
            clash = dtype_error(type(self).__name__, self.nets["rnn"], inputs, error)
            if clash is not None:
                raise clash from error
            raise
        if self.per_step:
            decoded = time_distributed(outputs, self._decode)  # {key: (B, T, *shape)}
        else:
            decoded = self._decode(outputs[:, -1])  # from (B, num_dirs * H)
        return (decoded, state) if return_state else decoded

    def _decode(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """RNN outputs ``(N, num_dirs * H)`` -> MLP (if any) -> ``{key: (N, *shape)}``."""
        if "mlp" in self.nets:
            features = self.nets["mlp"](features)
        decoded: dict[str, torch.Tensor] = self.nets["decoder"](features)
        return decoded

    def forward_step(
        self, rnn_state: RNNState | None, **inputs: Mapping[str, torch.Tensor] | None
    ) -> tuple[dict[str, torch.Tensor], RNNState]:
        """One step of closed-loop use: the outputs for the current observation and new state.

        Args:
            rnn_state: The state returned by the previous step (zeros when ``None``).
            **inputs: One observation dict per group, ``{key: (B, *shape)}`` (no time axis).

        Returns:
            ``({key: (B, *shape)}, state)``.
        """
        groups = self._sequence_groups(inputs, leading=1)
        sequences = {g: {k: v.unsqueeze(1) for k, v in obs.items()} for g, obs in groups.items()}
        outputs, state = self.forward(rnn_init_state=rnn_state, return_state=True, **sequences)
        if self.per_step:
            outputs = {k: v[:, 0] for k, v in outputs.items()}
        return outputs, state

    def _to_string(self) -> str:
        """Extra text for ``repr`` (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        header = f"{type(self).__name__}("
        extra = self._to_string()
        body = [f"  {extra}"] if extra else []
        body.append(f"  per_step={self.per_step}")
        for name in ("encoder", "rnn", "mlp", "decoder"):
            if name in self.nets:
                text = repr(self.nets[name]).replace("\n", "\n  ")
                body.append(f"  {name}={text}")
        return "\n".join([header, *body, ")"])
