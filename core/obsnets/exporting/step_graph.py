"""The control step of a policy as a plain tensor function, the graph an engine runs.

A policy's ``forward_step`` takes a dict and returns a sampled action; an inference engine
needs a fixed tuple of tensors in and out, and no random draws inside the graph. So the
graph ends where sampling starts: it returns the action distribution's parameters (and the
next RNN state), and the exported policy draws the sample (see
:mod:`obsnets.exporting.exported_policy`). Which parameters depends on the policy's action
head, found by running the policy once on example observations:

* ``"action"``: a deterministic policy (``ActorNetwork``, ``RNNActorNetwork``): the action;
* ``"gaussian"``: ``Independent(Normal(loc, scale), 1)``: ``loc``, ``scale`` ``(B, A)``;
* ``"gmm"``: ``MixtureSameFamily(Categorical(logits), Independent(Normal(loc, scale), 1))``:
  ``loc``, ``scale`` ``(B, M, A)`` and ``logits`` ``(B, M)``;

either of the last two optionally squashed by robomimic's ``TanhWrappedDistribution``
(``scale * tanh(z)``), recorded as ``tanh_scale``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.distributions import Distribution, Independent, MixtureSameFamily, Normal

from obsnets.errors import ConfigError

__all__ = ["HEAD_OUTPUTS", "PolicyStep", "StepLayout", "describe_policy", "no_validation"]

HEAD_OUTPUTS: dict[str, tuple[str, ...]] = {
    "action": ("action",),
    "gaussian": ("loc", "scale"),
    "gmm": ("loc", "scale", "logits"),
}
"""The graph's outputs for each kind of action head, in order (the RNN state follows)."""

_TANH_WRAPPER = "TanhWrappedDistribution"


@dataclass(frozen=True)
class StepLayout:
    """What the step graph takes and returns.

    Attributes:
        obs_keys: Observation keys, in the graph's input order.
        obs_shapes: Per-key shape without the batch dimension.
        state_shapes: Shapes ``(L, 1, H)`` of the RNN state tensors (``(h, c)`` for an
            LSTM, ``(h,)`` for a GRU); empty for a non-recurrent policy.
        head: ``"action"``, ``"gaussian"`` or ``"gmm"``.
        tanh_scale: ``s`` of a ``scale * tanh(z)`` squashed distribution, else ``None``.
    """

    obs_keys: tuple[str, ...]
    obs_shapes: tuple[tuple[int, ...], ...]
    state_shapes: tuple[tuple[int, ...], ...]
    head: str
    tanh_scale: float | None

    @property
    def recurrent(self) -> bool:
        """Whether the policy carries an RNN state from step to step."""
        return bool(self.state_shapes)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The graph's output names: the head's parameters, then the new state."""
        states = tuple(f"state_out_{i}" for i in range(len(self.state_shapes)))
        return HEAD_OUTPUTS[self.head] + states


@contextmanager
def no_validation() -> Iterator[None]:
    """Switch torch's distribution argument checks off (data-dependent, they stop tracing)."""
    previous = Distribution._validate_args
    Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(previous)


class PolicyStep(torch.nn.Module):
    """One control step of ``policy`` as ``(*obs, *state) -> (*head params, *new state)``.

    Args:
        policy: The policy network, in eval mode.
        layout: Its inputs and head (from :func:`describe_policy`).

    Inputs are ``(1, *obs_shapes[k])`` per key in ``layout.obs_keys`` order, then the state
    tensors ``(L, 1, H)``; outputs as :attr:`StepLayout.output_names`.
    """

    def __init__(self, policy: torch.nn.Module, layout: StepLayout) -> None:
        super().__init__()
        self.policy = policy
        self.layout = layout

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        count = len(self.layout.obs_keys)
        obs = dict(zip(self.layout.obs_keys, tensors[:count]))
        result, state = _run(self.policy, obs, _pack_state(tensors[count:]))
        return head_tensors(result, self.layout.head) + _unpack_state(state)


