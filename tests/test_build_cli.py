"""``obsnets build``: a config naming components across plugins builds, summarises and runs."""

from __future__ import annotations

import json


def test_build_example_config_prints_table_and_forward_shapes(run_cli):
    result = run_cli("build", "core/obsnets/examples/reach_gmm_policy.json", "--summary")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "built GMMActorNetwork" in out
    assert (
        "agentview_image  obs    rgb       (3, 84, 84)  CropRandomizer -> VisualCore  (64,)" in out
    )
    assert "forward pass (batch 2) output shapes: [2, 2]" in out
    data = json.loads(
        run_cli("build", "core/obsnets/examples/reach_gmm_policy.json", "--json").stdout
    )
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["agent_pos"]["params"] == 0 and rows["agentview_image"]["params"] > 0
    assert rows["total"]["params"] == sum(r["params"] for r in data["rows"][:-1])


def test_build_rejects_a_misspelled_kwarg_with_the_valid_ones(tmp_path, run_cli):
    config = {
        "network": "MIMO_MLP",
        "kwargs": {
            "input_obs_group_shapes": {"obs": {"x": [3]}},
            "output_shapes": {"y": [2]},
            "layer_dim": [8],
        },
        "obs_modalities": {"low_dim": ["x"]},
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    result = run_cli("build", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'layer_dim'" in result.stderr and "Did you mean 'layer_dims'" in result.stderr


def test_build_reports_bad_json_and_unknown_keys(tmp_path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_cli("build", str(bad))
    assert result.returncode == 2 and "not valid JSON" in result.stderr
    bad.write_text(json.dumps({"netwrk": "MIMO_MLP"}))
    result = run_cli("build", str(bad))
    assert "Did you mean 'network'" in result.stderr
