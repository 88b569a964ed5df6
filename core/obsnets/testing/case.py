"""``ConformanceCase``: one component, the arguments to build it with and the inputs to feed it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CHECKS", "ConformanceCase", "ConformanceSkip"]

CHECKS: tuple[str, ...] = (
    "registration",
    "strict_kwargs",
    "pickle",
    "output_shape",
    "train_eval",
    "gradients",
    "state_dict",
    "dtype",
    "cuda",
)
"""Every check of the conformance suite, in the order :func:`check_component` runs them.

- ``registration``: the name resolves to the class, under the expected kind (and provider);
  the class's base declares that same kind.
- ``strict_kwargs``: :func:`obsnets.build_component` builds it from the example kwargs
  without changing them, and rejects an unknown keyword argument.
- ``pickle``: the class and an instance pickle; the unpickled instance computes the same.
- ``output_shape``: ``output_shape`` equals the shape forward really returns, for every input
  shape and batch size, in eval and train mode (randomizers: ``output_shape_in`` for
  ``forward_in`` and ``output_shape_out`` for ``forward_out``, which folds the batch back).
- ``train_eval``: both modes run and give finite outputs, switching modes reaches every
  submodule, and eval is deterministic (always for randomizers; for others unless the case
  says ``deterministic_eval=False``).
- ``gradients``: in train mode, the backward of the sum of the outputs (or the case's
  ``loss``) gives every parameter that requires grad a finite gradient.
- ``state_dict``: the state_dict survives a safetensors round trip to bytes, loads strictly
  into an instance rebuilt from the recorded ``init_arguments``, and that instance computes
  the same outputs.
- ``dtype``: after ``.to(torch.float64)`` every floating parameter and buffer is float64,
  and an eval-mode forward on float64 inputs returns float64 and computes what float32
  computed (randomizers: their train-mode path too, with its declared shapes).
- ``cuda``: on a CUDA device (skipped when none is present) forward and backward run and
  agree with the CPU.
"""


class ConformanceSkip(Exception):  # noqa: N818 - a skipped check is not an error
    """A check that does not apply here (no CUDA device, or the case excludes it)."""


@dataclass(frozen=True)
class ConformanceCase:
    """A component to check, with example arguments and inputs.

    Tensor components (``backbone``, ``pool``, ``encoder_core``, ``randomizer``) take one
    tensor ``(B, *input_shape)``: give ``input_shapes``. Networks and priors take
    dictionaries or other arguments: give ``inputs_factory``.

    Args:
        component: The name a config would use (``"ResNet18Conv"``, or qualified
            ``"pkg.module:Class"``), or the class itself.
        kwargs: Example constructor keyword arguments (keep the network small).
        input_shapes: Shapes of one input without batch dimension, e.g. ``[(3, 32, 32)]``;
            the checks feed uniform random values in ``[0, 1)``.
        inputs_factory: ``inputs_factory(batch_size)`` returns the arguments of one forward
            call: a dict of keyword arguments, a tuple of positional ones, or one tensor.
            Floating-point tensors in it are moved to the dtype and device under test.
        extra_inputs: For tensor components whose forward takes more than the tensor:
            ``extra_inputs(batch_size)`` returns keyword arguments passed along with it
            (e.g. ``{"lang_emb": torch.randn(batch_size, 768)}``).
        prepare: ``prepare(module)`` finishes a freshly built instance before the checks use
            it, for components built in two steps (e.g. register observation keys, then
            ``make()``); called on every instance the checks build.
        kind: The kind the component must be registered under (``"backbone"``, ...);
            ``None`` accepts the kind it has.
        provider: The distribution that must provide it (e.g. ``"obsnets-mybackbone"``):
            proves the plugin's entry point declares it. ``None`` skips this test.
        batch_sizes: Batch sizes the shape check uses; train mode uses the largest (so
            BatchNorm sees more than one value per channel).
        sequence_length: For sequence networks whose outputs are ``(B, T, *shape)``: the
            ``T`` that ``inputs_factory`` produces.
        output_shape_input: What to pass to ``output_shape`` for components fed by
            ``inputs_factory`` (default ``None``).
        deterministic_eval: Whether two eval-mode forwards on the same inputs must agree
            (always required of randomizers). Set ``False`` for networks that sample.
        loss: ``loss(module, inputs)`` returns the scalar the ``gradients`` check
            backpropagates, for components whose forward output is not differentiable
            (e.g. a sampled action); ``inputs`` is what ``inputs_factory`` returned. Default:
            the sum of every floating-point tensor forward returns.
        unused_parameters: Glob patterns of parameter names allowed to get no gradient,
            each excluded on purpose (say why in a comment).
        skip: ``{check: reason}``: checks that do not apply to this component, and why.
        tolerance: Absolute and relative tolerance of the float64 and CUDA comparisons.
        id: The test id (default: the component's name).
    """

    component: str | type
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    input_shapes: Sequence[Sequence[int]] = ()
    inputs_factory: Callable[[int], Any] | None = None
    extra_inputs: Callable[[int], Mapping[str, Any]] | None = None
    prepare: Callable[[Any], Any] | None = None
    kind: str | None = None
    provider: str | None = None
    batch_sizes: Sequence[int] = (1, 2)
    sequence_length: int | None = None
    output_shape_input: Any = None
    deterministic_eval: bool = True
    loss: Callable[[Any, Any], Any] | None = None
    unused_parameters: Sequence[str] = ()
    skip: Mapping[str, str] = field(default_factory=dict)
    tolerance: float = 1e-4
    id: str | None = None

    def __post_init__(self) -> None:
        # A malformed case is a bug in the test that declares it: say so at collection time.
        label = self.name
        if not self.input_shapes and self.inputs_factory is None:
            raise ValueError(
                f"ConformanceCase {label}: give input_shapes (tensor components) or "
                f"inputs_factory (networks)."
            )
        if self.input_shapes and self.inputs_factory is not None:
            raise ValueError(
                f"ConformanceCase {label}: give input_shapes or inputs_factory, not both."
            )
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise ValueError(f"ConformanceCase {label}: batch_sizes must be positive.")
        unknown = sorted(set(self.skip) - set(CHECKS))
        if unknown:
            raise ValueError(
                f"ConformanceCase {label}: skip names unknown check(s) {unknown}; "
                f"checks are {', '.join(CHECKS)}."
            )

    @property
    def name(self) -> str:
        """The component's name as given (a class is named by its ``__name__``)."""
        if isinstance(self.component, str):
            return self.component
        return getattr(self.component, "__name__", repr(self.component))

    def __str__(self) -> str:
        return self.id or self.name