def describe_policy(policy: torch.nn.Module, component: str) -> StepLayout:
    """Find a policy's inputs, state and action head by running it once on zeros.

    Args:
        policy: A policy network with ``obs_shapes`` (robomimic's attribute), in eval mode.
        component: Its name, for error messages.

    Returns:
        The layout of its step graph.

    Raises:
        ConfigError: the network is not a policy this exporter can run: no ``obs_shapes``,
            goal-conditioned, a ``forward`` that needs more than observations, or an action
            distribution other than a Gaussian or a Gaussian mixture.
    """
    obs_shapes = getattr(policy, "obs_shapes", None)
    if not isinstance(obs_shapes, Mapping) or not obs_shapes:
        raise ConfigError(
            f"Cannot export {component}: it has no obs_shapes, so it is not a policy network "
            "(export takes ActorNetwork, GaussianActorNetwork, GMMActorNetwork, "
            "RNNActorNetwork, RNNGMMActorNetwork or another policy with their interface)."
        )
    if getattr(policy, "goal_shapes", None):
        raise ConfigError(
            f"Cannot export {component}: it is goal-conditioned, and exported policies take "
            "observations only; export a policy without goal_shapes."
        )
    _check_observation_only(policy, component)
    keys = tuple(obs_shapes)
    shapes = tuple(tuple(int(d) for d in obs_shapes[k]) for k in keys)
    state = _initial_state(policy)
    example = {k: torch.zeros(1, *s) for k, s in zip(keys, shapes)}
    try:
        with torch.no_grad(), no_validation():
            result, _ = _run(policy, example, state)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ConfigError(
            f"Cannot export {component}: one step on batch-1 observations of its obs_shapes "
            f"failed ({type(error).__name__}: {error}). Export takes policies whose "
            "forward_step / forward_train map one step of observations to actions (not VAE, "
            "transformer or diffusion policies, which need latents or observation histories)."
        ) from error
    head, tanh_scale = _head_kind(result, component)
    return StepLayout(
        obs_keys=keys,
        obs_shapes=shapes,
        state_shapes=tuple(tuple(t.shape) for t in _unpack_state(state)),
        head=head,
        tanh_scale=tanh_scale,
    )


def example_inputs(layout: StepLayout) -> tuple[torch.Tensor, ...]:
    """Batch-1 inputs of the step graph: observations in ``[0, 1)``, a zero state."""
    generator = torch.Generator().manual_seed(0)
    obs = tuple(torch.rand(1, *s, generator=generator) for s in layout.obs_shapes)
    return obs + tuple(torch.zeros(s) for s in layout.state_shapes)


def head_tensors(result: Any, head: str) -> tuple[torch.Tensor, ...]:
    """The head's parameters (:data:`HEAD_OUTPUTS` order) from a step's action or distribution.

    Args:
        result: An action ``(B, A)`` or the distribution a policy returned.
        head: The head kind the policy was found to have.
    """
    if head == "action":
        return (result,)
    base = result.base_dist if type(result).__name__ == _TANH_WRAPPER else result
    if head == "gaussian":
        return base.base_dist.loc, base.base_dist.scale
    components = base.component_distribution.base_dist
    return components.loc, components.scale, base.mixture_distribution.logits


def _run(policy: torch.nn.Module, obs: dict[str, torch.Tensor], state: Any) -> tuple[Any, Any]:
    """The policy's step: a distribution where it has one, else its action; and the state."""
    if state is not None:
        # forward_train_step returns the distribution; deterministic policies have only
        # forward_step
        name = "forward_train_step" if hasattr(policy, "forward_train_step") else "forward_step"
        step: Callable[..., Any] = getattr(policy, name)
        return tuple(step(obs, rnn_state=state))
    train = getattr(policy, "forward_train", None)
    return (train(obs) if train is not None else policy(obs)), None


def _initial_state(policy: torch.nn.Module) -> Any:
    init = getattr(policy, "get_rnn_init_state", None)
    return None if init is None else init(1, "cpu")


def _pack_state(tensors: Sequence[torch.Tensor]) -> Any:
    if not tensors:
        return None
    return tensors[0] if len(tensors) == 1 else tuple(tensors)


def _unpack_state(state: Any) -> tuple[torch.Tensor, ...]:
    if state is None:
        return ()
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


def _check_observation_only(policy: torch.nn.Module, component: str) -> None:
    signature = inspect.signature(policy.forward)
    needed = [
        name
        for name, p in signature.parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and name != "obs_dict"
    ]
    if needed:
        raise ConfigError(
            f"Cannot export {component}: its forward also needs {', '.join(needed)}, and an "
            "exported policy maps observations to actions."
        )


def _head_kind(result: Any, component: str) -> tuple[str, float | None]:
    if isinstance(result, torch.Tensor):
        return "action", None
    tanh_scale = None
    base = result
    if type(result).__name__ == _TANH_WRAPPER:
        if not isinstance(result.scale, (int, float)):
            raise ConfigError(
                f"Cannot export {component}: its tanh-squashed distribution has a tensor scale; "
                "only a number scale is supported."
            )
        tanh_scale, base = float(result.scale), result.base_dist
    if _is_diagonal_normal(base):
        return "gaussian", tanh_scale
    if isinstance(base, MixtureSameFamily) and _is_diagonal_normal(base.component_distribution):
        return "gmm", tanh_scale
    raise ConfigError(
        f"Cannot export {component}: its action distribution is {type(result).__name__}; "
        "export supports a diagonal Gaussian, a Gaussian mixture (either optionally "
        "tanh-squashed) and deterministic actions."
    )


def _is_diagonal_normal(dist: Any) -> bool:
    return isinstance(dist, Independent) and isinstance(dist.base_dist, Normal)
