"""Numerical parity with robomimic: the acceptance test (fixtures in tests/fixtures/parity).

For every case folder: build the network through obsnets-robomimic from the case's robomimic
kwargs, load robomimic's weights strictly, replay the recorded calls and compare every output
within the case's tolerance. Cases whose network no installed plugin provides yet are skipped
BY NAME ("not yet implemented: ..."), never passed. Sampled (non-deterministic) outputs are
checked in a separate test: they must match for the cases whose random draws obsnets-robomimic
reproduces (DRAWS_REPRODUCED); for the others a value difference is reported as XFAIL.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from obsnets.errors import ObsnetsError, UnknownComponentError
from obsnets_robomimic import (
    RobomimicMigrationWarning,
    StateDictMismatchError,
    apply_post_init_calls,
    build_network,
    load_robomimic_state_dict,
)


def _load_helper():
    # --import-mode=importlib puts no test folder on sys.path: load the helper by path.
    name = "obsnets_tests_parity_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("parity_fixtures.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


pf = _load_helper()
PARITY_DIR = pf.parity_dir()
# Without the fixture folder there are no cases: one test then runs on this name and fails
# (the `parity_case` fixture names the folder and the fix), so a broken checkout never passes.
MISSING = "parity-fixtures-missing"
CASES = pf.list_cases(PARITY_DIR)
DRAWS_REPRODUCED = {
    # case: why its seeded outputs must match. The migration switches on robomimic's sampling.
    "03_crop_randomizer_eval": "CropRandomizer(crop_sampling='robomimic') draws robomimic's "
    "crop corners, floor(U[0, 1) * (H - h)) from torch's global CPU generator",
    "10_gmm_actor_network": "GMMActorNetwork samples its mixture as robomimic does (a mode "
    "from the Categorical, then the component's Normal, from torch's global generator)",
    "12_rnn_gmm_actor_network": "RNNGMMActorNetwork samples its mixture as robomimic does",
}


def _case_ids_with_sampled_calls() -> list[str]:
    return [
        c
        for c in CASES
        if any(
            not call.get("deterministic", True) for call in pf.load_meta(PARITY_DIR / c)["calls"]
        )
    ]


@pytest.fixture
def one_thread():
    """robomimic recorded on one CPU thread; other counts differ by ~1e-7 (README)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build_case_network(case) -> tuple[torch.nn.Module, list[str]]:
    """Build a case's network through obsnets-robomimic, or skip it as not yet implemented.

    Returns the network and the migration warnings it raised (reported, not failed: a
    fixture may rely on robomimic ignoring a setting).
    """
    name = case.network_name
    modalities = case.spec["obs_modalities"]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RobomimicMigrationWarning)
            network = build_network(name, case.spec["kwargs"], modalities)
            apply_post_init_calls(network, case.spec.get("post_init_calls", []), modalities)
    except UnknownComponentError as exc:
        pytest.skip(
            f"not yet implemented: {case.name} needs {case.spec['robomimic_class']} "
            f"({str(exc).splitlines()[0]})"
        )
    return network, [str(w.message) for w in caught]


@pytest.mark.parametrize("case_name", CASES or [MISSING])
def test_parity(case_name, one_thread, parity_case):
    """Every deterministic output matches robomimic's recording within the case tolerance."""
    case = parity_case(case_name)
    assert case.deterministic_outputs(), f"{case_name} records no deterministic output"
    network, migration_warnings = build_case_network(case)
    # Same keys in the same order: robomimic checkpoints load unchanged, aliases included.
    assert list(network.state_dict()) == case.spec["state_dict_keys"]
    load_robomimic_state_dict(network, case.state_dict())
    results = pf.replay(case, network)
    table = pf.format_results(results)
    print(f"{case_name}\n{table}")
    for message in migration_warnings:
        print(f"  migration warning: {message}")
    failures = [o for c in results for o in c.outputs if o.deterministic and not o.ok]
    compared = [o for c in results for o in c.outputs if o.deterministic]
    assert not failures, (
        f"{case_name}: {len(failures)} of {len(compared)} outputs differ from robomimic:\n"
        + "\n".join(f"  {o.name}: max_abs_err={o.max_abs_err} {o.detail}" for o in failures)
        + f"\nall outputs:\n{table}"
    )


