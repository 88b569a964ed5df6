"""``Prior``: the base of VAE priors whose parameters are free or computed from observations."""

from __future__ import annotations

import abc
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from obsnets.bases import PriorBase
from obsnets.errors import ConfigError, ShapeError, format_shape
from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets_vae._checks import batch_size_of, require_group

__all__ = ["Prior"]

Shapes = Mapping[str, Sequence[int]]


class Prior(PriorBase, abstract=True):
    """A latent prior whose parameters are learned, free or as functions of observations.

    Each named parameter is either *observation-independent* -- an ``nn.Parameter`` in
    ``prior_params`` of shape ``(1, ...)``, initialised to ``randn / sqrt(numel)`` and
    expanded to the batch in :meth:`forward` -- or *observation-dependent* -- a head of the
    ``MIMO_MLP`` ``prior_module`` that maps groups ``obs`` (and ``goal``) to it.

    Subclasses implement :meth:`sample` and :meth:`kl_loss`.

    Args:
        param_shapes: Parameter name -> shape (with the leading ``1`` for independent ones).
        param_obs_dependent: Parameter name -> whether it is computed from observations.
        obs_shapes: Observation key -> shape, for observation-dependent parameters.
        mlp_layer_dims: Layer sizes of ``prior_module``'s MLP; ``()`` makes its heads linear
            in the encoded observations.
        goal_shapes: Goal key -> shape; adds a ``goal`` input group to ``prior_module``.
        encoder_kwargs: Per-modality encoder settings for ``prior_module``.
        obs_modalities: Modality -> observation keys, for ``prior_module``'s encoders.

    Differences from robomimic: a subclass with nothing to learn still calls this
    constructor with no parameters, so :meth:`output_shape` answers ``{}`` instead of
    raising ``AttributeError``; empty ``mlp_layer_dims`` work (robomimic's ``MIMO_MLP``
    raised ``IndexError``, so a conditioned prior needed hidden layers); a non-persistent
    empty buffer records the module's device and dtype, which samples drawn without inputs
    use (robomimic used the ``device`` constructor argument instead of following ``.to()``);
    missing observations and batch-size mismatches raise obsnets errors.
    """

    _anchor: torch.Tensor

    def __init__(
        self,
        param_shapes: Shapes,
        param_obs_dependent: Mapping[str, bool],
        obs_shapes: Shapes | None = None,
        mlp_layer_dims: Sequence[int] = (),
        goal_shapes: Shapes | None = None,
        encoder_kwargs: dict[str, Any] | None = None,
        obs_modalities: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if set(param_shapes) != set(param_obs_dependent):
            raise ConfigError(
                f"{name}: param_shapes and param_obs_dependent must name the same parameters; "
                f"got {sorted(param_shapes)} and {sorted(param_obs_dependent)}."
            )
        self.param_shapes = OrderedDict(
            (k, tuple(int(d) for d in v)) for k, v in param_shapes.items()
        )
        self.param_obs_dependent = OrderedDict(
            (k, bool(param_obs_dependent[k])) for k in param_shapes
        )
        self.register_buffer("_anchor", torch.empty(0), persistent=False)
        self.prior_params = nn.ParameterDict()
        self.prior_module: MIMO_MLP | None = None
        self._is_obs_dependent = False
        self._is_goal_conditioned = False
        self._obs_keys: list[str] = []
        self._goal_keys: list[str] = []
        head_shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        for key, shape in self.param_shapes.items():
            if self.param_obs_dependent[key]:
                head_shapes[key] = shape
            else:
                init = torch.randn(*shape) / math.sqrt(math.prod(shape))
                self.prior_params[key] = nn.Parameter(init)
        if head_shapes:
            self._create_prior_module(
                head_shapes, obs_shapes, mlp_layer_dims, goal_shapes, encoder_kwargs, obs_modalities
            )

    def _create_prior_module(
        self,
        head_shapes: OrderedDict[str, tuple[int, ...]],
        obs_shapes: Shapes | None,
        mlp_layer_dims: Sequence[int],
        goal_shapes: Shapes | None,
        encoder_kwargs: dict[str, Any] | None,
        obs_modalities: Mapping[str, Sequence[str]] | None,
    ) -> None:
        name = type(self).__name__
        if not obs_shapes:
            raise ConfigError(
                f"{name}: parameters {list(head_shapes)} depend on observations, so obs_shapes "
                f"must name at least one observation; got {obs_shapes!r}."
            )
        groups: OrderedDict[str, OrderedDict[str, tuple[int, ...]]] = OrderedDict()
        groups["obs"] = OrderedDict((k, tuple(v)) for k, v in obs_shapes.items())
        if goal_shapes:
            groups["goal"] = OrderedDict((k, tuple(v)) for k, v in goal_shapes.items())
        self.prior_module = MIMO_MLP(
            input_obs_group_shapes=groups,
            output_shapes=head_shapes,
            layer_dims=mlp_layer_dims,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        self._is_obs_dependent = True
        self._is_goal_conditioned = "goal" in groups
        self._obs_keys = list(groups["obs"])
        self._goal_keys = list(groups.get("goal", {}))

    @property
    def device(self) -> torch.device:
        """The device the prior lives on (follows ``.to()``)."""
        return self._anchor.device

    def _check_inputs(
        self,
        method: str,
        n: int | None,
        obs_dict: Mapping[str, torch.Tensor] | None,
        goal_dict: Mapping[str, torch.Tensor] | None,
    ) -> None:
        """Raise unless the observations an observation-dependent prior needs are given."""
        if not self._is_obs_dependent:
            return
        label = f"{type(self).__name__}.{method}"
        require_group(label, "obs_dict", obs_dict, self._obs_keys)
        require_group(label, "goal_dict", goal_dict, self._goal_keys)
        observations = cast(Mapping[str, torch.Tensor], obs_dict)  # require_group checked it
        tensors = {k: observations[k] for k in self._obs_keys}
        if goal_dict is not None:
            tensors.update({f"goal/{k}": goal_dict[k] for k in self._goal_keys})
        batch_size_of(label, tensors, expected=n)

    def forward(
        self,
        batch_size: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Return every prior parameter with a leading batch dimension.

        Args:
            batch_size: ``B``; observation-independent parameters are expanded to it.
            obs_dict: Observation key -> ``(B, ...)`` tensor (observation-dependent priors).
            goal_dict: Goal key -> ``(B, ...)`` tensor (goal-conditioned priors).

        Returns:
            Parameter name -> ``(B, *param_shape)`` tensor.
        """
        self._check_inputs("forward", batch_size, obs_dict, goal_dict)
        params: dict[str, torch.Tensor] = {}
        if self.prior_module is not None:
            params.update(self.prior_module(obs=obs_dict, goal=goal_dict))
        for key, value in self.prior_params.items():
            params[key] = value.expand(batch_size, *value.shape[1:])
        for key, value in params.items():
            if value.shape[0] != batch_size:
                raise ShapeError(
                    f"{type(self).__name__}: parameter {key!r} has shape "
                    f"{format_shape(value.shape)}, expected batch size {batch_size}."
                )
        return params

    def output_shape(self, input_shape: Any = None) -> dict[str, list[int]]:
        """Parameter name -> per-sample shape of :meth:`forward`'s outputs (``{}`` if none)."""
        shapes = {}
        for key, shape in self.param_shapes.items():
            shapes[key] = list(shape if self.param_obs_dependent[key] else shape[1:])
        return shapes

    @abc.abstractmethod
    def sample(
        self,
        n: int,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` latents ``(n, latent_size)`` from the prior."""

    @abc.abstractmethod
    def kl_loss(
        self,
        posterior_params: Mapping[str, torch.Tensor],
        z: torch.Tensor | None = None,
        obs_dict: Mapping[str, torch.Tensor] | None = None,
        goal_dict: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """KL divergence between the posterior and the prior, a scalar averaged over B."""
