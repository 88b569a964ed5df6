"""robomimic algorithms: class selection, BC variants' networks, RNN state at rollout, hooks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from obsnets.errors import ConfigError
from obsnets.hookspecs import hookimpl
from obsnets.plugins import register_plugin, unregister_plugin
from obsnets_robomimic import (
    AlgorithmSpec,
    list_algorithms,
    load_checkpoint,
    policy_from_checkpoint,
    register_algorithm,
)
from obsnets_robomimic import algorithms as algorithms_module
from obsnets_robomimic.algorithms import algorithm_class_name, resolve_algorithm

OBS_SHAPES = {
    "object": [10],
    "robot0_eef_pos": [3],
    "robot0_eef_quat": [4],
    "robot0_gripper_qpos": [2],
}
LOW_DIM = {"low_dim": list(OBS_SHAPES)}
SMALL_RNN = {"enabled": True, "horizon": 3, "hidden_dim": 8, "num_layers": 1}
GMM = {"num_modes": 5, "min_std": 1e-4, "std_activation": "softplus", "low_noise_eval": True}
RNN_KWARGS = {"rnn_hidden_dim": 8, "rnn_num_layers": 1, "rnn_type": "LSTM",
              "rnn_kwargs": {"bidirectional": False}}  # fmt: skip

# (config.algo overrides, robomimic class, network class, its kwargs as robomimic passes them
# for bc_lowdim's config: actor_layer_dims [32, 32], ac_dim 7)
VARIANTS = [
    ({}, "BC", "ActorNetwork", {"mlp_layer_dims": [32, 32]}),
    (
        {"gaussian": {"enabled": True}},
        "BC_Gaussian",
        "GaussianActorNetwork",
        {
            "mlp_layer_dims": [32, 32],
            "fixed_std": False,
            "init_std": 0.1,
            "std_limits": [0.01, 7.5],
            "std_activation": "softplus",
            "low_noise_eval": True,
        },
    ),
    ({"gmm": {"enabled": True}}, "BC_GMM", "GMMActorNetwork", {"mlp_layer_dims": [32, 32]} | GMM),
    (
        {
            "vae": {
                "enabled": True,
                "encoder_layer_dims": [16],
                "decoder_layer_dims": [16],
                "prior_layer_dims": [16],
                "latent_dim": 4,
            }
        },
        "BC_VAE",
        "VAEActor",
        {
            "encoder_layer_dims": [16],
            "decoder_layer_dims": [16],
            "prior_layer_dims": [16],
            "latent_dim": 4,
            "device": "cpu",
        },
    ),
    ({"rnn": SMALL_RNN}, "BC_RNN", "RNNActorNetwork", {"mlp_layer_dims": [32, 32]} | RNN_KWARGS),
    (
        {"rnn": SMALL_RNN, "gmm": {"enabled": True}},
        "BC_RNN_GMM",
        "RNNGMMActorNetwork",
        {"mlp_layer_dims": [32, 32]} | RNN_KWARGS | GMM,
    ),
]


def _crafted_policy(quietly, network_class, kwargs, seed=0):
    from obsnets_robomimic import build_network

    torch.manual_seed(seed)
    kwargs = {"obs_shapes": OBS_SHAPES, "ac_dim": 7, "goal_shapes": {}} | kwargs
    return quietly(build_network, network_class, kwargs, LOW_DIM)


def _prefixed(network):
    return {f"policy.{k}": v.clone() for k, v in network.state_dict().items()}


def _obs(seed):
    generator = np.random.default_rng(seed)
    return {
        k: generator.uniform(-1, 1, shape).astype(np.float32) for k, shape in OBS_SHAPES.items()
    }


@pytest.mark.parametrize(("algo", "algo_class", "network_class", "kwargs"), VARIANTS)
def test_each_bc_variant_builds_its_network_and_loads_its_weights(
    algo, algo_class, network_class, kwargs, write_checkpoint, quietly
):
    crafted = _crafted_policy(quietly, network_class, kwargs)
    path = write_checkpoint("bc_lowdim", algo=algo, nets=_prefixed(crafted))
    checkpoint = quietly(load_checkpoint, path)
    assert checkpoint.algo_class == algo_class
    network = checkpoint.networks["policy"]
    assert type(network).__name__ == network_class
    loaded, expected = network.state_dict(), crafted.state_dict()
    assert list(loaded) == list(expected)
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    policy = quietly(policy_from_checkpoint, path)
    policy.start_episode()
    action = policy(_obs(1))
    assert action.shape == (7,) and np.isfinite(action).all()
    if network_class in ("ActorNetwork", "GaussianActorNetwork"):  # deterministic in eval
        with torch.no_grad():
            direct = network(policy.prepare_observation(_obs(1)))[0].numpy()
        np.testing.assert_allclose(action, direct, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("algo", "removed", "where"),
    [
        ({}, ["actor_layer_dims"], "config.algo"),
        ({"gaussian": {"enabled": True}}, ["gaussian", "init_std"], "config.algo.gaussian"),
        ({"gmm": {"enabled": True}}, ["gmm", "num_modes"], "config.algo.gmm"),
        ({"rnn": SMALL_RNN}, ["rnn", "hidden_dim"], "config.algo.rnn"),
        (VARIANTS[3][0], ["vae", "prior", "use_gmm"], "config.algo.vae.prior"),
        (VARIANTS[3][0], ["vae", "decoder", "is_conditioned"], "config.algo.vae.decoder"),
    ],
)
def test_a_setting_missing_from_the_config_is_named(algo, removed, where, write_checkpoint):
    path = write_checkpoint("bc_lowdim", algo=algo)
    data = torch.load(path, weights_only=False)  # our own crafted test input
    config = json.loads(data["config"])
    section = config["algo"]
    for key in removed[:-1]:
        section = section[key]
    del section[removed[-1]]
    data["config"] = json.dumps(config)
    torch.save(data, path)
    with pytest.raises(ConfigError, match=rf"{where} lacks \['{removed[-1]}'\], which robomimic"):
        load_checkpoint(path)


def _sequence(network, observations):
    batch = {
        k: torch.stack([torch.from_numpy(o[k]) for o in observations])[None] for k in OBS_SHAPES
    }
    with torch.no_grad():
        return network(batch)[0].numpy()  # (T, A)


def test_rnn_state_carries_across_steps_and_resets_every_horizon(write_checkpoint, quietly):
    crafted = _crafted_policy(quietly, "RNNActorNetwork", {"mlp_layer_dims": [32, 32]} | RNN_KWARGS)
    path = write_checkpoint("bc_lowdim", algo={"rnn": SMALL_RNN}, nets=_prefixed(crafted))
    policy = quietly(policy_from_checkpoint, path)
    network = policy.checkpoint.networks["policy"]
    observations = [_obs(seed) for seed in range(6)]
    policy.start_episode()
    actions = np.stack([policy(o) for o in observations])
    # steps 0-2 continue one sequence; the state is zeroed at step 3 (horizon 3)
    np.testing.assert_allclose(actions[:3], _sequence(network, observations[:3]), atol=1e-6)
    np.testing.assert_allclose(actions[3:], _sequence(network, observations[3:]), atol=1e-6)
    unbroken = _sequence(network, observations)
    assert np.abs(actions[3:] - unbroken[3:]).max() > 1e-4  # the reset changed something
    # start_episode resets mid-horizon
    policy.start_episode()
    policy(observations[0])
    policy.start_episode()
    np.testing.assert_allclose(
        policy(observations[4]), _sequence(network, observations[4:5])[0], atol=1e-6
    )


def test_open_loop_rnn_reuses_the_first_observation_of_each_horizon(write_checkpoint, quietly):
    crafted = _crafted_policy(quietly, "RNNActorNetwork", {"mlp_layer_dims": [32, 32]} | RNN_KWARGS)
    rnn = SMALL_RNN | {"open_loop": True}
    path = write_checkpoint("bc_lowdim", algo={"rnn": rnn}, nets=_prefixed(crafted))
    policy = quietly(policy_from_checkpoint, path)
    network = policy.checkpoint.networks["policy"]
    observations = [_obs(seed) for seed in range(4)]
    policy.start_episode()
    actions = np.stack([policy(o) for o in observations])
    first = observations[0]
    np.testing.assert_allclose(actions[:3], _sequence(network, [first] * 3), atol=1e-6)
    np.testing.assert_allclose(actions[3], _sequence(network, observations[3:4])[0], atol=1e-6)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, "BC"),
        ({"gaussian": True}, "BC_Gaussian"),
        ({"gmm": True}, "BC_GMM"),
        ({"vae": True}, "BC_VAE"),
        ({"rnn": True}, "BC_RNN"),
        ({"rnn": True, "gmm": True}, "BC_RNN_GMM"),
        ({"transformer": True}, "BC_Transformer"),
        ({"transformer": True, "gmm": True}, "BC_Transformer_GMM"),
    ],
)
def test_bc_variant_selection_follows_robomimic(flags, expected):
    algo = {name: {"enabled": on} for name, on in flags.items()}
    assert algorithm_class_name("bc", algo) == expected


@pytest.mark.parametrize("head", ["gaussian", "vae"])
def test_combinations_robomimic_refuses_are_refused(head):
    with pytest.raises(ConfigError, match=f"enables {head} together with rnn"):
        algorithm_class_name("bc", {head: {"enabled": True}, "rnn": {"enabled": True}})


def test_algorithms_without_obsnets_support_are_named():
    with pytest.raises(
        LookupError, match=r"robomimic algorithm BCQ \(algo_name 'bcq'\) is not supported"
    ):
        resolve_algorithm("bcq", {})
    assert {"BC", "BC_GMM", "BC_RNN_GMM", "BC_VAE"} <= set(list_algorithms())


def test_a_missing_network_family_names_its_plugin(monkeypatch):
    # as without obsnets-diffusion installed (which registers DiffusionPolicyUNet)
    without = {k: v for k, v in algorithms_module._ALGORITHMS.items() if k != "DiffusionPolicyUNet"}
    monkeypatch.setattr(algorithms_module, "_ALGORITHMS", without)
    monkeypatch.setattr(algorithms_module, "_discovered", True)
    with pytest.raises(LookupError, match=r"diffusion.*obsnets-diffusion"):
        resolve_algorithm("diffusion_policy", {})


def test_a_plugin_adds_an_algorithm_through_the_hook(monkeypatch):
    # BCQ: an algorithm no installed plugin registers (obsnets-transformer registers the
    # BC_Transformer ones through this same hook)
    spec = AlgorithmSpec("BCQ", networks=lambda inputs: {}, action_source=None)

    class TransformerAlgorithms:
        @hookimpl
        def obsnets_robomimic_register_algorithms(self, register):
            register(spec)

    monkeypatch.setattr(algorithms_module, "_ALGORITHMS", dict(algorithms_module._ALGORITHMS))
    monkeypatch.setattr(algorithms_module, "_discovered", False)
    register_plugin(TransformerAlgorithms(), "fake_transformer_algorithms")
    try:
        assert resolve_algorithm("bcq", {}) is spec
    finally:
        unregister_plugin("fake_transformer_algorithms")


def test_registering_a_name_twice_needs_replace(monkeypatch):
    monkeypatch.setattr(algorithms_module, "_ALGORITHMS", dict(algorithms_module._ALGORITHMS))
    other = AlgorithmSpec("BC", networks=lambda inputs: {}, action_source=None)
    with pytest.raises(ConfigError, match="'BC' is registered already; pass replace=True"):
        register_algorithm(other)
    register_algorithm(other, replace=True)
    assert resolve_algorithm("bc", {}) is other
