"""The conformance suite: the contract every obsnets component keeps, as reusable checks.

A plugin author describes each component once, with small example arguments and inputs, and
runs every check on it::

    from obsnets.testing import ConformanceCase

    CONFORMANCE_CASES = [
        ConformanceCase("MyConv", kwargs={"input_channel": 3}, input_shapes=[(3, 32, 32)]),
    ]

    def test_conformance(obsnets_conformance):     # fixture from obsnets' pytest plugin
        obsnets_conformance.run()                   # one test per (case, check)

or, without the fixture, ``check_component(case)`` runs every check in one test. A failed
check raises ``AssertionError`` naming the component, the check and what differed. The
checks are listed in :data:`CHECKS`.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from obsnets.testing.case import CHECKS, ConformanceCase, ConformanceSkip
from obsnets.testing.runner import CheckResult, check_component, run_check

__all__ = [
    "CHECKS",
    "CheckResult",
    "ConformanceCase",
    "ConformanceSkip",
    "check_component",
    "conformance_params",
    "run_check",
]


def conformance_params(
    cases: Iterable[ConformanceCase], checks: Sequence[str] | None = None
) -> list[Any]:
    """``pytest.param((case, check), id="Case-check")`` for every case and check.

    For explicit parametrisation::

        @pytest.mark.parametrize("case_and_check", conformance_params(CASES))
        def test_conformance(case_and_check):
            run_check(*case_and_check)

    Args:
        cases: :class:`ConformanceCase` objects.
        checks: The checks to run (default: every one in :data:`CHECKS`).
    """
    import pytest

    from obsnets.testing.runner import checks_for

    return [
        pytest.param((case, check), id=f"{case}-{check}")
        for case in cases
        for check in checks_for(case, checks)
    ]