@pytest.mark.parametrize("case_name", _case_ids_with_sampled_calls())
def test_parity_sampled_calls(case_name, one_thread, parity_case):
    """Sampled outputs, seeded as robomimic was. They match only if obsnets draws random
    numbers exactly as robomimic does: required for the cases in DRAWS_REPRODUCED; for the
    others a value difference is reported as XFAIL (with its max error). A wrong shape or an
    exception always fails."""
    case = parity_case(case_name)
    network, _ = build_case_network(case)
    load_robomimic_state_dict(network, case.state_dict())
    results = pf.replay(case, network)
    sampled = [o for c in results for o in c.outputs if not o.deterministic]
    print(f"{case_name}\n{pf.format_results(results)}")
    broken = [o for o in sampled if not o.ok and o.max_abs_err is None]
    assert not broken, "\n".join(f"{o.name}: {o.detail}" for o in broken)
    differing = [o for o in sampled if not o.ok]
    assert not (differing and case_name in DRAWS_REPRODUCED), (
        f"{case_name}: seeded outputs differ from robomimic's draws although "
        f"{DRAWS_REPRODUCED.get(case_name)}: "
        + ", ".join(f"{o.name} max_abs_err={o.max_abs_err:.3g}" for o in differing)
    )
    if differing:
        pytest.xfail(
            f"optional sampled outputs of {case_name} differ (random draws): "
            + ", ".join(f"{o.name} max_abs_err={o.max_abs_err:.3g}" for o in differing)
        )


def test_parity_cases_are_discovered(parity_case):
    """The fixture folder exists and every case in its index.json is a test case."""
    if not CASES:
        parity_case(MISSING)  # fails, naming the missing folder and the fix
    import json

    index = json.loads((PARITY_DIR / "index.json").read_text())
    assert {c["name"] for c in index["cases"]} <= set(CASES)
    assert CASES


# -- the robomimic RNN_MIMO_MLP.forward_step robomimic cannot run -----------------------------


def _rnn_step_cases() -> list[str]:
    metas = {c: pf.load_meta(PARITY_DIR / c) for c in CASES}
    return [
        c
        for c, meta in metas.items()
        if meta["robomimic_class"] == "RNN_MIMO_MLP"
        and any(call["id"] == "forward_step" for call in meta["calls"])
    ]


@pytest.mark.parametrize("case_name", _rnn_step_cases())
def test_rnn_mimo_mlp_forward_step_works(case_name, one_thread, parity_case):
    """robomimic's RNN_MIMO_MLP.forward_step raises; obsnets' must equal the recorded
    length-1 unroll (``forward`` with the same state, time axis dropped)."""
    case = parity_case(case_name)
    network, _ = build_case_network(case)
    load_robomimic_state_dict(network, case.state_dict()).eval()
    call = next(c for c in case.spec["calls"] if c["id"] == "forward_step")
    groups = {
        group: {k: case.tensor(v)[:, 0] for k, v in obs.items()}
        for group, obs in call["args"].items()
        if isinstance(obs, dict)
    }
    state = tuple(case.tensor(n) for n in call["args"]["rnn_init_state"])
    with torch.no_grad():
        outputs, new_state = network.forward_step(rnn_state=state, **groups)
    rtol, atol = case.tolerance(call)
    for name, got in (
        ("out/forward_step/action", outputs["action"]),
        ("out/forward_step/h", new_state[0]),
        ("out/forward_step/c", new_state[1]),
    ):
        ok, err, detail = pf.compare(got, case.io[name], rtol, atol)
        assert ok, f"{name}: max_abs_err={err} {detail}"


# -- how-expression interpreter ---------------------------------------------------------------


def test_how_interpreter_supports_the_fixture_forms():
    ret = (OrderedDict(action=torch.arange(6.0).reshape(2, 3)), (torch.ones(1), torch.zeros(1)))
    inputs = {"in/x": torch.tensor([1.0, 2.0])}
    assert torch.equal(
        pf.evaluate_how("ret[0]['action'][:, 0]", ret, inputs), torch.tensor([0.0, 3.0])
    )
    assert torch.equal(pf.evaluate_how("ret[1][-1]", ret, inputs), torch.zeros(1))
    dist = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    got = pf.evaluate_how("ret.log_prob(inputs['in/x'])", dist, inputs)
    assert torch.allclose(got, dist.log_prob(inputs["in/x"]))
    assert pf.evaluate_how("ret.mean.sum()", dist, inputs) == 0.0
    assert pf.evaluate_how("torch.ones(2).shape[0]", None, inputs) == 2
    assert torch.equal(pf.evaluate_how("ret.sum(dim=0)", torch.eye(2), inputs), torch.ones(2))
    same = pf.evaluate_how("module.forward(inputs['in/x'])", None, inputs, torch.nn.Identity())
    assert torch.equal(same, inputs["in/x"])  # case 23 re-runs the module this way


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "ret.__class__",
        "open('x')",
        "ret + 1",
        "[x for x in ret]",
        "ret.sum(**inputs)",
        "module.__class__",
        "lambda: 0",
        "ret[inputs]",
        "os.system('true')",
    ],
)
def test_how_interpreter_rejects_everything_else(expression):
    with pytest.raises(pf.HowError, match="how expression"):
        pf.evaluate_how(expression, torch.ones(2), {})


