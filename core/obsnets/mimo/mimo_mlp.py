"""``MIMO_MLP``: observation groups in, a dict of outputs out, through an MLP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from obsnets.bases.network import NetworkBase
from obsnets.blocks.mlp import MLP
from obsnets.encoders._checks import as_group_shapes, as_shape_mapping, dtype_error
from obsnets.encoders.factory import ObsModalities
from obsnets.encoders.group_encoder import ObservationGroupEncoder
from obsnets.encoders.observation_decoder import ObservationDecoder
from obsnets.errors import ConfigError
from obsnets.validation import MAX_SIZE, check_int

__all__ = ["MIMO_MLP", "add_output_head", "check_layer_dims"]


def check_layer_dims(owner: str, what: str, layer_dims: Any) -> list[int]:
    """Return ``layer_dims`` as a list of sizes in ``[1, MAX_SIZE]`` (possibly empty).

    Raises:
        ConfigError: not a sequence, or a size out of range.
        InvalidKwargsError: a size that is not an int.
    """
    if isinstance(layer_dims, str) or not isinstance(layer_dims, Sequence):
        raise ConfigError(f"{owner}: {what} must be a list of layer sizes; got {layer_dims!r}.")
    return [
        check_int(owner, f"{what}[{i}]", d, low=1, high=MAX_SIZE) for i, d in enumerate(layer_dims)
    ]


def add_output_head(
    nets: nn.ModuleDict,
    feature_dim: int,
    layer_dims: Sequence[int],
    output_shapes: Mapping[str, Sequence[int]],
    layer_func: Callable[..., nn.Module] | str,
    activation: type[nn.Module] | str,
) -> None:
    """Add ``nets["mlp"]`` (only for non-empty ``layer_dims``) and ``nets["decoder"]``.

    The MLP maps ``(B, feature_dim) -> (B, layer_dims[-1])`` with ``activation`` after every
    layer, the last one included (robomimic's layout); the decoder maps its output (or the
    features directly) to one head per ``output_shapes`` key.
    """
    if layer_dims:
        nets["mlp"] = MLP(
            input_dim=feature_dim,
            output_dim=layer_dims[-1],
            layer_dims=layer_dims[:-1],
            layer_func=layer_func,
            activation=activation,
            output_activation=activation,
        )
        feature_dim = layer_dims[-1]
    nets["decoder"] = ObservationDecoder(decode_shapes=output_shapes, input_feat_dim=feature_dim)


class MIMO_MLP(NetworkBase):
    """Multi-input, multi-output MLP: group encoder -> MLP -> one head per output.

    ``nets["encoder"]`` is an :class:`~obsnets.encoders.ObservationGroupEncoder` (ReLU
    feature activation), ``nets["mlp"]`` an :class:`~obsnets.blocks.MLP` with hidden sizes
    ``layer_dims[:-1]``, output size ``layer_dims[-1]`` and ``activation`` after every layer
    (the last one included), and ``nets["decoder"]`` an
    :class:`~obsnets.encoders.ObservationDecoder` with one head per ``output_shapes`` key.
    The policy and value families subclass it and pass their shapes to ``__init__``.

    Args:
        input_obs_group_shapes: Group -> {observation key -> shape}, e.g.
            ``{"obs": {"robot0_eef_pos": (3,)}, "goal": {"object": (10,)}}``.
        output_shapes: Output key -> shape, e.g. ``{"action": (7,)}``.
        layer_dims: MLP layer sizes; ``()`` means no MLP: the heads read the encoder's
            features directly.
        layer_func: Layer constructor (``nn.Linear`` or a ``torch.nn`` class name).
        activation: Activation class (or ``torch.nn`` class name) of the MLP.
        encoder_kwargs: Per-modality encoder settings (see
            :func:`~obsnets.encoders.obs_encoder_factory`).
        obs_modalities: Modality -> observation keys, passed to the encoders.

    Shapes: ``forward(obs={k: (B, ...)}, goal=...) -> {key: (B, *output_shapes[key])}``.
    State-dict keys are robomimic's: ``nets.encoder.nets.<group>.obs_nets.<key>...``,
    ``nets.mlp._model.<i>...``, ``nets.decoder.nets.<head>...``.

    ``forward`` runs the modules ``nets`` holds at call time (replaced ones included). Group
    names, observation keys and output keys may be any non-empty strings, dots included;
    state_dict keys and outputs use them verbatim.

    Differs from robomimic: empty ``layer_dims`` builds no ``nets["mlp"]`` (robomimic raised
    ``IndexError``); modalities come from ``obs_modalities``, not a global; keys with dots
    work (``nn.ModuleDict`` refused them).
    """

    def __init__(
        self,
        input_obs_group_shapes: Mapping[str, Mapping[str, Sequence[int]]],
        output_shapes: Mapping[str, Sequence[int]],
        layer_dims: Sequence[int],
        layer_func: Callable[..., nn.Module] | str = nn.Linear,
        activation: type[nn.Module] | str = nn.ReLU,
        encoder_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        obs_modalities: ObsModalities | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_obs_group_shapes = as_group_shapes(
            owner, "input_obs_group_shapes", input_obs_group_shapes
        )
        self.output_shapes = as_shape_mapping(owner, "output_shapes", output_shapes)
        dims = check_layer_dims(owner, "layer_dims", layer_dims)
        self.nets = nn.ModuleDict()
        self.nets["encoder"] = ObservationGroupEncoder(
            observation_group_shapes=self.input_obs_group_shapes,
            encoder_kwargs=encoder_kwargs,
            obs_modalities=obs_modalities,
        )
        feature_dim = cast(ObservationGroupEncoder, self.nets["encoder"]).output_shape()[0]
        add_output_head(self.nets, feature_dim, dims, self.output_shapes, layer_func, activation)

    def output_shape(self, input_shape: Any = None) -> Any:
        """``{key: shape}`` of every output head (``input_shape`` is ignored)."""
        return cast(ObservationDecoder, self.nets["decoder"]).output_shape()

    def forward(self, **inputs: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        """Run encoder, MLP and heads.

        Args:
            **inputs: One observation dict per group, ``{key: (B, *shape)}``; other groups
                (or ``None`` ones not expected) are ignored.

        Returns:
            ``{key: (B, *output_shapes[key])}``.
        """
        # the live tree, through _modules: what attribute access returns, but cheaper
        nets: dict[str, Any] = self._modules["nets"]._modules  # type: ignore[union-attr]
        features = nets["encoder"](**inputs)
        mlp = nets.get("mlp")
        try:  # costs nothing unless torch raises
            if mlp is not None:
                features = mlp(features)
            return nets["decoder"](features)
        except RuntimeError as error:
            clash = dtype_error(type(self).__name__, self, inputs, error)
            if clash is not None:
                raise clash from error
            raise

    def _to_string(self) -> str:
        """Extra text for ``repr`` (subclasses override, e.g. ``"action_dim=7"``)."""
        return ""

    def __repr__(self) -> str:
        header = f"{type(self).__name__}("
        extra = self._to_string()
        body = [f"  {extra}"] if extra else []
        for name, module in self.nets.items():
            body.append(f"  {name}={repr(module).replace(chr(10), chr(10) + '  ')}")
        return "\n".join([header, *body, ")"])
