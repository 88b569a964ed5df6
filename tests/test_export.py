"""Exported policies act like the eager ones: ``obsnets export`` and ``obsnets.load_exported``.

Tolerances: fp32 (ONNX Runtime) within 1e-3 of eager, as the issue asks (measured ~1e-7).
bf16 (OpenVINO, bf16 inference precision) rounds every matmul input to 8 mantissa bits; over a
few conv and LSTM layers the head's means and the state stay within ``BF16_ATOL`` = 0.05
absolute of eager (measured ~1e-3 on this small policy, 3e-4 on the BC-RNN-GMM benchmark one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import obsnets
from obsnets import build_component
from obsnets.cli.main import main
from obsnets.errors import ConfigError, ShapeError

FP32_ATOL = 1e-3
BF16_ATOL = 5e-2
A = 3
IMAGE = [3, 24, 24]
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
RGB = {
    "core_class": "VisualCore",
    "core_kwargs": {
        "backbone_class": "ShallowConv",
        "pool_class": "SpatialSoftmax",
        "pool_kwargs": {"num_kp": 4},
        "feature_dimension": 16,
    },
}
IMAGE_POLICY: dict[str, Any] = {
    "obs_shapes": {"image": IMAGE, "eef": [3]},
    "ac_dim": A,
    "mlp_layer_dims": [16],
    "rnn_hidden_dim": 16,
    "rnn_num_layers": 2,
    "num_modes": 4,
    "encoder_kwargs": {"rgb": RGB, **LOW_DIM},
    "obs_modalities": {"rgb": ["image"], "low_dim": ["eef"]},
}
LOW_DIM_POLICY: dict[str, Any] = {
    "obs_shapes": {"eef": [3], "obj": [5]},
    "ac_dim": A,
    "mlp_layer_dims": [16],
    "encoder_kwargs": LOW_DIM,
    "obs_modalities": {"low_dim": ["eef", "obj"]},
}


def _frames(shapes: dict[str, Any], count: int) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(3)
    return [{k: torch.rand(1, *s, generator=generator) for k, s in shapes.items()}
            for _ in range(count)]  # fmt: skip


@pytest.fixture(scope="module")
def rnn_gmm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    torch.manual_seed(0)
    policy = build_component("RNNGMMActorNetwork", IMAGE_POLICY, kind="network").eval()
    saved = obsnets.save_pretrained(policy, tmp_path_factory.mktemp("saved") / "policy")
    fp32 = tmp_path_factory.mktemp("export") / "fp32"
    bf16 = tmp_path_factory.mktemp("export") / "bf16"
    assert main(["export", str(saved), "--out", str(fp32)]) == 0
    assert main(["export", str(saved), "--out", str(bf16), "--precision", "bf16"]) == 0
    return obsnets.load(saved), fp32, bf16


def _eager_step(policy: Any, obs: dict[str, torch.Tensor], state: Any) -> tuple[Any, Any]:
    with torch.no_grad():
        return policy.forward_train_step(obs, rnn_state=state)


@pytest.mark.parametrize(("precision", "atol"), [("fp32", FP32_ATOL), ("bf16", BF16_ATOL)])
def test_rnn_gmm_heads_and_state_match_eager_across_steps(rnn_gmm, precision, atol) -> None:
    policy, fp32, bf16 = rnn_gmm
    exported = obsnets.load_exported(fp32 if precision == "fp32" else bf16)
    assert exported.engine == ("onnxruntime" if precision == "fp32" else "openvino")
    state, eager_state = exported.initial_state(), None
    for obs in _frames(policy.obs_shapes, 6):
        heads = exported.heads(obs, state)
        dist, eager_state = _eager_step(policy, obs, eager_state)
        components = dist.component_distribution.base_dist
        torch.testing.assert_close(heads["loc"], components.loc, atol=atol, rtol=0)
        torch.testing.assert_close(heads["scale"], components.scale, atol=atol, rtol=0)
        torch.testing.assert_close(
            heads["logits"], dist.mixture_distribution.logits, atol=atol * 10, rtol=0
        )
        # the state carried by the exported policy, not eager's, feeds the next step
        for ours, eager in zip(heads["state"], eager_state):
            torch.testing.assert_close(ours, eager, atol=atol, rtol=0)
        state = heads["state"]
    assert float(eager_state[0].abs().max()) > 0.01  # the state really moved


def test_rnn_gmm_sampled_action_lies_on_an_eager_mode_mean(rnn_gmm) -> None:
    policy, fp32, _ = rnn_gmm
    exported = obsnets.load_exported(fp32)
    state, eager_state = exported.initial_state(), None
    torch.manual_seed(5)
    for obs in _frames(policy.obs_shapes, 4):
        action, state = exported.step(obs, state)
        dist, eager_state = _eager_step(policy, obs, eager_state)
        means = dist.component_distribution.base_dist.loc[0]  # (M, A)
        assert action.shape == (1, A)
        distance = (means - action).abs().amax(dim=-1).min()
        assert distance < FP32_ATOL, f"action {action} is {distance:.2e} from every mode mean"
    for ours, eager in zip(state, eager_state):
        torch.testing.assert_close(ours, eager, atol=FP32_ATOL, rtol=0)


def test_manifest_describes_the_policy_and_rejects_tampering(rnn_gmm, tmp_path) -> None:
    _, fp32, _ = rnn_gmm
    manifest = json.loads((fp32 / "exported.json").read_text())
    assert manifest["head"] == {"kind": "gmm", "tanh_scale": None}
    assert [o["key"] for o in manifest["observations"]] == ["image", "eef"]
    assert manifest["state_shapes"] == [[2, 1, 16], [2, 1, 16]]
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "exported.json").write_text((fp32 / "exported.json").read_text())
    graph = bytearray((fp32 / "policy.onnx").read_bytes())
    graph[-1] ^= 0xFF
    (copy / "policy.onnx").write_bytes(bytes(graph))
    with pytest.raises(ConfigError, match="checksum"):
        obsnets.load_exported(copy)
    with pytest.raises(ConfigError, match="not an exported policy"):
        obsnets.load_exported(tmp_path)


def _edited_manifest(fp32: Path, folder: Path, edit: Any) -> Path:
    folder.mkdir()
    (folder / "policy.onnx").write_bytes((fp32 / "policy.onnx").read_bytes())
    raw = (fp32 / "exported.json").read_bytes()
    (folder / "exported.json").write_bytes(edit(raw))
    return folder


def _json_edit(change: Any) -> Any:
    def edit(raw: bytes) -> bytes:
        manifest = json.loads(raw)
        change(manifest)
        return json.dumps(manifest).encode()

    return edit


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (_json_edit(lambda m: m.pop("graph")), r"field 'graph' must be a dict"),
        (_json_edit(lambda m: m.update(graph=[1])), r"field 'graph' must be a dict"),
        (_json_edit(lambda m: m["graph"].update(sha256=7)), r"graph.sha256 must be the graph's"),
        (_json_edit(lambda m: m["head"].update(tanh_scale=True)), r"head.tanh_scale must be a"),
        (lambda raw: b"\xff" + raw, r"is not UTF-8 text \(byte 0\); exported.json is UTF-8"),
        (lambda raw: raw[:-3] + b', "format": 1}', r"repeats the key 'format'"),
    ],
)
def test_malformed_manifests_are_config_errors(rnn_gmm, tmp_path, edit, pattern) -> None:
    _, fp32, _ = rnn_gmm
    with pytest.raises(ConfigError, match=pattern):
        obsnets.load_exported(_edited_manifest(fp32, tmp_path / "edited", edit))


def test_a_file_is_not_an_exported_policy(rnn_gmm, tmp_path) -> None:
    _, fp32, _ = rnn_gmm
    with pytest.raises(ConfigError, match=r"is not an exported policy: it needs exported.json"):
        obsnets.load_exported(fp32 / "policy.onnx")


def test_export_replaces_only_an_earlier_export_unless_told(rnn_gmm, tmp_path) -> None:
    policy, fp32, _ = rnn_gmm
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "exported.json").write_text((fp32 / "exported.json").read_text())
    (mixed / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"not part of an exported policy: \['notes.txt'\]"):
        obsnets.export_policy(policy, mixed)
    assert (mixed / "notes.txt").read_text() == "mine"
    parent_file = tmp_path / "a_file"
    parent_file.write_text("")
    with pytest.raises(ConfigError, match=r"a_file' is a file, not a folder"):
        obsnets.export_policy(policy, parent_file / "out")


def test_step_rejects_wrong_observations_and_bf16_on_onnxruntime(rnn_gmm) -> None:
    policy, fp32, bf16 = rnn_gmm
    exported = obsnets.load_exported(fp32)
    obs = _frames(policy.obs_shapes, 1)[0]
    with pytest.raises(ShapeError, match=r"missing \['eef'\]"):
        exported.step({"image": obs["image"]}, None)
    with pytest.raises(ShapeError, match="batch 1"):
        exported.step({**obs, "eef": torch.zeros(2, 3)}, None)
    with pytest.raises(ConfigError, match="no bf16 CPU mode"):
        obsnets.load_exported(bf16, engine="onnxruntime")


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("ActorNetwork", {}),
        ("GaussianActorNetwork", {"use_tanh": True}),
        ("GMMActorNetwork", {"num_modes": 3, "low_noise_eval": False}),
        ("RNNActorNetwork", {"rnn_hidden_dim": 8, "rnn_num_layers": 1, "rnn_type": "GRU"}),
    ],
)
def test_other_policies_export_and_match_eager(name, extra, tmp_path) -> None:
    torch.manual_seed(0)
    policy = build_component(name, {**LOW_DIM_POLICY, **extra}, kind="network").eval()
    obsnets.export_policy(policy, tmp_path / "out")
    exported = obsnets.load_exported(tmp_path / "out")
    state, eager_state = exported.initial_state(), None
    for obs in _frames(LOW_DIM_POLICY["obs_shapes"], 3):
        with torch.no_grad():
            if exported.layout.recurrent:
                eager_action, eager_state = policy.forward_step(obs, rnn_state=eager_state)
            elif exported.layout.head == "action":
                eager_action = policy(obs)
            else:
                dist = policy.forward_train(obs)
        torch.manual_seed(1)
        action, state = exported.step(obs, state)
        if exported.layout.head == "action":
            torch.testing.assert_close(action, eager_action, atol=FP32_ATOL, rtol=0)
        elif exported.layout.head == "gaussian":
            # low-noise eval: the action is tanh(mean) up to 1e-4 noise
            torch.testing.assert_close(action, torch.tanh(dist.mean), atol=FP32_ATOL, rtol=0)
        else:
            heads = exported.heads(obs)
            base = dist.component_distribution.base_dist
            torch.testing.assert_close(heads["scale"], base.scale, atol=FP32_ATOL, rtol=0)
            torch.testing.assert_close(heads["loc"], base.loc, atol=FP32_ATOL, rtol=0)
    if exported.layout.recurrent:
        torch.testing.assert_close(state, eager_state, atol=FP32_ATOL, rtol=0)
        assert state.shape == (1, 1, 8)
    else:
        assert state is None and exported.initial_state() is None


def test_policy_needing_more_than_observations_is_refused(tmp_path) -> None:
    policy = build_component(
        "PerturbationActorNetwork", {**LOW_DIM_POLICY, "perturbation_scale": 0.1}, kind="network"
    )
    with pytest.raises(ConfigError, match="also needs acts"):
        obsnets.export_policy(policy, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_policy_that_cannot_step_on_one_observation_is_refused(tmp_path) -> None:
    kwargs = {**LOW_DIM_POLICY, "encoder_layer_dims": [8], "decoder_layer_dims": [8],
              "latent_dim": 2, "device": "cpu"}  # fmt: skip
    del kwargs["mlp_layer_dims"]
    policy = build_component("VAEActor", kwargs, kind="network")
    with pytest.raises(ConfigError, match="Cannot export VAEActor: one step on batch-1"):
        obsnets.export_policy(policy, tmp_path / "out")


def test_cli_refuses_a_saved_model_that_is_not_a_policy(tmp_path, capsys) -> None:
    core = build_component(
        "VisualCore", {"input_shape": IMAGE, "backbone_class": "ShallowConv"}, kind="encoder_core"
    )
    saved = obsnets.save_pretrained(core, tmp_path / "core")
    assert main(["export", str(saved), "--out", str(tmp_path / "out")]) == 2
    assert "Cannot export VisualCore: it has no obs_shapes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_loading_needs_no_plugin(rnn_gmm) -> None:
    """The exported folder runs with every obsnets plugin made unimportable."""
    _, fp32, _ = rnn_gmm
    script = f"""
