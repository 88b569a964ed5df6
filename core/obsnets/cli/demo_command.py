"""``obsnets demo``: learn a reaching policy from pixels and report how well it does."""

from __future__ import annotations

import argparse

from obsnets.demo.run import run_demo

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="train an image policy end to end (about two minutes on a CPU)",
        description="Collect expert demonstrations in a 2-D reaching task seen through an 84x84 "
        "camera, train the policy a config names (default: VisualCore + SpatialSoftmax + "
        "CropRandomizer + GMMActorNetwork), run it closed loop and compare with a random "
        "policy. Writes config.json, the saved model, learning_curve.png and rollouts.png.",
    )
    parser.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--out", default="reports/demo", help="report folder (default reports/demo)"
    )
    parser.add_argument("--config", help="network config JSON (default: the bundled one)")
    parser.add_argument("--episodes", type=int, default=150, help="expert demonstrations")
    parser.add_argument("--eval-episodes", type=int, default=100, help="evaluation episodes")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its results."""
    result = run_demo(
        steps=args.steps,
        seed=args.seed,
        output_dir=args.out,
        config_path=args.config,
        episodes=args.episodes,
        eval_episodes=args.eval_episodes,
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
