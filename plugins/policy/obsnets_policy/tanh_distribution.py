"""``TanhWrappedDistribution``: a distribution pushed through ``scale * tanh(.)``."""

from __future__ import annotations

import math

import torch
from torch.distributions import Distribution, constraints
from torch.nn.functional import softplus

from obsnets.errors import ShapeError

__all__ = ["TanhWrappedDistribution"]


class TanhWrappedDistribution(Distribution):
    """The law of ``scale * tanh(z)`` for ``z`` drawn from ``base_dist``.

    Squashes an unbounded action distribution (a Gaussian or a Gaussian mixture) into
    ``[-scale, scale]``, as policies with ``use_tanh=True`` do.

    Args:
        base_dist: The pre-tanh distribution, e.g. ``Independent(Normal(loc, std), 1)`` with
            batch shape ``(B,)`` and event shape ``(A,)``, or a ``MixtureSameFamily``.
        scale: Output scale ``s``; samples lie in ``[-s, s]``. A float, or a tensor that
            broadcasts against one event (e.g. ``(A,)``).
        epsilon: Clamp used to keep the inverse tanh and the log-Jacobian finite for values
            at (or numerically beyond) ``+-scale``.

    The batch and event shapes are those of ``base_dist``.

    Differences from robomimic's class of the same name:

    * ``arg_constraints`` is declared (it has no parameters of its own), so building one no
      longer emits torch's ``UserWarning``.
    * :meth:`log_prob` uses the exact change of variables,
      ``log p(a) = log p_base(z) - sum log(s * (1 - (a / s)^2))`` with ``z = atanh(a / s)``.
      robomimic subtracts ``log(1 - (a / s)^2 + epsilon)`` (biased by ``epsilon`` everywhere)
      and omits the ``log(s)`` term of the Jacobian, which is wrong for ``scale != 1``. Here
      ``epsilon`` only clamps ``1 +- a / s`` from below, so the value stays finite at
      ``|a| = s``. With a given ``pre_tanh_value`` the Jacobian is computed from ``z`` in a
      form that is exact even where ``tanh(z)`` rounds to 1.
    * The log-Jacobian is summed over the base distribution's event dimensions (robomimic
      inferred this from tensor ranks).
    * Values whose last dimensions do not match the event shape raise :class:`ShapeError`.

    Kept as robomimic: :attr:`mean` and :attr:`stddev` are the **base** distribution's
    (pre-tanh) ones; policies return ``scale * tanh(mean)`` as the low-noise action.
    """

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(
        self,
        base_dist: Distribution,
        scale: float | torch.Tensor = 1.0,
        epsilon: float = 1e-6,
    ) -> None:
        self.base_dist = base_dist
        self.scale = scale
        self.tanh_epsilon = float(epsilon)
        super().__init__(
            batch_shape=base_dist.batch_shape,
            event_shape=base_dist.event_shape,
            validate_args=False,
        )

    @property
    def support(self) -> constraints.Constraint:
        """``[-scale, scale]`` in every event dimension."""
        bound = torch.as_tensor(self.scale)
        interval = constraints.interval(-bound, bound)
        return constraints.independent(interval, len(self.event_shape))

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        """Whether the base distribution can be reparameterised."""
        return bool(self.base_dist.has_rsample)

    @property
    def mean(self) -> torch.Tensor:
        """The base (pre-tanh) mean, as in robomimic; squash it with ``scale * tanh``."""
        return self.base_dist.mean

    @property
    def stddev(self) -> torch.Tensor:
        """The base (pre-tanh) standard deviation, as in robomimic."""
        return self.base_dist.stddev

    @property
    def variance(self) -> torch.Tensor:
        """The base (pre-tanh) variance."""
        return self.base_dist.variance

    def _check_value(self, value: torch.Tensor) -> None:
        event = tuple(self.event_shape)
        if not event:
            return
        tail = tuple(value.shape[-len(event) :]) if value.dim() >= len(event) else ()
        if tail != event:
            raise ShapeError(
                f"TanhWrappedDistribution.log_prob expects values whose last dimensions are "
                f"{event} (the action size); got a tensor of shape {tuple(value.shape)}."
            )

    def _log_scale(self, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.scale, dtype=like.dtype, device=like.device).log()

    def log_prob(
        self, value: torch.Tensor, pre_tanh_value: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-density of ``value`` (change of variables through ``scale * tanh``).

        Args:
            value: Points in ``[-scale, scale]``, shape ``(*sample, *batch, *event)``, e.g.
                ``(B, A)``.
            pre_tanh_value: The matching ``z`` with ``value = scale * tanh(z)`` if known (from
                ``sample(..., return_pretanh_value=True)``); avoids inverting the tanh.

        Returns:
            ``(*sample, *batch)`` log-probabilities, finite even at ``|value| = scale``.
        """
        self._check_value(value)
        eps = self.tanh_epsilon
        if pre_tanh_value is None:
            unit = value / torch.as_tensor(self.scale, dtype=value.dtype, device=value.device)
            log_one_plus = torch.log((1.0 + unit).clamp(min=eps))
            log_one_minus = torch.log((1.0 - unit).clamp(min=eps))
            pre_tanh_value = 0.5 * (log_one_plus - log_one_minus)
            # log(1 - u^2) = log(1 + u) + log(1 - u): no cancellation near |u| = 1
            log_det = log_one_plus + log_one_minus
        else:
            z = pre_tanh_value
            # log(1 - tanh(z)^2) = 2 * (log 2 - z - softplus(-2z)), exact for large |z|
            log_det = 2.0 * (math.log(2.0) - z - softplus(-2.0 * z))
        log_det = log_det + self._log_scale(value)
        event_dims = len(self.event_shape)
        if event_dims:
            log_det = log_det.sum(dim=tuple(range(-event_dims, 0)))
        return self.base_dist.log_prob(pre_tanh_value) - log_det

    def sample(  # type: ignore[override]
        self,
        sample_shape: torch.Size | tuple[int, ...] = (),
        return_pretanh_value: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Draw ``scale * tanh(z)`` without gradients.

        Args:
            sample_shape: Leading sample shape.
            return_pretanh_value: Also return ``z``.

        Returns:
            ``(*sample, *batch, *event)`` samples, and ``z`` of the same shape if asked.
        """
        z = self.base_dist.sample(sample_shape=torch.Size(sample_shape)).detach()
        out = torch.tanh(z) * self.scale
        return (out, z) if return_pretanh_value else out

    def rsample(  # type: ignore[override]
        self,
        sample_shape: torch.Size | tuple[int, ...] = (),
        return_pretanh_value: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Draw ``scale * tanh(z)`` with the reparameterisation trick (differentiable).

        Args:
            sample_shape: Leading sample shape.
            return_pretanh_value: Also return ``z``.

        Returns:
            ``(*sample, *batch, *event)`` samples, and ``z`` of the same shape if asked.
        """
        z = self.base_dist.rsample(sample_shape=torch.Size(sample_shape))
        out = torch.tanh(z) * self.scale
        return (out, z) if return_pretanh_value else out