import sys
for name in ("obsnets_policy", "obsnets_visual", "obsnets_randomizers", "obsnets_vae"):
    sys.modules[name] = None  # importing any of them now raises ImportError
import torch, obsnets
policy = obsnets.load_exported({str(fp32)!r})
state = policy.initial_state()
action, state = policy.step({{"image": torch.rand(1, 3, 24, 24), "eef": torch.zeros(1, 3)}}, state)
print(tuple(action.shape), tuple(state[0].shape))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "(1, 3) (2, 1, 16)"


def test_demo_trained_in_bf16_solves_the_task_and_so_does_its_bf16_export(tmp_path) -> None:
    """``obsnets demo --precision bf16`` learns the task; the bf16 export runs it closed loop."""
    import numpy as np

    from obsnets.demo import run_demo
    from obsnets.demo.reach_task import ReachTask
    from obsnets.demo.run import IMAGE_KEY, POSITION_KEY, evaluate

    result = run_demo(steps=80, seed=0, output_dir=tmp_path / "demo", episodes=60,
                      eval_episodes=50, batch_size=16, progress=False,
                      precision="bf16")  # fmt: skip
    assert result.random_success_rate < 0.2
    assert result.success_rate >= result.random_success_rate + 0.4

    assert main(["export", str(tmp_path / "demo" / "model"), "--out", str(tmp_path / "bf16"),
                 "--precision", "bf16"]) == 0  # fmt: skip
    exported = obsnets.load_exported(tmp_path / "bf16")

    def act(images: np.ndarray, positions: np.ndarray) -> np.ndarray:
        actions = []
        for image, position in zip(images, positions):  # the exported step is batch 1
            obs = {IMAGE_KEY: torch.from_numpy(image[None]),
                   POSITION_KEY: torch.from_numpy(position[None])}  # fmt: skip
            actions.append(exported.step(obs, None)[0][0].numpy())
        return np.stack(actions)

    torch.manual_seed(0)
    success, _ = evaluate(ReachTask(), act, np.random.default_rng(1), 50)
    assert success >= result.random_success_rate + 0.4
    assert abs(success - result.success_rate) <= 0.2  # the same policy, the same episodes
