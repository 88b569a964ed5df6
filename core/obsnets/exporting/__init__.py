"""Deployable policies: export a policy's control step to ONNX and run it with an engine.

``obsnets export MODEL_DIR --out PATH [--precision fp32|bf16]`` (or :func:`export_policy`)
writes the folder; :func:`load_exported` runs it without the plugins that built the policy.
"""

from obsnets.exporting.export import export_policy
from obsnets.exporting.exported_policy import ENGINES, ExportedPolicy, load_exported

__all__ = ["ENGINES", "ExportedPolicy", "export_policy", "load_exported"]
