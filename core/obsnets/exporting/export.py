"""Turn a policy into a deployable folder: an ONNX graph of its control step and a manifest.

The folder holds ``policy.onnx`` (the step graph with its weights, float32; see
:mod:`obsnets.exporting.step_graph`) and ``exported.json`` (its inputs, state and action head,
and the precision to run it at; see :mod:`obsnets.exporting.manifest`). Both are data: the
ONNX file is a protobuf graph of standard operators, nothing in the folder is pickled or runs
as code, and loading it needs neither the plugins that built the policy nor torch's exporter.

Why ONNX: measured on the BC-RNN-GMM image policy at batch 1 (README, "Fast paths"), ONNX
Runtime and OpenVINO run the same ONNX graph equally fast in float32 (about 5x eager); ONNX
Runtime starts in well under a second and is the lighter dependency, so it runs fp32
artefacts, and OpenVINO, whose CPU plugin computes in bf16 on request, runs bf16 ones. An
AOTInductor package was slower (about 3.5x) and is a compiled shared library: loading it runs
native code, which a file read as data must not.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import torch

from obsnets import __version__
from obsnets.errors import ConfigError, PluginLoadError
from obsnets.exporting.manifest import GRAPH_FILE, MANIFEST_FILE, manifest_json
from obsnets.exporting.step_graph import (
    PolicyStep,
    describe_policy,
    example_inputs,
    no_validation,
)
from obsnets.precision import PRECISIONS
from obsnets.saved_folder import unreplaceable_contents, write_folder

__all__ = ["EXPORT_INSTALL", "export_policy"]

EXPORT_INSTALL = 'pip install "obsnets[export]"'
"""The install line for the optional export engines (onnx, onnxscript, onnxruntime, openvino)."""


def export_policy(
    policy: torch.nn.Module,
    out: str | Path,
    precision: str = "fp32",
    *,
    overwrite: bool = False,
) -> Path:
    """Export ``policy``'s control step to the folder ``out`` (replaced atomically).

    Args:
        policy: A policy network (``ActorNetwork``, ``GaussianActorNetwork``,
            ``GMMActorNetwork``, ``RNNActorNetwork``, ``RNNGMMActorNetwork``, or one with
            their interface) on the CPU; it is exported in eval mode and left in the mode
            it was in.
        out: The folder to write: new, empty, or an earlier export.
        precision: ``"fp32"`` (run by ONNX Runtime) or ``"bf16"`` (run by OpenVINO with
            bf16 inference precision; the stored weights stay float32).
        overwrite: Also replace a folder holding anything else.

    Returns:
        ``out``.

    Raises:
        ConfigError: ``precision`` is unknown, the network cannot be exported (see
            :func:`~obsnets.exporting.step_graph.describe_policy`), or ``out`` holds other
            files and ``overwrite`` is false.
        PluginLoadError: the ONNX exporter (``onnx``, ``onnxscript``) is not installed.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"export: precision must be one of {PRECISIONS}, got {precision!r}.")
    out = Path(out)
    target = Path(os.path.realpath(out))
    if not overwrite:
        _check_replaceable(target)
    _require_exporter()
    name = type(policy).__name__
    devices = {t.device.type for t in [*policy.parameters(), *policy.buffers()]}
    if devices - {"cpu"}:
        raise ConfigError(
            f"export: {name} is on {sorted(devices)}; the graph is traced on the CPU. Export "
            "policy.cpu() (the exported policy runs on the CPU engines)."
        )
    was_training = policy.training
    policy.eval()
    try:
        layout = describe_policy(policy, name)
        step = PolicyStep(policy, layout).eval()

        def write(folder: Path) -> None:
            _write_onnx(step, folder / GRAPH_FILE, layout.obs_keys, len(layout.state_shapes))
            digest = hashlib.sha256((folder / GRAPH_FILE).read_bytes()).hexdigest()
            source = {
                "component": name,
                "qualified_name": f"{type(policy).__module__}:{type(policy).__qualname__}",
                "obsnets_version": __version__,
                "torch_version": torch.__version__,
            }
            text = manifest_json(layout, precision, source, digest)
            (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")

        write_folder(target, write)
    finally:
        policy.train(was_training)
    return out


def _write_onnx(step: PolicyStep, path: Path, obs_keys: tuple[str, ...], n_state: int) -> None:
    # Input names are positional: observation keys may hold characters ONNX names avoid.
    inputs = [f"obs_{i}" for i in range(len(obs_keys))] + [f"state_{i}" for i in range(n_state)]
    ir_logger = logging.getLogger("onnx_ir")
    level = ir_logger.level
    with torch.no_grad(), no_validation(), warnings.catch_warnings():
        # The exporter warns and logs about its own internals (deprecations in onnxscript,
        # initializers its optimiser leaves alone); none concerns the graph, which the tests
        # compare with eager.
        warnings.simplefilter("ignore")
        ir_logger.setLevel(logging.ERROR)
        try:
            _onnx_export(step, path, inputs)
        finally:
            ir_logger.setLevel(level)


def _onnx_export(step: PolicyStep, path: Path, inputs: list[str]) -> None:
    torch.onnx.export(
        step,
        example_inputs(step.layout),
        str(path),
        dynamo=True,
        input_names=inputs,
        output_names=list(step.layout.output_names),
        external_data=False,
        optimize=True,
        verbose=False,
    )


def _require_exporter() -> None:
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError as error:
            raise PluginLoadError(
                f"obsnets export needs the ONNX exporter ({module} is not installed); "
                f"run `{EXPORT_INSTALL}`."
            ) from error


def _check_replaceable(target: Path) -> None:
    what = unreplaceable_contents(target, (MANIFEST_FILE, GRAPH_FILE), "an exported policy")
    if what is not None:
        raise ConfigError(
            f"export: {target} holds {what}; choose another --out or pass overwrite=True "
            "(--overwrite) to replace it and everything in it."
        )
