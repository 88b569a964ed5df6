"""Describing a built network (``obsnets build --summary``) and making inputs to run it.

:func:`summarize` lists, per observation key, its randomizers, its encoder network, its
feature shape and parameter count, then the network's other parts and the total;
:func:`format_summary` prints those rows as a table; :func:`example_inputs` makes random
inputs of the declared shapes, as keyword arguments for ``network(**inputs)``, its observations
drawn by :func:`random_observations` (which networks' own ``example_inputs`` methods reuse).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
from torch import nn

from obsnets.encoders.group_encoder import ObservationGroupEncoder
from obsnets.encoders.observation_decoder import ObservationDecoder
from obsnets.encoders.observation_encoder import ObservationEncoder
from obsnets.errors import ConfigError
from obsnets.validation import check_int

__all__ = [
    "SummaryRow",
    "example_inputs",
    "format_summary",
    "random_observations",
    "summarize",
]


@dataclass(frozen=True)
class SummaryRow:
    """One line of a network summary.

    Attributes:
        kind: ``"obs_key"`` (one observation key of an encoder), ``"module"`` (another part
            of the network) or ``"total"`` (last row).
        name: The observation key, or the module's attribute path (``"nets.mlp"``).
        path: Attribute path of the key's network (``"nets.encoder.nets.obs.obs_nets.x"``)
            or of the module; ``""`` for the total.
        group: The observation group (``"obs"``, ``"goal"``) of an ``obs_key`` row, if any.
        modality: The key's modality, when the encoder was built by the factory.
        input_shape: The key's observation shape (no batch dimension).
        randomizers: Class names of the key's randomizers, in order.
        net: Class name of the key's network (``None``: passed through) or of the module.
        output_shape: The key's features before flattening; a module's ``output_shape()``
            where it can tell without an input; the network's for the total.
        params: Parameters counted in this row; a tensor shared by several rows (a shared
            encoder, robomimic's duplicated module aliases) is counted at its first row only,
            so the rows add up to the total.
        shared_from: The key whose network this key reuses (``share_net_from``).
    """

    kind: str
    name: str
    path: str = ""
    group: str | None = None
    modality: str | None = None
    input_shape: list[int] | None = None
    randomizers: list[str] = field(default_factory=list)
    net: str | None = None
    output_shape: Any = None
    params: int = 0
    shared_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the row."""
        return asdict(self)


class _ParamCounter:
    """Counts each parameter tensor once, at the first row that reaches it."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def __call__(self, module: nn.Module | None) -> int:
        if module is None:
            return 0
        return self.tensors(module.parameters())

    def tensors(self, params: Iterable[nn.Parameter]) -> int:
        total = 0
        for param in params:
            if id(param) not in self._seen:
                self._seen.add(id(param))
                total += param.numel()
        return total


def summarize(network: nn.Module) -> list[SummaryRow]:
    """Describe ``network``: one row per observation key, per other part, and the total.

    Args:
        network: Any built module; observation encoders anywhere inside it (in MIMO nets,
            policies, VAEs) are expanded key by key.

    Returns:
        Rows in module order; the last has ``kind="total"`` with the number of distinct
        parameters and, where the network can tell it, its output shape.
    """
    count = _ParamCounter()
    rows = list(_visit(network, "", None, count, root=True))
    total = sum(p.numel() for p in network.parameters())
    rows.append(
        SummaryRow(
            kind="total",
            name="total",
            net=type(network).__name__,
            output_shape=_try_output_shape(network),
            params=total,
        )
    )
    return rows


def _visit(
    module: nn.Module, path: str, group: str | None, count: _ParamCounter, root: bool = False
) -> Iterator[SummaryRow]:
    if isinstance(module, ObservationEncoder):
        yield from _encoder_rows(module, path, group, count)
        return
    if isinstance(module, ObservationGroupEncoder):
        for name, encoder in module.nets.items():
            yield from _visit(encoder, _join(path, "nets", name), name, count)
        return
    if not root and not _contains_encoder(module):
        yield SummaryRow(
            kind="module",
            name=path,
            path=path,
            net=type(module).__name__,
            output_shape=_try_output_shape(module),
            params=count(module),
        )
        return
    for name, child in module.named_children():
        if child is not None:
            yield from _visit(child, _join(path, name), group, count)
    own = count.tensors(module.parameters(recurse=False))
    if own:
        yield SummaryRow(
            kind="module",
            name=path or type(module).__name__,
            path=path,
            net=type(module).__name__,
            params=own,
        )


def _encoder_rows(
    encoder: ObservationEncoder, path: str, group: str | None, count: _ParamCounter
) -> Iterator[SummaryRow]:
    for key, shape in encoder.obs_shapes.items():
        net = encoder.obs_nets.get(key)  # None before make() or for pass-through
        try:
            out: Any = encoder.key_output_shape(key)
        except Exception:  # a module that cannot tell its shape: show none
            out = None
        yield SummaryRow(
            kind="obs_key",
            name=key,
            path=_join(path, "obs_nets", key),
            group=group,
            modality=encoder._key_modalities.get(key),
            input_shape=list(shape),
            randomizers=[type(r).__name__ for r in encoder._randomizers(key)],
            net=None if net is None else type(net).__name__,
            output_shape=out,
            params=count(net),
            shared_from=encoder.obs_share_mods.get(key),
        )


def _contains_encoder(module: nn.Module) -> bool:
    return any(isinstance(m, ObservationEncoder) for m in module.modules())


def _try_output_shape(module: nn.Module) -> Any:
    method = getattr(module, "output_shape", None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:  # needs an input shape, or is not computable: leave blank
        return None


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def format_summary(rows: Sequence[SummaryRow]) -> str:
    """Render :func:`summarize` rows as a plain-text table (one line per row)."""
    header = ("name", "group", "modality", "input", "randomizers -> net", "output", "params")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        chain = [*row.randomizers, row.net or "(flatten)"]
        if row.shared_from:
            chain[-1] += f" (shared from {row.shared_from})"
        lines.append(
            (
                row.name,
                row.group or "",
                row.modality or "",
                _shape_text(row.input_shape),
                " -> ".join(chain) if row.kind == "obs_key" else (row.net or ""),
                _shape_text(row.output_shape),
                f"{row.params:,}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = []
    for i, line in enumerate(lines):
        cells = [
            c.rjust(w) if j == len(header) - 1 else c.ljust(w)
            for j, (c, w) in enumerate(zip(line, widths))
        ]
        text.append("  ".join(cells).rstrip())
        if i == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def _shape_text(shape: Any) -> str:
    if shape is None:
        return ""
    if isinstance(shape, Mapping):
        return ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items())
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# -- example inputs ----------------------------------------------------------------------------


def example_inputs(
    network: nn.Module, batch_size: int = 2, sequence_length: int = 3, seed: int = 0
) -> dict[str, Any]:
    """Random inputs of the declared shapes, as keyword arguments: ``network(**inputs)``.

    Images (3-D shapes) are uniform in ``[0, 1]`` (the network format); other observations
    standard normal; actions uniform in ``[-1, 1]``. Recurrent networks get ``(B, T, ...)``
    observations (goals stay ``(B, ...)`` for networks taking ``goal_dict``).

    Supported: a network with its own ``example_inputs(batch_size)`` method (plugins may
    define one), :class:`ObservationEncoder` (``obs_dict``), :class:`ObservationDecoder`
    (``feats``), :class:`ObservationGroupEncoder` / ``MIMO_MLP`` / ``RNN_MIMO_MLP`` (one dict
    per group), and subclasses whose ``forward`` takes ``obs_dict`` (+ ``goal_dict``,
    ``acts`` / ``actions`` for networks with an ``ac_dim``), as the policy and value
    families do.

    Args:
        network: The built network.
        batch_size: ``B``.
        sequence_length: ``T`` for recurrent networks.
        seed: Seed of the generator drawing the values.

    Raises:
        InvalidKwargsError: ``batch_size`` or ``sequence_length`` is not an int.
        ConfigError: ``batch_size`` or ``sequence_length`` is below 1, or the network's
            ``forward`` takes arguments this function cannot make.
    """
    batch_size = check_int("example_inputs", "batch_size", batch_size, low=1)
    sequence_length = check_int("example_inputs", "sequence_length", sequence_length, low=1)
    own = getattr(network, "example_inputs", None)
    if callable(own):
        return dict(own(batch_size))
    from obsnets.mimo.mimo_mlp import MIMO_MLP
    from obsnets.mimo.rnn_mimo_mlp import RNN_MIMO_MLP

    make = _Maker(network, batch_size, seed)
    name = type(network).__name__
    recurrent = isinstance(network, RNN_MIMO_MLP)
    steps = sequence_length if recurrent else None
    if isinstance(network, ObservationEncoder):
        return {"obs_dict": make.observations(network.obs_shapes)}
    if isinstance(network, ObservationDecoder):
        return {"feats": make.normal([network.input_feat_dim])}
    if isinstance(network, ObservationGroupEncoder):
        return make.groups(network.observation_group_shapes)
    if not isinstance(network, MIMO_MLP | RNN_MIMO_MLP):
        raise ConfigError(
            f"example_inputs: cannot tell what {name}.forward takes; give the inputs yourself "
            f"or define {name}.example_inputs(batch_size) returning its keyword arguments."
        )
    groups = network.input_obs_group_shapes
    params = inspect.signature(network.forward).parameters
    if "obs_dict" not in params:
        return make.groups(groups, steps)
    inputs: dict[str, Any] = {}
    for pname, param in params.items():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        if pname == "obs_dict":
            shapes: Mapping[str, Sequence[int]] = getattr(network, "obs_shapes", None) or {}
            inputs[pname] = make.observations(shapes or groups.get("obs", {}), steps)
        elif pname == "goal_dict":
            goals = getattr(network, "goal_shapes", None) or groups.get("goal")
            if goals:
                inputs[pname] = make.observations(goals)
        elif pname in ("acts", "actions") and hasattr(network, "ac_dim"):
            lead = [steps] if steps else []
            inputs[pname] = make.uniform([*lead, int(cast(Any, network).ac_dim)], low=-1.0)
        elif param.default is inspect.Parameter.empty:
            raise ConfigError(
                f"example_inputs: {name}.forward needs {pname!r}, which example_inputs cannot "
                f"make; define {name}.example_inputs(batch_size)."
            )
    return inputs


def random_observations(
    shapes: Mapping[str, Sequence[int]],
    batch_size: int,
    steps: int | None = None,
    *,
    device: torch.device | str | nn.Module | None = None,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Random observations of the given shapes: ``{key: (B, *shapes[key])}``.

    Images (3-D shapes, ``(C, H, W)``) are uniform in ``[0, 1]`` (the network format), other
    observations standard normal. Keys are drawn in the order of ``shapes``, from one CPU
    generator, so the values do not depend on ``device``.

    Args:
        shapes: ``{key: shape}``, each shape without batch (or time) dimension.
        batch_size: ``B``.
        steps: ``T``: with it, every tensor is ``(B, T, *shapes[key])`` (an observation
            history); ``None``: no time dimension.
        device: Where the tensors go; a module means the device of its first parameter (CPU
            if it has none); ``None``: CPU.
        seed: Seed of a fresh generator, used when ``generator`` is ``None``.
        generator: A CPU generator to draw from instead (it advances), to make several
            inputs from one random stream.

    Returns:
        ``{key: tensor}`` in the order of ``shapes``.

    Raises:
        InvalidKwargsError: ``batch_size`` or ``steps`` is not an int.
        ConfigError: ``batch_size`` or ``steps`` is below 1.
    """
    batch_size = check_int("random_observations", "batch_size", batch_size, low=1)
    lead = [] if steps is None else [check_int("random_observations", "steps", steps, low=1)]
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    if isinstance(device, nn.Module):
        target = _device_of(device)
    else:
        target = torch.device("cpu" if device is None else device)
    observations: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        draw = torch.rand if len(shape) == 3 else torch.randn
        observations[key] = draw(batch_size, *lead, *shape, generator=generator).to(target)
    return observations


def _device_of(module: nn.Module) -> torch.device:
    first = next(module.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


class _Maker:
    def __init__(self, network: nn.Module, batch_size: int, seed: int) -> None:
        self.device = _device_of(network)
        self.batch_size = int(batch_size)
        self.generator = torch.Generator().manual_seed(seed)

    def normal(self, shape: Sequence[int]) -> torch.Tensor:
        x = torch.randn(self.batch_size, *shape, generator=self.generator)
        return x.to(self.device)

    def uniform(self, shape: Sequence[int], low: float = 0.0) -> torch.Tensor:
        x = torch.rand(self.batch_size, *shape, generator=self.generator)
        return (low + (1.0 - low) * x).to(self.device)

    def observations(
        self, shapes: Mapping[str, Sequence[int]], steps: int | None = None
    ) -> dict[str, torch.Tensor]:
        # One generator for all of a network's inputs: groups, goals and actions continue the
        # same stream, so the values match those drawn before this function existed.
        return random_observations(
            shapes, self.batch_size, steps, device=self.device, generator=self.generator
        )

    def groups(
        self, groups: Mapping[str, Mapping[str, Sequence[int]]], steps: int | None = None
    ) -> dict[str, dict[str, torch.Tensor]]:
        return {g: self.observations(shapes, steps) for g, shapes in groups.items()}
