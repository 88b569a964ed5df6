"""What the demo asks of a policy network: a loss to train it, and the actions to execute.

A policy takes part in the demo through a small duck-typed protocol; every part is optional
and a plain likelihood policy (``GMMActorNetwork``) uses none of it:

- ``training_loss(obs_dict, actions) -> ()`` trains it; without it the demo minimises the
  negative log-likelihood of ``forward_train(obs_dict=...)``'s distribution.
- ``observation_horizon`` (an int ``To``): it observes the last ``To`` frames,
  ``{key: (B, To, ...)}``, oldest first (an episode's first frame repeated before its start);
  without it, one frame ``(B, ...)``.
- ``prediction_horizon`` (an int ``Tp``): it learns from the next ``Tp`` expert actions
  ``(B, Tp, A)`` (an episode's last action repeated after its end); without it, ``(B, A)``.
- ``action_horizon`` (an int ``Ta``): its forward returns ``(B, Ta, A)``, executed in order
  before it is asked again; without it, ``(B, A)``, one action per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from obsnets.errors import ConfigError

__all__ = ["HORIZONS", "PolicyHorizons", "policy_horizons", "policy_loss", "trains_by_loss"]

HORIZONS = ("observation_horizon", "prediction_horizon", "action_horizon")
"""The attributes a sequence policy declares (see the module docstring)."""


@dataclass(frozen=True)
class PolicyHorizons:
    """A policy's horizons; ``None`` where it works on single steps.

    Attributes:
        observation: Observation frames ``To`` per decision.
        prediction: Expert actions ``Tp`` per training example.
        action: Actions ``Ta`` executed per decision.
    """

    observation: int | None = None
    prediction: int | None = None
    action: int | None = None


def policy_horizons(policy: torch.nn.Module) -> PolicyHorizons:
    """Read a policy's horizons (the attributes in :data:`HORIZONS`).

    Raises:
        ConfigError: a horizon that is not an int >= 1.
    """
    values: list[int | None] = []
    for name in HORIZONS:
        value = getattr(policy, name, None)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ConfigError(
                f"The demo reads {type(policy).__name__}.{name} as a number of steps: it must "
                f"be an int >= 1 (or absent); got {value!r}."
            )
        values.append(value)
    return PolicyHorizons(*values)


def trains_by_loss(policy: torch.nn.Module) -> bool:
    """Whether the policy defines ``training_loss(obs_dict, actions)``."""
    return callable(getattr(policy, "training_loss", None))


def policy_loss(
    policy: torch.nn.Module, obs: Mapping[str, torch.Tensor], actions: torch.Tensor
) -> torch.Tensor:
    """The policy's training loss on a batch: its own ``training_loss``, else the negative
    log-likelihood of the expert actions under ``forward_train``'s distribution.

    Args:
        policy: The policy network.
        obs: ``{key: (B, ...)}``, or ``(B, To, ...)`` for a policy with an observation horizon.
        actions: ``(B, A)``, or ``(B, Tp, A)`` for a policy with a prediction horizon.
    """
    if trains_by_loss(policy):
        loss: torch.Tensor = policy.training_loss(obs, actions)  # type: ignore[operator]
        return loss
    distribution: Any = policy.forward_train(obs_dict=obs)  # type: ignore[operator]
    nll: torch.Tensor = -distribution.log_prob(actions).mean()
    return nll
