"""Running the conformance checks on a :class:`ConformanceCase`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from obsnets.testing.case import CHECKS, ConformanceCase, ConformanceSkip
from obsnets.testing.checks import CHECK_FUNCTIONS
from obsnets.testing.subject import Subject, preserved_rng

__all__ = ["CheckResult", "check_component", "checks_for", "run_check"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``"passed"`` or ``"skipped"`` (with the reason)."""

    check: str
    status: str
    reason: str = ""


def _run(case: ConformanceCase, check: str) -> None:
    if check in case.skip:
        raise ConformanceSkip(f"{case} excludes {check!r}: {case.skip[check]}")
    with preserved_rng():
        CHECK_FUNCTIONS[check](Subject(case, check))


def run_check(case: ConformanceCase, check: str) -> None:
    """Run one check of the suite on ``case``.

    Args:
        case: The component and its example arguments and inputs.
        check: One of :data:`obsnets.testing.CHECKS`.

    Raises:
        AssertionError: the component fails the check; the message names the component, the
            check and what differed.
        ConformanceSkip: the check does not apply (outside a pytest test; inside one, the
            test is skipped with the reason instead).
    """
    checks_for(case, [check])
    try:
        _run(case, check)
    except ConformanceSkip as skip:
        if "PYTEST_CURRENT_TEST" in os.environ:  # running inside a pytest test
            import pytest

            pytest.skip(str(skip))
        raise


def check_component(
    case: ConformanceCase, checks: Iterable[str] | None = None
) -> list[CheckResult]:
    """Run every check (or the given ones) on ``case``; stop at the first failure.

    Checks that do not apply here (no CUDA device, or excluded by the case) are recorded as
    skipped rather than failing.

    Returns:
        One :class:`CheckResult` per check run.
    """
    results = []
    for check in checks_for(case, None if checks is None else list(checks)):
        try:
            _run(case, check)
        except ConformanceSkip as skip:
            results.append(CheckResult(check, "skipped", str(skip)))
            continue
        results.append(CheckResult(check, "passed"))
    return results


def checks_for(case: ConformanceCase, checks: Sequence[str] | None = None) -> list[str]:
    """The checks to run for ``case``: ``checks`` (default: all), validated."""
    chosen = list(CHECKS if checks is None else checks)
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown:
        raise ValueError(
            f"Unknown conformance check(s) {unknown} for {case}; checks are {', '.join(CHECKS)}."
        )
    return chosen
