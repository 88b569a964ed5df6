"""``obsnets export MODEL_DIR --out PATH [--precision fp32|bf16]``: a deployable policy.

Loads the saved model (data only, as ``obsnets load`` does), exports its control step to ONNX
with :func:`obsnets.exporting.export_policy`, and says how to run it.
"""

from __future__ import annotations

import argparse

from obsnets.cli.arguments import check_writable_folder
from obsnets.cli.trust_option import add_trust_code_argument
from obsnets.exporting.export import export_policy
from obsnets.precision import PRECISIONS
from obsnets.saving import load

__all__ = ["add_parser", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``export`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "export",
        help=summary,
        description="Export the control step of a policy saved with save_pretrained (its "
        "forward_step, with the RNN state) as an ONNX graph plus a manifest. Load it with "
        "obsnets.load_exported(PATH): fp32 runs on ONNX Runtime, bf16 on OpenVINO; loading "
        "needs neither the plugins nor torch's exporter.",
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a folder save_pretrained wrote")
    parser.add_argument("--out", required=True, help="folder to write the exported policy to")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="compute precision of the exported policy (default fp32; bf16 is fast only on "
        "CPUs with native bf16, AVX512-BF16 or AMX)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out even if it holds other files"
    )
    add_trust_code_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, export, report."""
    check_writable_folder(args.out, "--out")
    policy = load(args.model_dir, trust_code=args.trust_code)
    export_policy(policy, args.out, args.precision, overwrite=args.overwrite)
    print(
        f"{type(policy).__name__} -> {args.out} ({args.precision}); run it with "
        f"obsnets.load_exported({str(args.out)!r})"
    )
    return 0
