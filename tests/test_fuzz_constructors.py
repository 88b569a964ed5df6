"""Property-based tests: generated arguments and configs only ever raise obsnets errors.

hypothesis mutates the conformance cases' example arguments (tests/test_conformance.py and
each first-party plugin's conformance cases) of every registered component: an argument
replaced by another value (wrong types, NaN, inf, huge or negative numbers, nested lists and
dicts, strings naming other components), a nested entry changed, an argument left out or an
unknown one added. Building must either work or raise an ``ObsnetsError`` subclass; any
other exception (a raw ``TypeError``, ``RuntimeError``, ``IndexError``...) fails with the
shrunk example. The same goes for whole configs given to :func:`obsnets.config.build_from_config`.

Profiles (``OBSNETS_HYPOTHESIS_PROFILE``): ``suite`` (default) runs a few hundred examples
per component, derandomised so the suite is repeatable; ``fuzz`` (``make fuzz``) runs
thousands per component and 10,000 configs, with a fresh random seed each time. Neither
has a deadline: a first build pays for imports. Components whose example build is slow (the
ResNets) build under torch's meta device, which runs the same constructor code without
allocating or initialising weights. Nothing reads pretrained weights (they are skipped as
:func:`obsnets.load` skips them), so nothing reaches the network.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsnets.building import build_component, constructor_parameters, skip_pretrained_weights
from obsnets.catalog import FIRST_PARTY_COMPONENTS
from obsnets.config import build_from_config
from obsnets.errors import ObsnetsError
from obsnets.registry import list_components, resolve_component
from obsnets.testing import ConformanceCase
from obsnets.validation import MAX_COUNT, MAX_SIZE

REPO = Path(__file__).resolve().parents[1]
CASE_FILES = [
    REPO / "tests" / "test_conformance.py",
    *sorted(REPO.glob("plugins/*/tests/test_*_conformance.py")),
]

_common = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("suite", max_examples=200, derandomize=True, **_common)
settings.register_profile("fuzz", max_examples=2000, **_common)
PROFILE_NAME = os.environ.get("OBSNETS_HYPOTHESIS_PROFILE", "suite")
PROFILE = settings.get_profile(PROFILE_NAME)
CONFIG_EXAMPLES = 10_000 if PROFILE_NAME == "fuzz" else 300
HEAVY_EXAMPLES = PROFILE.max_examples // 4
"""Examples for components whose build takes tens of milliseconds even on the meta device."""
SLOW_BUILD_S = 0.05


def _load_cases(path: Path) -> list[ConformanceCase]:
    # --import-mode=importlib puts no test folder on sys.path: load each case file by path.
    name = f"obsnets_fuzz_cases_{path.parent.parent.name}_{path.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return list(getattr(sys.modules[name], "CONFORMANCE_CASES", []))


def _base_arguments() -> dict[str, list[dict[str, Any]]]:
    """Component name -> the example keyword arguments of its conformance cases."""
    bases: dict[str, list[dict[str, Any]]] = {}
    for path in CASE_FILES:
        for case in _load_cases(path):
            if isinstance(case.component, str):
                bases.setdefault(case.component, []).append(dict(case.kwargs))
    return bases


BASES = _base_arguments()
# Every registered component obsnets ships (the core and its plugins). A third-party
# component's own checks are its plugin's job: one without annotations passes whatever it is
# given straight to torch.
FIRST_PARTY = [e for e in list_components() if e.provider in FIRST_PARTY_COMPONENTS]
COMPONENTS = sorted({entry.name for entry in FIRST_PARTY})
NETWORKS = sorted({entry.name for entry in FIRST_PARTY if entry.kind == "network"})

# Strings a config might hold: names of components, torch classes and options, and names
# that must never import anything.
NAMES = [
    *COMPONENTS,
    *["ReLU", "relu", "torch.nn.ReLU", "Linear", "LSTM", "GRU", "lstm", "softplus", "exp"],
    *["avg", "batch", "group", "none", "None", "null", "per_image", "floor", "gaussian"],
    *["uniform", "replicate", "gelu", "geglu", "cpu", "DEFAULT", "resnet18", "test_resnet"],
    *["os:system", "builtins:eval", "obsnets.registry:registry", ".hidden:X", ":", "", "\x00"],
]
KEYS = ["obs", "goal", "eef_pos", "object", "rgb", "low_dim", "image", "action", "lang_emb"]
SCALARS = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([0, -1, MAX_SIZE + 1, MAX_COUNT * MAX_SIZE, 10**12, -(10**12), 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 2.5, -0.0, 1e-300, 1e300, math.nan, math.inf, -math.inf]),
    st.booleans(),
    st.none(),
    st.sampled_from(NAMES),
    st.text(max_size=6),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mutated(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """``value`` with one part replaced, removed or descended into (a nested entry changed)."""
    if isinstance(value, Mapping) and value and depth < 3 and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value, key=str)))
        changed = dict(value)
        action = data.draw(st.sampled_from(["descend", "drop", "add"]))
        if action == "drop":
            del changed[key]
        elif action == "add":
            changed[data.draw(st.sampled_from(KEYS) | st.text(max_size=4))] = data.draw(VALUES)
        else:
            changed[key] = _mutated(data, value[key], depth + 1)
        return changed
    if isinstance(value, list | tuple) and value and depth < 3 and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        items = list(value)
        items[index] = _mutated(data, items[index], depth + 1)
        return items
    return data.draw(VALUES)


def _mutated_arguments(data: st.DataObject, cls: type, base: Mapping[str, Any]) -> dict[str, Any]:
    params = constructor_parameters(cls)
    arguments = dict(base)
    for _ in range(data.draw(st.integers(1, 3))):
        names = sorted(params) or ["unknown_argument"]
        name = data.draw(st.sampled_from([*names, "unknown_argument"]))
        action = data.draw(st.sampled_from(["change", "change", "change", "drop"]))
        if action == "drop":
            arguments.pop(name, None)
            continue
        default = params[name].default if name in params else None
        current = arguments.get(name, None if default is inspect.Parameter.empty else default)
        arguments[name] = _mutated(data, current)
    return arguments


def _builds_or_obsnets_error(build: Callable[[], Any], *, meta: bool = False) -> None:
    """Run ``build``; an obsnets error is a fine outcome, any other exception propagates."""
    device = torch.device("meta") if meta else torch.device("cpu")
    with warnings.catch_warnings(), skip_pretrained_weights(), device:
        warnings.simplefilter("ignore")  # torch's advice on odd settings is not a crash
        with contextlib.suppress(ObsnetsError):
            build()


def _is_slow(name: str, bases: list[dict[str, Any]]) -> bool:
    start = time.perf_counter()
    for base in bases:
        _builds_or_obsnets_error(lambda base=base: build_component(name, base))
    return time.perf_counter() - start > SLOW_BUILD_S * len(bases)


@pytest.mark.parametrize("name", COMPONENTS)
def test_generated_constructor_arguments_raise_only_obsnets_errors(name: str) -> None:
    try:
        cls = resolve_component(name)
    except ObsnetsError as error:  # e.g. a plugin uninstalled while the suite runs
        pytest.skip(f"{name} does not resolve: {error}")
    bases = BASES.get(name) or [{}]
    slow = _is_slow(name, bases)

    @settings(PROFILE, max_examples=HEAVY_EXAMPLES if slow else PROFILE.max_examples)
    @given(data=st.data(), base=st.sampled_from(bases))
    def check(data: st.DataObject, base: dict[str, Any]) -> None:
        arguments = _mutated_arguments(data, cls, base)
        _builds_or_obsnets_error(lambda: build_component(name, arguments), meta=slow)

    check()


def _network_config(data: st.DataObject) -> dict[str, Any]:
    network = data.draw(st.sampled_from([n for n in NETWORKS if n in BASES]))
    config: dict[str, Any] = {"network": network}
    kwargs = data.draw(st.sampled_from(BASES[network]))
    if data.draw(st.booleans()):
        kwargs = _mutated_arguments(data, resolve_component(network, "network"), kwargs)
    config["kwargs"] = kwargs
    if data.draw(st.booleans()):
        config["obs_modalities"] = data.draw(
            st.dictionaries(
                st.sampled_from(["low_dim", "rgb", "scan"]),
                st.lists(st.sampled_from(KEYS)),
                max_size=2,
            )
            | VALUES
        )
    return config


@settings(PROFILE, max_examples=CONFIG_EXAMPLES)
@given(data=st.data())
def test_generated_configs_raise_only_obsnets_errors(data: st.DataObject) -> None:
    config = _network_config(data)
    if data.draw(st.integers(0, 3)) == 0:  # the config's own structure goes wrong
        config = _mutated(data, config)
    if not isinstance(config, Mapping):
        with pytest.raises(ObsnetsError):
            build_from_config(config)  # type: ignore[arg-type]
        return
    _builds_or_obsnets_error(lambda: build_from_config(config))


def test_fuzzing_reaches_components_and_errors():
    """The generated arguments both build components and hit their checks (not all one)."""
    outcomes = {"built": 0, "refused": 0}

    @settings(PROFILE, max_examples=60)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        arguments = _mutated_arguments(data, resolve_component("MIMO_MLP"), BASES["MIMO_MLP"][0])
        try:
            build_component("MIMO_MLP", arguments)
            outcomes["built"] += 1
        except ObsnetsError:
            outcomes["refused"] += 1

    check()
    assert outcomes["built"] >= 5 and outcomes["refused"] >= 5, outcomes
