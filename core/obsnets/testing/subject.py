"""Building a case's component and calling it the way its kind is called."""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import torch

from obsnets.bases import Randomizer
from obsnets.building import build_component
from obsnets.errors import ObsnetsError
from obsnets.registry import ComponentEntry, qualified_name_of, registry, resolve_component
from obsnets.testing.case import ConformanceCase
from obsnets.testing.tree import map_tensors

__all__ = ["Call", "Subject", "fail", "preserved_rng", "seeded"]

# The checks of one case run one after the other and each starts from the same freshly built
# instance: keep a copy of the last one built (one case at a time, so memory stays bounded).
_LAST_BUILT: dict[str, tuple[ConformanceCase, int, torch.nn.Module]] = {}


def fail(case: ConformanceCase, check: str, message: str) -> AssertionError:
    """The error a failed check raises: names the component, the check and what differed."""
    return AssertionError(f"{case.name} failed conformance check {check!r}: {message}")


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's and Python's generators (what components may draw random numbers from)."""
    torch.manual_seed(seed)
    random.seed(seed)
    yield


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Leave the caller's random state as it was: checks seed generators freely inside."""
    python_state = random.getstate()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)


@dataclass
class Call:
    """The arguments of one forward call, and what they were made from.

    Attributes:
        args: Positional arguments.
        kwargs: Keyword arguments.
        raw: The input tensor (tensor components) or what ``inputs_factory`` returned; this is
            what a case's ``loss`` receives.
        batch_size: The batch size ``B``.
        input_shape: The per-sample input shape for tensor components, else ``None``.
    """

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    batch_size: int = 1
    input_shape: list[int] | None = None

    def to(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Call:
        """A copy with floating-point tensors cast to ``dtype`` and every tensor on ``device``."""

        def move(t: torch.Tensor) -> torch.Tensor:
            target = dtype if dtype is not None and t.is_floating_point() else t.dtype
            return t.to(device=device if device is not None else t.device, dtype=target)

        return Call(
            map_tensors(self.args, move),
            map_tensors(self.kwargs, move),
            map_tensors(self.raw, move),
            self.batch_size,
            self.input_shape,
        )


class Subject:
    """One case's component: how to build it, make its inputs and call it.

    Args:
        case: The conformance case.
        check: The check being run (for messages).
    """

    def __init__(self, case: ConformanceCase, check: str) -> None:
        self.case = case
        self.check = check
        try:
            self.cls: type = resolve_component(case.component, case.kind)
        except ObsnetsError as exc:
            raise fail(case, check, f"the name does not resolve: {exc}") from exc
        self.entries: list[ComponentEntry] = registry.find(qualified_name_of(self.cls))
        if case.kind is not None:
            self.kind = case.kind
        elif len({e.kind for e in self.entries}) == 1:
            self.kind = self.entries[0].kind
        else:
            self.kind = getattr(self.cls, "component_kind", None) or "network"

    @property
    def is_randomizer(self) -> bool:
        """Whether the component is called through ``forward_in`` / ``forward_out``."""
        return self.kind == "randomizer"

    def build(
        self,
        seed: int = 0,
        kwargs: Mapping[str, Any] | None = None,
        copy_kwargs: bool = True,
        remember: bool | None = None,
    ) -> torch.nn.Module:
        """Build the component by name, as a config would, with freshly seeded initialisation.

        Args:
            seed: Seed of the initialisation.
            kwargs: Constructor arguments (default: the case's).
            copy_kwargs: Pass a deep copy (``False`` passes ``kwargs`` itself, to see whether
                building changes it).
            remember: Keep a copy as the case's freshly built instance, which later builds
                with the case's own kwargs return (default: when ``kwargs`` is ``None``).
        """
        if kwargs is None:
            cached = _LAST_BUILT.get("entry")
            if cached is not None and cached[0] is self.case and cached[1] == seed:
                return copy.deepcopy(cached[2])
        arguments: Any = self.case.kwargs if kwargs is None else kwargs
        if copy_kwargs:
            arguments = copy.deepcopy(dict(arguments))
        with seeded(seed):
            try:
                module = build_component(self.case.component, arguments, kind=self.kind)
            except Exception as exc:
                raise fail(
                    self.case,
                    self.check,
                    f"building it with {arguments!r} raised {type(exc).__name__}: {exc}",
                ) from exc
            if self.case.prepare is not None:
                self.case.prepare(module)
        if kwargs is None if remember is None else remember:
            _LAST_BUILT.pop("entry", None)
            # A module that does not deep-copy is simply built every time.
            with contextlib.suppress(Exception):
                _LAST_BUILT["entry"] = (self.case, seed, copy.deepcopy(module))
        return module

    def calls(self, batch_size: int) -> list[Call]:
        """One call per input shape (tensor components) or one call (``inputs_factory``)."""
        if self.case.inputs_factory is None:
            return [self.make_call(batch_size, list(s)) for s in self.case.input_shapes]
        return [self.make_call(batch_size, None)]

    def make_call(self, batch_size: int, input_shape: list[int] | None, seed: int = 1) -> Call:
        """The inputs of one call, drawn from a fixed seed."""
        case = self.case
        with seeded(seed):
            if input_shape is not None:
                x = torch.rand(batch_size, *input_shape)
                extra = dict(case.extra_inputs(batch_size)) if case.extra_inputs else {}
                return Call((x,), extra, x, batch_size, [int(d) for d in input_shape])
            factory = cast(Callable[[int], Any], case.inputs_factory)  # ConformanceCase checked
            made = factory(batch_size)
        if isinstance(made, Mapping):
            return Call((), dict(made), made, batch_size)
        if isinstance(made, tuple):
            return Call(made, {}, made, batch_size)
        return Call((made,), {}, made, batch_size)

    def forward(self, module: torch.nn.Module, call: Call, seed: int = 2) -> Any:
        """Run the component on ``call``: ``forward_out(forward_in(x))`` for randomizers."""
        with seeded(seed):
            try:
                if self.is_randomizer:
                    randomizer = cast(Randomizer, module)
                    return randomizer.forward_out(randomizer.forward_in(*call.args, **call.kwargs))
                return module(*call.args, **call.kwargs)
            except Exception as exc:
                mode = "train" if module.training else "eval"
                raise fail(
                    self.case,
                    self.check,
                    f"forward in {mode} mode on {self.describe(call)} "
                    f"raised {type(exc).__name__}: {exc}",
                ) from exc

    def loss(self, module: torch.nn.Module, call: Call) -> torch.Tensor:
        """The scalar the gradient checks backpropagate."""
        from obsnets.testing.tree import describe, tensor_leaves

        if self.case.loss is not None:
            with seeded(2):
                return self.case.loss(module, call.raw)
        output = self.forward(module, call)
        leaves = [t for _, t in tensor_leaves(output) if t.is_floating_point()]
        if not leaves:
            raise fail(
                self.case,
                self.check,
                f"forward returned {describe(output)}, which holds no "
                f"floating-point tensor to backpropagate; give the case a loss(module, inputs).",
            )
        return sum((t.sum() for t in leaves), torch.zeros((), device=leaves[0].device))

    def describe(self, call: Call) -> str:
        """``"inputs (2, 3, 32, 32)"`` or ``"inputs from inputs_factory(2)"`` for messages."""
        if call.input_shape is not None:
            return f"inputs of shape {(call.batch_size, *call.input_shape)}"
        return f"inputs_factory({call.batch_size})"