def test_compare_reports_max_error_and_shape():
    want = torch.tensor([1.0, 2.0])
    assert pf.compare(torch.tensor([1.0, 2.0]), want, 0.0, 0.0) == (True, 0.0, "")
    ok, err, _ = pf.compare(torch.tensor([1.0, 2.5]), want, 1e-5, 1e-6)
    assert not ok and err == pytest.approx(0.5)
    ok, err, detail = pf.compare(torch.ones(3), want, 1.0, 1.0)
    assert not ok and err is None and "shape" in detail


# -- load_robomimic_state_dict strictness and the one-warning drop, on real fixtures ----------


def _built_case(parity_case, *preferred: str):
    for name in preferred:
        if name in CASES:
            case = parity_case(name)
            return case, build_case_network(case)[0]
    pytest.skip(f"not yet implemented: none of the cases {preferred} is in the fixture set")


def test_load_robomimic_state_dict_is_strict(parity_case):
    case, network = _built_case(
        parity_case, "05_mimo_mlp_obs_goal", "07_actor_network", "14_value_network"
    )
    good = case.state_dict()
    broken = dict(good)
    missing_key = next(k for k in broken if k.endswith(".weight"))
    del broken[missing_key]
    broken["nets.not_a_layer.weight"] = torch.zeros(1)
    wrong_key = next(k for k in broken if k.endswith(".bias"))
    broken[wrong_key] = torch.zeros(broken[wrong_key].numel() + 1)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    with pytest.raises(StateDictMismatchError) as info:
        load_robomimic_state_dict(network, broken)
    message = str(info.value)
    assert missing_key in message and "nets.not_a_layer.weight" in message and wrong_key in message
    assert info.value.missing == [missing_key]
    assert info.value.unexpected == ["nets.not_a_layer.weight"]
    assert list(info.value.shape_mismatches) == [wrong_key]
    assert isinstance(info.value, ObsnetsError)
    for key, value in network.state_dict().items():  # nothing was loaded
        assert torch.equal(value, before[key])
    load_robomimic_state_dict(network, good)
    for key, value in network.state_dict().items():
        assert torch.equal(value, good[key].to(value.dtype))


def test_dropped_settings_give_one_warning_and_robomimics_network(one_thread, parity_case):
    """Settings robomimic silently ignores are dropped with ONE warning listing them all,
    and the result is still robomimic's network (its weights load, its outputs match)."""
    if "04_obs_encoder_rgb_lowdim" not in CASES:
        pytest.skip("not yet implemented: case 04_obs_encoder_rgb_lowdim is not in the set")
    case = parity_case("04_obs_encoder_rgb_lowdim")
    build_case_network(case)  # skips by name while the rgb plugins are missing
    kwargs = case.spec["kwargs"]
    rgb = kwargs["encoder_kwargs"]["rgb"]
    rgb["core_kwargs"]["feature_dimenson"] = 128  # misspelled: robomimic keeps 64
    rgb["core_kwargs"]["backbone_kwargs"]["num_layers"] = 50
    rgb["core_kwargs"]["pool_kwargs"]["num_kps"] = 8
    rgb["obs_randomizer_kwargs"]["crop_size"] = 10
    with pytest.warns(RobomimicMigrationWarning) as record:
        network = build_network("obs_encoder_factory", kwargs, case.spec["obs_modalities"])
    assert len(record) == 1
    message = str(record[0].message)
    for dropped in ("feature_dimenson", "num_layers", "num_kps", "crop_size"):
        assert dropped in message
    load_robomimic_state_dict(network, case.state_dict())
    results = pf.replay(case, network)
    assert all(o.ok for c in results for o in c.outputs), pf.format_results(results)


