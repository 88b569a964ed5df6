"""How a robomimic algorithm turns one prepared observation batch into actions at rollout.

robomimic's ``Algo.get_action`` differs per algorithm: BC variants call the policy once; the
recurrent ones carry the RNN state from step to step and reset it every ``rnn.horizon`` steps.
An :class:`ActionSource` is that per-algorithm behaviour, separated from the observation and
action processing :class:`~obsnets_robomimic.RolloutPolicy` does for every algorithm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import torch
from torch import nn

__all__ = ["ActionSource", "FeedForwardActions", "RecurrentActions"]


class ActionSource(Protocol):
    """Acts for one episode: ``reset()`` at its start, then one call per control step."""

    def reset(self) -> None:
        """Forget everything carried between steps (robomimic's ``Algo.reset``)."""

    def __call__(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """Actions ``(B, A)`` in the network's (normalized) action space.

        Args:
            obs: ``{key: (B, *shape)}``, prepared (normalized, images ``(B, C, H, W)``).
            goal: The same for goal keys, or ``None``.
        """
        ...


class FeedForwardActions:
    """``network(obs, goal_dict=goal)`` each step (robomimic's BC, BC_Gaussian, BC_GMM, BC_VAE).

    Args:
        network: The policy; stochastic heads sample as in robomimic (GMM: a mode drawn from
            the mixture, low-noise std in eval).
    """

    def __init__(self, network: nn.Module) -> None:
        self.network = network

    def reset(self) -> None:
        """Nothing is carried between steps."""

    def __call__(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """Actions ``(B, A)`` for ``obs`` ``{key: (B, *shape)}``."""
        actions: torch.Tensor = self.network(obs, goal_dict=goal)
        return actions


class RecurrentActions:
    """robomimic's ``BC_RNN.get_action``: one RNN step per call, state kept across calls.

    The state starts at zero on :meth:`reset` and again every ``horizon`` steps (the length of
    the sequences the policy was trained on). With ``open_loop`` the observation of the first
    step after each reset is used for the following ``horizon`` steps.

    Args:
        network: A recurrent policy with ``forward_step(obs, goal_dict, rnn_state)`` returning
            ``((B, A) actions, state)`` (``RNNActorNetwork``, ``RNNGMMActorNetwork``).
        horizon: ``config.algo.rnn.horizon`` (>= 1).
        open_loop: ``config.algo.rnn.open_loop``.
    """

    def __init__(self, network: nn.Module, horizon: int, open_loop: bool = False) -> None:
        self.network = network
        self.horizon = int(horizon)
        self.open_loop = bool(open_loop)
        self._state: Any = None
        self._counter = 0
        self._open_loop_obs: dict[str, torch.Tensor] | None = None

    def reset(self) -> None:
        """Zero the RNN state at the next step."""
        self._state = None
        self._counter = 0
        self._open_loop_obs = None

    def __call__(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """Actions ``(B, A)`` for this step's ``obs`` ``{key: (B, *shape)}``."""
        if self._counter % self.horizon == 0:
            self._state = None  # forward_step starts from zeros
            if self.open_loop:
                self._open_loop_obs = {k: v.detach().clone() for k, v in obs.items()}
        step_obs = self._open_loop_obs if self._open_loop_obs is not None else obs
        self._counter += 1
        actions, self._state = self.network.forward_step(
            step_obs, goal_dict=goal, rnn_state=self._state
        )
        return actions  # type: ignore[no-any-return]
