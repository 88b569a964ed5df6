"""Acceptance: each checkpoint of ../shared/robomimic_checkpoints acts as its sidecar says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from obsnets.errors import ShapeError
from obsnets_robomimic import StateDictMismatchError, load_checkpoint, policy_from_checkpoint
from obsnets_robomimic.checkpoint_file import safe_globals

LOADABLE = ("bc_lowdim", "bc_rnn_gmm_image", "bc_transformer_gmm_lowdim")


def _observation(side: dict) -> dict[str, np.ndarray]:
    return {k: np.array(v["value"], dtype=v["dtype"]) for k, v in side["observation"].items()}


@pytest.mark.parametrize("name", LOADABLE)
def test_networks_keys_shapes_and_metadata_match_the_sidecar(
    name, checkpoint_path, sidecar, quietly
):
    side = sidecar(name)
    checkpoint = quietly(load_checkpoint, checkpoint_path(name))
    assert checkpoint.algo_name == side["algo_name"]
    assert checkpoint.algo_class == side["algo_class"]
    state = {
        f"{net}.{key}": tensor
        for net, network in checkpoint.networks.items()
        for key, tensor in network.state_dict().items()
    }
    assert list(state) == list(side["nets"])
    for key, entry in side["nets"].items():
        assert list(state[key].shape) == entry["shape"], key
    assert sum(t.numel() for t in state.values()) == side["nets_num_params"]
    for group in side["nets_aliases"]:
        assert all(torch.equal(state[group[0]], state[k]) for k in group[1:]), group
    assert checkpoint.shape_metadata["all_shapes"] == side["shape_metadata"]["all_shapes"]
    assert checkpoint.shape_metadata["ac_dim"] == side["shape_metadata"]["ac_dim"]
    assert checkpoint.env_metadata == side["env_metadata"]
    for key, stats in side["action_normalization_stats"].items():
        for part in ("offset", "scale"):
            expected = torch.tensor(stats[part], dtype=torch.float64)
            assert torch.equal(checkpoint.action_normalization_stats[key][part], expected)
    if side["obs_normalization_stats"] is None:
        assert checkpoint.obs_normalization_stats is None
    else:
        assert set(checkpoint.obs_normalization_stats) == set(side["obs_normalization_stats"])
        for key, stats in side["obs_normalization_stats"].items():
            for part in ("offset", "scale"):
                expected = torch.tensor(stats[part], dtype=torch.float64)
                assert torch.equal(checkpoint.obs_normalization_stats[key][part], expected)
    assert all(not net.training for net in checkpoint.networks.values())


def test_bc_lowdim_reproduces_robomimics_action(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_lowdim")
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_lowdim"))
    policy.start_episode()
    action = policy(_observation(side))
    assert action.dtype == np.float64 and action.shape == (7,)
    np.testing.assert_allclose(action, side["action"]["value"], rtol=1e-4, atol=1e-6)


def test_weights_that_do_not_fit_their_own_config_are_named_as_the_file_names_them(
    checkpoint_path, tmp_path
):
    with torch.serialization.safe_globals(safe_globals()):
        data = torch.load(checkpoint_path("bc_lowdim"), weights_only=True)
    nets = data["model"]["nets"]
    del nets["policy.nets.mlp._model.0.weight"]
    nets["policy.nets.decoder.nets.action.weight"] = torch.zeros(1, 2)
    nets["policy.extra.weight"] = torch.zeros(1)
    torch.save(data, tmp_path / "edited.pth")
    with pytest.raises(StateDictMismatchError) as excinfo:
        load_checkpoint(tmp_path / "edited.pth")
    error = excinfo.value
    assert error.missing == ["policy.nets.mlp._model.0.weight"]
    assert error.unexpected == ["policy.extra.weight"]
    assert error.shape_mismatches == {"policy.nets.decoder.nets.action.weight": ([1, 2], [7, 32])}
    message = str(error)
    assert "edited.pth': model['nets'] does not fit the ActorNetwork" in message
    assert "policy.nets.decoder.nets.action.weight: (1, 2) vs (7, 32)" in message
    assert "the file was edited" in message  # not "build the network with the same kwargs"
    assert "same kwargs" not in message


def test_bc_lowdim_accepts_tensors_and_ignores_extra_keys(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_lowdim")
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_lowdim"))
    ob = {k: torch.from_numpy(v) for k, v in _observation(side).items()}
    ob["robot0_joint_pos"] = torch.zeros(7)  # environments hand out more keys than used
    np.testing.assert_allclose(policy(ob), side["action"]["value"], rtol=1e-4, atol=1e-6)


def test_bc_rnn_gmm_image_acts_with_robomimics_mode(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_rnn_gmm_image")
    reference = side["reference_outputs"]
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_rnn_gmm_image"))
    policy.start_episode()
    torch.manual_seed(side["action"]["torch_seed_before_call"])
    action = policy(_observation(side))
    mode = reference["mode_of_recorded_action"]
    mode_mean = np.array(reference["gmm_component_means_after_action_unnormalization"][mode])
    assert action.dtype == np.float64
    assert np.abs(action - mode_mean).max() < side["action"]["tolerance"]["abs_vs_mode_mean"]


def test_bc_rnn_gmm_image_mixture_matches_reference_outputs(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_rnn_gmm_image")
    reference = side["reference_outputs"]
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_rnn_gmm_image"))
    network = policy.checkpoint.networks["policy"]
    obs = policy.prepare_observation(_observation(side))
    assert obs["agentview_image"].shape == (1, 3, 32, 32)
    assert float(obs["agentview_image"].max()) <= 1.0
    with torch.no_grad():
        dist, _ = network.forward_train_step(obs)
    components = dist.component_distribution.base_dist
    means = components.loc[0].numpy()
    log_probs = torch.log_softmax(dist.mixture_distribution.logits[0], dim=-1).numpy()
    np.testing.assert_allclose(means, reference["gmm_component_means"], atol=1e-5)
    np.testing.assert_allclose(log_probs, reference["gmm_mixture_log_probs"], atol=1e-5)
    assert torch.all(components.scale == reference["gmm_component_std_at_eval"])
    assert int(np.argmax(log_probs)) == reference["argmax_mode"]


def test_images_must_come_as_robomimic_receives_them(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_rnn_gmm_image")
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_rnn_gmm_image"))
    ob = _observation(side)
    ob["agentview_image"] = ob["agentview_image"].transpose(2, 0, 1)  # CHW: not what envs give
    with pytest.raises(
        ShapeError, match=r"'agentview_image' has shape \(3, 32, 32\).*\(32, 32, 3\)"
    ):
        policy(ob)
    del ob["agentview_image"]
    with pytest.raises(ShapeError, match=r"lacks \['agentview_image'\]"):
        policy(ob)


def test_bc_transformer_gmm_acts_with_robomimics_mode(checkpoint_path, sidecar, quietly):
    # The observation carries the 4 stacked frames [T, D]; the action is the last position's.
    side = sidecar("bc_transformer_gmm_lowdim")
    reference = side["reference_outputs"]
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_transformer_gmm_lowdim"))
    policy.start_episode()
    torch.manual_seed(side["action"]["torch_seed_before_call"])
    action = policy(_observation(side))
    mode = reference["mode_of_recorded_action"]
    mode_mean = np.array(reference["gmm_component_means_after_action_unnormalization"][mode])
    assert action.dtype == np.float64 and action.shape == (7,)
    assert np.abs(action - mode_mean).max() < side["action"]["tolerance"]["abs_vs_mode_mean"]
    # min-max action normalization is undone: the raw mode mean leaves [-1, 1]
    assert np.abs(mode_mean).max() > 1.0


def test_bc_transformer_gmm_mixture_matches_reference_outputs(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_transformer_gmm_lowdim")
    reference = side["reference_outputs"]
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_transformer_gmm_lowdim"))
    network = policy.checkpoint.networks["policy"]
    obs = policy.prepare_observation(_observation(side))
    assert obs["object"].shape == (1, 4, 10)  # (B, T, D): the context of stacked frames
    with torch.no_grad():
        dist = network.forward_train(obs)
    assert dist.batch_shape == (1, 4)
    components = dist.component_distribution.base_dist
    means = components.loc[0, -1].numpy()
    log_probs = torch.log_softmax(dist.mixture_distribution.logits[0, -1], dim=-1).numpy()
    np.testing.assert_allclose(means, reference["gmm_component_means"], atol=1e-5)
    np.testing.assert_allclose(log_probs, reference["gmm_mixture_log_probs"], atol=1e-5)
    assert torch.all(components.scale == reference["gmm_component_std_at_eval"])
    assert int(np.argmax(log_probs)) == reference["argmax_mode"]


def test_transformer_observations_must_carry_the_frame_stack(checkpoint_path, sidecar, quietly):
    side = sidecar("bc_transformer_gmm_lowdim")
    policy = quietly(policy_from_checkpoint, checkpoint_path("bc_transformer_gmm_lowdim"))
    ob = _observation(side)
    ob["object"] = ob["object"][-1]  # one frame (10,) instead of the stacked (4, 10)
    with pytest.raises(ShapeError, match=r"'object' has shape \(10,\).*\(4, 10\)"):
        policy(ob)
