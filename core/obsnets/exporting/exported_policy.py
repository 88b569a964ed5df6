"""Run an exported policy: :func:`load_exported` and :class:`ExportedPolicy`.

Loading reads ``exported.json`` and ``policy.onnx`` from one snapshot of the folder, checks the
graph's checksum and hands the graph to an inference engine: ONNX Runtime for an fp32
artefact, OpenVINO (bf16 inference precision) for a bf16 one. Nothing is unpickled, no
component is resolved and no plugin is imported: the folder alone runs the policy.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsnets.errors import ConfigError, PluginLoadError, ShapeError, format_shape
from obsnets.exporting.export import EXPORT_INSTALL
from obsnets.exporting.manifest import GRAPH_FILE, MANIFEST_FILE, parse_manifest
from obsnets.exporting.step_graph import HEAD_OUTPUTS, StepLayout
from obsnets.saved_folder import FolderReader, read_folder

__all__ = ["ENGINES", "ExportedPolicy", "load_exported"]

ENGINES = ("onnxruntime", "openvino")
"""Engines that run an exported graph; the default is ONNX Runtime for fp32, OpenVINO for bf16."""

MAX_MANIFEST_BYTES = 2**20
MAX_GRAPH_BYTES = 2**31  # ONNX protobufs with embedded weights stop at 2 GiB

State = torch.Tensor | tuple[torch.Tensor, ...] | None
Runner = Callable[[list[np.ndarray]], list[np.ndarray]]


class ExportedPolicy:
    """A policy's control step run by an inference engine.

    Use it like ``forward_step``::

        policy = obsnets.load_exported("exported/")
        state = policy.initial_state()
        action, state = policy.step({"agentview_image": image, ...}, state)

    Args:
        layout: The graph's inputs, state and action head (from the manifest).
        precision: ``"fp32"`` or ``"bf16"``.
        runner: Runs the graph: numpy inputs in, numpy outputs out, in the graph's order.
        engine: The engine's name, for ``repr``.
    """

    def __init__(self, layout: StepLayout, precision: str, runner: Runner, engine: str) -> None:
        self.layout = layout
        self.precision = precision
        self.engine = engine
        self._run = runner

    @property
    def obs_shapes(self) -> dict[str, tuple[int, ...]]:
        """Observation key -> shape without the batch dimension."""
        return dict(zip(self.layout.obs_keys, self.layout.obs_shapes))

    def initial_state(self) -> State:
        """The zero RNN state (``(h, c)`` for an LSTM, ``h`` for a GRU), ``None`` if stateless."""
        return _packed(tuple(torch.zeros(s) for s in self.layout.state_shapes))

    def heads(self, obs_dict: Mapping[str, torch.Tensor], state: State = None) -> dict[str, Any]:
        """The action head's parameters for one step, and the new state, without sampling.

        Args:
            obs_dict: ``{key: (1, *obs_shapes[key])}``, every key of :attr:`obs_shapes`.
            state: The previous step's state; the initial state when ``None``.

        Returns:
            ``{"action": (1, A)}`` for a deterministic policy, ``{"loc", "scale": (1, A)}``
            for a Gaussian, ``{"loc", "scale": (1, M, A), "logits": (1, M)}`` for a mixture
            (before any tanh squashing), plus ``"state"``.
        """
        inputs = self._inputs(obs_dict, state)
        outputs = [torch.from_numpy(np.asarray(o)).float() for o in self._run(inputs)]
        names = HEAD_OUTPUTS[self.layout.head]
        result: dict[str, Any] = dict(zip(names, outputs[: len(names)]))
        result["state"] = _packed(tuple(outputs[len(names) :]))
        return result

    def step(
        self, obs_dict: Mapping[str, torch.Tensor], state: State = None
    ) -> tuple[torch.Tensor, State]:
        """One control step: a sampled action ``(1, A)`` and the next state.

        Sampling draws from torch's global generator as the eager policy does: a mixture
        picks a component by its weights, then adds Gaussian noise with the component's
        scale (robomimic's low-noise eval uses 1e-4).

        Args:
            obs_dict: ``{key: (1, *obs_shapes[key])}``, every key of :attr:`obs_shapes`.
            state: The previous step's state (ignored, and returned as given, by a
                non-recurrent policy); the initial state when ``None``.

        Returns:
            ``(action (1, A), state)``.
        """
        heads = self.heads(obs_dict, state)
        next_state = heads["state"] if self.layout.recurrent else state
        if self.layout.head == "action":
            return heads["action"], next_state
        loc, scale = heads["loc"], heads["scale"]
        if self.layout.head == "gmm":
            mode = torch.multinomial(torch.softmax(heads["logits"], dim=-1), 1)  # (1, 1)
            index = mode.unsqueeze(-1).expand(-1, 1, loc.shape[-1])  # (1, 1, A)
            loc, scale = loc.gather(1, index)[:, 0], scale.gather(1, index)[:, 0]
        action = loc + scale * torch.randn_like(loc)
        if self.layout.tanh_scale is not None:
            action = torch.tanh(action) * self.layout.tanh_scale
        return action, next_state

    def _inputs(self, obs_dict: Mapping[str, torch.Tensor], state: State) -> list[np.ndarray]:
        missing = [k for k in self.layout.obs_keys if k not in obs_dict]
        extra = [k for k in obs_dict if k not in self.layout.obs_keys]
        if missing or extra:
            raise ShapeError(
                f"ExportedPolicy.step: observation keys must be {list(self.layout.obs_keys)}; "
                f"missing {missing}, unexpected {extra}."
            )
        arrays = []
        for key, shape in zip(self.layout.obs_keys, self.layout.obs_shapes):
            value = obs_dict[key]
            if tuple(value.shape) != (1, *shape):
                raise ShapeError(
                    f"ExportedPolicy.step: observation {key!r} must have shape (1, *{shape}) "
                    f"(batch 1), got {format_shape(value.shape)}."
                )
            arrays.append(_array(value))
        states = self.initial_state() if state is None else state
        flat = () if states is None else (states,) if isinstance(states, torch.Tensor) else states
        if [tuple(s.shape) for s in flat] != list(self.layout.state_shapes):
            raise ShapeError(
                f"ExportedPolicy.step: the state must be tensors of shapes "
                f"{list(self.layout.state_shapes)}, as initial_state() returns; got "
                f"{[tuple(s.shape) for s in flat]}."
            )
        return arrays + [_array(s) for s in flat]

    def __repr__(self) -> str:
        return (
            f"ExportedPolicy(head={self.layout.head}, recurrent={self.layout.recurrent}, "
            f"precision={self.precision}, engine={self.engine})"
        )


def load_exported(
    path: str | Path, engine: str | None = None, threads: int | None = None
) -> ExportedPolicy:
    """Load a policy written by ``obsnets export`` (or :func:`export_policy`).

    Args:
        path: The exported folder.
        engine: ``"onnxruntime"`` or ``"openvino"``; by default ONNX Runtime for an fp32
            artefact and OpenVINO for a bf16 one (ONNX Runtime has no bf16 CPU mode).
        threads: Intra-op threads of the engine; default ``torch.get_num_threads()``.

    Returns:
        The policy, ready to :meth:`~ExportedPolicy.step`.

    Raises:
        ConfigError: the folder is not an exported policy, its manifest is malformed, the
            graph does not match its checksum, or ``engine`` cannot run its precision.
        PluginLoadError: the engine is not installed.
    """
    path = Path(path)
    try:
        manifest_bytes, graph = read_folder(path, _read)
    except OSError as error:  # absent, not a folder, unreadable
        raise ConfigError(
            f"{path} is not an exported policy: it needs {MANIFEST_FILE} and {GRAPH_FILE} "
            f"({error.strerror or error}: {error.filename or path}). Write one with "
            "`obsnets export MODEL_DIR --out PATH`."
        ) from error
    layout, precision, manifest = parse_manifest(manifest_bytes, str(path / MANIFEST_FILE))
    if hashlib.sha256(graph).hexdigest() != manifest["graph"]["sha256"]:
        raise ConfigError(
            f"{path / GRAPH_FILE} does not match the checksum in {MANIFEST_FILE}: the file is "
            "corrupted or was changed after export; export the policy again."
        )
    chosen = engine or ("openvino" if precision == "bf16" else "onnxruntime")
    if chosen not in ENGINES:
        raise ConfigError(f"load_exported: engine must be one of {ENGINES}, got {chosen!r}.")
    if chosen == "onnxruntime" and precision == "bf16":
        raise ConfigError(
            f"{path} is a bf16 export and ONNX Runtime has no bf16 CPU mode; load it with "
            "engine='openvino' (the default) or export with --precision fp32."
        )
    count = threads or torch.get_num_threads()
    make = _onnxruntime_runner if chosen == "onnxruntime" else _openvino_runner
    return ExportedPolicy(layout, precision, make(graph, precision, count), chosen)


def _packed(states: tuple[torch.Tensor, ...]) -> State:
    """The state as ``forward_step`` carries it: a tuple (LSTM), one tensor (GRU) or None."""
    if not states:
        return None
    return states[0] if len(states) == 1 else states


def _read(reader: FolderReader) -> tuple[bytes, bytes]:
    return reader.read(MANIFEST_FILE, MAX_MANIFEST_BYTES), reader.read(GRAPH_FILE, MAX_GRAPH_BYTES)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())


def _import(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as error:
        raise PluginLoadError(
            f"Running an exported policy with {module} needs it installed; run `{EXPORT_INSTALL}`."
        ) from error


def _onnxruntime_runner(graph: bytes, precision: str, threads: int) -> Runner:
    ort = _import("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: its warnings are about its own fusions
    # Idle workers sleep instead of spinning: a control loop shares its cores with the rest
    # of the robot's software (and spinning threads slowed torch, timed beside it, 5x).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return list(session.run(None, dict(zip(names, inputs))))

    return run


def _openvino_runner(graph: bytes, precision: str, threads: int) -> Runner:
    ov = _import("openvino")
    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(io.BytesIO(graph)),
        "CPU",
        {
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "LATENCY",
        },
    )
    request = compiled.create_infer_request()
    count = len(compiled.outputs)

    def run(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        results = request.infer(list(inputs))
        return [np.array(results[i]) for i in range(count)]

    return run
