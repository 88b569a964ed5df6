"""``RNN_Base``: an LSTM or GRU over ``(B, T, D)`` with an optional per-step network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from obsnets.bases.module import Module
from obsnets.blocks.time_distributed import time_distributed
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError, format_shape, suggestion
from obsnets.validation import check_allocation, check_probability

__all__ = ["RNNState", "RNN_Base"]

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
"""An LSTM state ``(h, c)`` or a GRU state ``h``, each ``(num_layers * num_dirs, B, H)``."""

_RNN_TYPES = {"LSTM": nn.LSTM, "GRU": nn.GRU}


_RNN_OPTIONS = ("bias", "dropout", "bidirectional")
"""The ``rnn_kwargs`` RNN_Base passes on: sizes and layers are its own arguments, and an LSTM's
``proj_size`` would change the output size that ``output_shape`` reports."""


def _checked_rnn_kwargs(rnn_type: str, rnn_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """``rnn_kwargs`` checked before torch sees them (torch's errors name no argument)."""
    kwargs = dict(rnn_kwargs or {})
    valid = _RNN_OPTIONS
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        hints = "".join(suggestion(k, valid) for k in unknown)
        article = "an" if rnn_type == "LSTM" else "a"  # an LSTM ("el-"), a GRU ("gee-")
        raise ConfigError(
            f"RNN_Base: rnn_kwargs has key(s) {', '.join(map(repr, unknown))} that "
            f"{article} {rnn_type} does not take here.{hints} Valid keys: {', '.join(valid)} "
            f"(sizes and layers come from rnn_hidden_dim and rnn_num_layers)."
        )
    for name in ("bias", "bidirectional"):
        if name in kwargs and not isinstance(kwargs[name], bool):
            raise InvalidKwargsError(
                f"RNN_Base: rnn_kwargs[{name!r}] must be true or false; got {kwargs[name]!r}."
            )
    if "dropout" in kwargs:
        check_probability("RNN_Base", "rnn_kwargs['dropout']", kwargs["dropout"])
    return kwargs


class RNN_Base(Module):
    """A batch-first LSTM/GRU followed by an optional per-step network.

    Args:
        input_dim: Feature size ``D`` of each step.
        rnn_hidden_dim: Hidden size ``H``.
        rnn_num_layers: Number of stacked layers ``L``.
        rnn_type: ``"LSTM"`` or ``"GRU"``.
        rnn_kwargs: Extra ``nn.LSTM`` / ``nn.GRU`` arguments (e.g. ``bidirectional``).
        per_step_net: Optional module applied to each step's RNN output (``(B, T, ...)``
            folded to ``(B * T, ...)``); it may return a dict.

    Shapes: ``(B, T, D) -> (B, T, num_dirs * H)``, or the per-step net's output per step.
    The RNN lives under ``nets`` (robomimic's key names).
    """

    def __init__(
        self,
        input_dim: int,
        rnn_hidden_dim: int,
        rnn_num_layers: int,
        rnn_type: str = "LSTM",
        rnn_kwargs: dict[str, Any] | None = None,
        per_step_net: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if rnn_type not in _RNN_TYPES:
            raise ConfigError(
                f"RNN_Base: rnn_type must be 'LSTM' or 'GRU'; got {rnn_type!r}."
                f"{suggestion(str(rnn_type).upper(), _RNN_TYPES)}"
            )
        kwargs = _checked_rnn_kwargs(rnn_type, rnn_kwargs)
        self._rnn_type = rnn_type
        self._input_dim = int(input_dim)
        self._hidden_dim = int(rnn_hidden_dim)
        self._num_layers = int(rnn_num_layers)
        self._num_directions = 2 if kwargs.get("bidirectional", False) else 1
        # Each layer holds gates * H * (D_in + H) weights (D_in of later layers: dirs * H).
        gates = 4 if rnn_type == "LSTM" else 3
        widest_input = max(self._input_dim, 2 * self._hidden_dim)
        check_allocation(
            "RNN_Base",
            f"an {rnn_type} with rnn_num_layers={self._num_layers}, "
            f"rnn_hidden_dim={self._hidden_dim}, input_dim={self._input_dim}",
            self._num_layers * gates * self._hidden_dim * (widest_input + self._hidden_dim),
        )
        self.per_step_net = per_step_net
        self.nets = _RNN_TYPES[rnn_type](
            input_size=self._input_dim,
            hidden_size=self._hidden_dim,
            num_layers=self._num_layers,
            batch_first=True,
            **kwargs,
        )

    @property
    def rnn_type(self) -> str:
        """``"LSTM"`` or ``"GRU"``."""
        return self._rnn_type

    def get_rnn_init_state(
        self, batch_size: int, device: torch.device | str, dtype: torch.dtype | None = None
    ) -> RNNState:
        """Zero initial state: ``(h, c)`` for LSTM, ``h`` for GRU, each ``(L * dirs, B, H)``.

        Args:
            batch_size: ``B``.
            device: Device of the state.
            dtype: Its dtype; defaults to the RNN's parameter dtype.
        """
        shape = (self._num_layers * self._num_directions, batch_size, self._hidden_dim)
        dtype = dtype or next(self.nets.parameters()).dtype
        h = torch.zeros(shape, device=device, dtype=dtype)
        if self._rnn_type == "LSTM":
            return h, torch.zeros(shape, device=device, dtype=dtype)
        return h

    def output_shape(self, input_shape: Sequence[int] | None = None) -> Any:
        """``[T, ...]``: per-step net output (a dict if it returns one) or ``dirs * H``."""
        if input_shape is None or len(input_shape) != 2:
            raise ShapeError(
                f"RNN_Base.output_shape expects input_shape (T, D); got "
                f"{format_shape(input_shape)}."
            )
        steps = int(input_shape[0])
        features = self._num_directions * self._hidden_dim
        if self.per_step_net is None:
            return [steps, features]
        inner = self.per_step_net.output_shape([features])  # type: ignore[operator]
        if isinstance(inner, dict):
            return {k: [steps, *v] for k, v in inner.items()}
        return [steps, *inner]

    def forward(
        self,
        inputs: torch.Tensor,
        rnn_init_state: RNNState | None = None,
        return_state: bool = False,
    ) -> Any:
        """Run the RNN over a sequence.

        Args:
            inputs: ``(B, T, D)``.
            rnn_init_state: Initial state; zeros when ``None``.
            return_state: Also return the final state.

        Returns:
            Outputs ``(B, T, ...)`` (or a dict of them), and the final state if asked.
        """
        if inputs.dim() != 3:
            raise ShapeError(
                f"RNN_Base expects inputs (B, T, D); got a tensor of shape {tuple(inputs.shape)}."
            )
        if rnn_init_state is None:
            rnn_init_state = self.get_rnn_init_state(inputs.shape[0], inputs.device, inputs.dtype)
        outputs, state = self.nets(inputs, rnn_init_state)
        if self.per_step_net is not None:
            outputs = time_distributed(outputs, self.per_step_net)
        return (outputs, state) if return_state else outputs

    def forward_step(self, inputs: torch.Tensor, rnn_state: RNNState) -> tuple[Any, RNNState]:
        """One step of closed-loop control.

        Args:
            inputs: ``(B, D)``, one step.
            rnn_state: The state returned by the previous step (or the initial state).

        Returns:
            The step's output ``(B, ...)`` (or dict) and the new state.
        """
        outputs, state = self.forward(inputs.unsqueeze(1), rnn_state, return_state=True)
        if isinstance(outputs, dict):
            return {k: v[:, 0] for k, v in outputs.items()}, state
        return outputs[:, 0], state