def test_config_path_builds_robomimics_encoder(one_thread, parity_case):
    """An experiment config's observation section (case 04's settings, written the way
    robomimic's JSON configs hold them) builds the encoder robomimic built: its weights load
    and its outputs match the recording."""
    from obsnets_robomimic import build_obs_encoder_from_config

    if "04_obs_encoder_rgb_lowdim" not in CASES:
        pytest.skip("not yet implemented: case 04_obs_encoder_rgb_lowdim is not in the set")
    case = parity_case("04_obs_encoder_rgb_lowdim")
    build_case_network(case)  # skips by name while the rgb plugins are missing
    kwargs = case.spec["kwargs"]
    config = {
        "algo_name": "bc",
        "observation": {
            "modalities": {
                "obs": dict(case.spec["obs_modalities"]),
                "goal": {"low_dim": [], "rgb": []},
            },
            "encoder": kwargs["encoder_kwargs"],
        },
    }
    with pytest.warns(RobomimicMigrationWarning) as record:
        network = build_obs_encoder_from_config(config, kwargs["obs_shapes"])
    message = str(record[0].message)  # robomimic's behaviours switched on, each named
    assert "CropRandomizer(crop_sampling='robomimic')" in message
    assert "SpatialSoftmax(always_draw_noise=True)" in message
    assert "dropped" not in message
    load_robomimic_state_dict(network, case.state_dict())
    results = pf.replay(case, network)
    assert all(o.ok for c in results for o in c.outputs), pf.format_results(results)


def test_hand_assembled_encoder_matches_the_factory_one(one_thread, parity_case):
    """Case 04's encoder written as robomimic's manual assembly (ObservationEncoder, then
    register_obs_key with a randomizer object, then make): the post_init_calls path builds
    the same network, so robomimic's weights load and the outputs match."""
    if "04_obs_encoder_rgb_lowdim" not in CASES:
        pytest.skip("not yet implemented: case 04_obs_encoder_rgb_lowdim is not in the set")
    case = parity_case("04_obs_encoder_rgb_lowdim")
    build_case_network(case)  # skips by name while the rgb plugins are missing
    rgb = case.spec["kwargs"]["encoder_kwargs"]["rgb"]
    crop = {"input_shape": [3, 84, 84], **rgb["obs_randomizer_kwargs"]}
    calls = [
        {
            "method": "register_obs_key",
            "kwargs": {
                "name": "agentview_image",
                "shape": [3, 84, 84],
                "net_class": "VisualCore",
                "net_kwargs": {"input_shape": [3, 84, 84], **rgb["core_kwargs"]},
                "randomizers": [
                    {"__object__": "robomimic.models.obs_core.CropRandomizer", "kwargs": crop}
                ],
            },
        },
        {"method": "register_obs_key", "kwargs": {"name": "robot0_eef_pos", "shape": [3]}},
        {"method": "register_obs_key", "kwargs": {"name": "robot0_eef_quat", "shape": [4]}},
        {"method": "make", "kwargs": {}},
    ]
    case.spec["robomimic_class"] = "ObservationEncoder"
    case.spec["constructor"] = "class"
    case.spec["kwargs"] = {"feature_activation": "torch.nn.ReLU"}
    case.spec["post_init_calls"] = calls
    network, migration_warnings = build_case_network(case)
    assert not [m for m in migration_warnings if "dropped" in m]  # only behaviours reproduced
    load_robomimic_state_dict(network, case.state_dict())
    results = pf.replay(case, network)
    assert all(o.ok for c in results for o in c.outputs), pf.format_results(results)


def test_a_missing_case_fails_naming_the_fix(parity_case, monkeypatch, tmp_path):
    """The fixtures are part of the repository: a missing case fails (never skips)."""
    monkeypatch.setenv(pf.PARITY_ENV, str(tmp_path))
    assert pf.list_cases(pf.parity_dir()) == []
    with pytest.raises(pytest.fail.Exception) as info:
        parity_case("05_mimo_mlp_obs_goal")
    assert str(info.value) == (
        f"Test data {tmp_path / '05_mimo_mlp_obs_goal' / 'case.json'} not found. It is part of "
        "the repository (tests/fixtures); run `make fixtures` to copy it from ../shared, or set "
        "OBSNETS_PARITY_DIR to its location."
    )
