"""The demo: learn a reaching policy from pixels, end to end, on a CPU in about two minutes."""

from obsnets.demo.reach_task import ReachTask
from obsnets.demo.run import DemoResult, run_demo

__all__ = ["DemoResult", "ReachTask", "run_demo"]
