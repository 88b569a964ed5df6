"""obsnets' pytest plugin (entry point ``pytest11``): the ``obsnets_conformance`` fixture.

Installed with obsnets, so ``pytest`` in any plugin's repository has it. A test module that
defines ``CONFORMANCE_CASES`` (a list of :class:`obsnets.testing.ConformanceCase`) and a test
taking ``obsnets_conformance`` gets one test per case and check, e.g.
``test_conformance[MyConv-gradients]``::

    CONFORMANCE_CASES = [ConformanceCase("MyConv", input_shapes=[(3, 32, 32)])]

    def test_conformance(obsnets_conformance):
        obsnets_conformance.run()

Checks that do not apply (no CUDA device; excluded by the case with a reason) are skipped
with that reason.

pytest imports this module at the start of every run in every environment where obsnets is
installed, so it is a top-level module (one inside ``obsnets`` would import that package first)
and imports neither obsnets nor torch until a test uses the fixture: an unrelated test suite
does not pay for them, and needs no ``-p no:obsnets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from obsnets.testing.case import ConformanceCase

__all__ = ["CASES_VARIABLE", "ConformanceTest", "obsnets_conformance", "pytest_generate_tests"]

CASES_VARIABLE = "CONFORMANCE_CASES"


@dataclass(frozen=True)
class ConformanceTest:
    """One check of one case, as handed to a test by the ``obsnets_conformance`` fixture.

    Attributes:
        case: The component and its example arguments and inputs.
        check: The name of the check (one of :data:`obsnets.testing.CHECKS`).
    """

    case: ConformanceCase
    check: str

    def run(self) -> None:
        """Run the check: raises ``AssertionError`` on failure, skips when it does not apply."""
        from obsnets.testing.runner import run_check

        run_check(self.case, self.check)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise tests that take ``obsnets_conformance`` over the module's cases and checks."""
    if "obsnets_conformance" not in metafunc.fixturenames:
        return
    cases = getattr(metafunc.module, CASES_VARIABLE, None)
    if not cases:
        raise pytest.UsageError(
            f"{metafunc.module.__name__}.{metafunc.function.__name__} uses the "
            f"obsnets_conformance fixture, but the module defines no {CASES_VARIABLE} list "
            f"of obsnets.testing.ConformanceCase."
        )
    from obsnets.testing import conformance_params

    metafunc.parametrize("obsnets_conformance", conformance_params(cases), indirect=True)


@pytest.fixture
def obsnets_conformance(request: pytest.FixtureRequest) -> ConformanceTest:
    """One (case, check) of the module's ``CONFORMANCE_CASES``; call ``.run()`` on it."""
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError(
            "obsnets_conformance is parametrised from the test module's "
            f"{CASES_VARIABLE}; it cannot be requested indirectly."
        )
    case, check = param
    return ConformanceTest(case, check)
