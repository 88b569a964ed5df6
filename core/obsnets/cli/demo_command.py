"""``obsnets demo``: learn a reaching policy from pixels and report how well it does."""

from __future__ import annotations

import argparse

from obsnets.cli.arguments import bounded_int, check_writable_folder
from obsnets.demo.run import LIMITS, run_demo
from obsnets.precision import PRECISIONS

__all__ = ["add_parser", "run"]


def add_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    summary: str | None = None,
) -> None:
    """Register the ``demo`` subcommand.

    Args:
        subparsers: The ``obsnets`` parser's subcommands.
        summary: The one-line help ``obsnets --help`` shows (``main`` passes
            ``COMMANDS[name].summary``, the one place it is written).
    """
    parser = subparsers.add_parser(
        "demo",
        help=summary,
        description="Collect expert demonstrations in a 2-D reaching task seen through an 84x84 "
        "camera, train the policy a config names (default: VisualCore + SpatialSoftmax + "
        "CropRandomizer + GMMActorNetwork), run it closed loop and compare with a random "
        "policy. Writes config.json, the saved model, learning_curve.png and rollouts.png.",
    )
    parser.add_argument(
        "--steps",
        type=bounded_int(*LIMITS["steps"]),
        default=1000,
        help="training steps (default %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=bounded_int(*LIMITS["seed"]),
        default=0,
        help="random seed (default %(default)s)",
    )
    parser.add_argument(
        "--out", default="reports/demo", help="report folder (default reports/demo)"
    )
    parser.add_argument(
        "--config",
        help="network config JSON: a path, or the name of a bundled example such as "
        "reach_diffusion_policy.json (default: reach_gmm_policy.json)",
    )
    parser.add_argument(
        "--episodes",
        type=bounded_int(*LIMITS["episodes"]),
        default=150,
        help="expert demonstrations (default %(default)s)",
    )
    parser.add_argument(
        "--eval-episodes",
        type=bounded_int(*LIMITS["eval_episodes"]),
        default=100,
        help="evaluation episodes (default %(default)s)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="train and evaluate in fp32 or under bf16 autocast (default %(default)s; bf16 is "
        "faster only on CPUs with native bf16, AVX512-BF16 or AMX)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its results."""
    check_writable_folder(args.out, "--out")  # before minutes of training, not after
    result = run_demo(
        steps=args.steps,
        seed=args.seed,
        output_dir=args.out,
        config_path=args.config,
        episodes=args.episodes,
        eval_episodes=args.eval_episodes,
        precision=args.precision,
    )
    print(
        f"trained {len(result.losses)} steps at {result.steps_per_second:.1f} steps/s, "
        f"final loss {result.losses[-1]:.3f}"
    )
    print(
        f"success rate: trained policy {result.success_rate:.0%}, "
        f"random policy {result.random_success_rate:.0%}"
    )
    print(f"report: {result.output_dir}/ (config.json, model/, learning_curve.png, rollouts.png)")
    return 0
