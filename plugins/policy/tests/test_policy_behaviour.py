"""Behaviour of the policy networks: distributions, eval modes, stepping, goals."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.distributions as D
import torch.nn.functional as F

from obsnets.mimo.mimo_mlp import MIMO_MLP
from obsnets_policy import (
    ActorNetwork,
    GaussianActorNetwork,
    GMMActorNetwork,
    PerturbationActorNetwork,
    RNNActorNetwork,
    RNNGMMActorNetwork,
    TanhWrappedDistribution,
    VAEActor,
)

OBS = {"eef": (3,), "obj": (5,)}
GOAL = {"obj": (5,)}
A = 4
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
MODALITIES = {"low_dim": ["eef", "obj"]}
COMMON: dict[str, Any] = {"encoder_kwargs": LOW_DIM, "obs_modalities": MODALITIES}
RNN: dict[str, Any] = {"mlp_layer_dims": [16], "rnn_hidden_dim": 12, "rnn_num_layers": 2}


def obs_batch(batch: int = 6, steps: int | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lead = (batch,) if steps is None else (batch, steps)
    return {k: torch.randn(*lead, *s, generator=gen) for k, s in OBS.items()}


def goal_batch(batch: int = 6, seed: int = 1) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(batch, *s, generator=gen) for k, s in GOAL.items()}


def actions(batch: int = 6, seed: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, A, generator=gen) * 1.8 - 0.9


def raw_heads(net: MIMO_MLP, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The decoder's head outputs before any policy-specific transformation."""
    return MIMO_MLP.forward(net, obs=obs)


# -- GMM ---------------------------------------------------------------------------------------


def test_gmm_log_prob_equals_a_direct_mixture_computation() -> None:
    torch.manual_seed(0)
    net = GMMActorNetwork(OBS, A, [32, 32], num_modes=3, min_std=0.05, **COMMON).train()
    obs, act = obs_batch(), actions()
    heads = {k: v.double() for k, v in raw_heads(net, obs).items()}
    means = torch.tanh(heads["mean"])  # (B, M, A)
    stds = F.softplus(heads["scale"]) + 0.05
    log_w = torch.log_softmax(heads["logits"], dim=-1)  # (B, M)
    x = act.double().unsqueeze(1)
    log_normal = (
        -0.5 * ((x - means) / stds) ** 2 - torch.log(stds) - 0.5 * math.log(2 * math.pi)
    ).sum(-1)
    expected = torch.logsumexp(log_w + log_normal, dim=-1)
    got = net.forward_train(obs).log_prob(act)
    assert got.shape == (6,)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)


def test_gmm_exp_activation_and_low_noise_eval_scales() -> None:
    torch.manual_seed(0)
    net = GMMActorNetwork(OBS, A, [16], num_modes=2, std_activation="exp", **COMMON)
    obs = obs_batch()
    heads = raw_heads(net, obs)
    train_scale = net.train().forward_train(obs).component_distribution.base_dist.scale
    torch.testing.assert_close(train_scale, torch.exp(heads["scale"]) + 0.01)
    eval_dist = net.eval().forward_train(obs)
    assert torch.all(eval_dist.component_distribution.base_dist.scale == 1e-4)
    # the mode is still sampled in low-noise eval: each sample sits on one component mean
    locs = eval_dist.component_distribution.base_dist.loc  # (B, M, A)
    sample = net(obs)
    nearest = (sample.unsqueeze(1) - locs).abs().amax(-1).amin(-1)
    assert nearest.max() < 1e-2


def test_gmm_use_tanh_wraps_the_mixture() -> None:
    torch.manual_seed(0)
    net = GMMActorNetwork(OBS, A, [16], num_modes=3, use_tanh=True, **COMMON).train()
    obs = obs_batch()
    dist = net.forward_train(obs)
    assert isinstance(dist, TanhWrappedDistribution)
    heads = raw_heads(net, obs)
    torch.testing.assert_close(dist.base_dist.component_distribution.base_dist.loc, heads["mean"])
    assert net(obs).abs().max() <= 1.0


# -- Gaussian ----------------------------------------------------------------------------------


def test_gaussian_low_noise_eval_returns_the_mean() -> None:
    torch.manual_seed(0)
    net = GaussianActorNetwork(OBS, A, [16], mean_limits=(-0.5, 0.5), **COMMON).eval()
    obs = obs_batch()
    expected = torch.tanh(raw_heads(net, obs)["mean"].clamp(-0.5, 0.5))
    torch.testing.assert_close(net(obs), expected)
    torch.testing.assert_close(net(obs), net(obs))
    assert torch.all(net.forward_train(obs).base_dist.scale == 1e-4)
    # in train mode the policy samples around that mean with the learned std
    torch.manual_seed(1)
    assert not torch.allclose(net.train()(obs), expected)


def test_gaussian_tanh_low_noise_eval_returns_the_squashed_mean() -> None:
    torch.manual_seed(0)
    net = GaussianActorNetwork(OBS, A, [16], use_tanh=True, std_activation="exp", **COMMON)
    obs = obs_batch()
    pre = raw_heads(net, obs)["mean"].clamp(-9.0, 9.0)
    torch.testing.assert_close(net.eval()(obs), torch.tanh(pre))


def test_tanh_gaussian_policy_log_prob_is_the_change_of_variables() -> None:
    torch.manual_seed(0)
    net = GaussianActorNetwork(
        OBS, A, [16], use_tanh=True, std_activation="exp", std_limits=(1e-3, 10.0), **COMMON
    ).train()
    obs, act = obs_batch(), actions()
    heads = {k: v.double() for k, v in raw_heads(net, obs).items()}
    mean = heads["mean"].clamp(-9.0, 9.0)
    std = torch.exp(heads["scale"]).clamp(1e-3, 10.0)
    a = act.double()
    expected = (D.Normal(mean, std).log_prob(torch.atanh(a)) - torch.log1p(-a * a)).sum(-1)
    torch.testing.assert_close(net.forward_train(obs).log_prob(act).double(), expected,
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    edge = torch.ones(6, A)
    edge[:, 1] = -1.0
    assert torch.isfinite(net.forward_train(obs).log_prob(edge)).all()


def test_gaussian_softplus_std_is_init_std_at_zero_and_respects_limits() -> None:
    net = GaussianActorNetwork(OBS, A, [16], init_std=0.3, std_limits=(0.007, 7.5), **COMMON)
    with torch.no_grad():
        for head in net.nets["decoder"].nets.values():
            head.weight.zero_()
            head.bias.zero_()
        net.nets["decoder"].nets["scale"].bias[0] = 100.0
    std = net.train().forward_train(obs_batch()).base_dist.scale
    torch.testing.assert_close(std[:, 1:], torch.full((6, A - 1), 0.3))
    torch.testing.assert_close(std[:, 0], torch.full((6,), 7.5))


def test_gaussian_fixed_std_and_init_last_fc_weight() -> None:
    torch.manual_seed(0)
    net = GaussianActorNetwork(
        OBS, A, [16], fixed_std=True, init_std=0.25, init_last_fc_weight=1e-3, **COMMON
    )
    for head in net.nets["decoder"].nets.values():
        assert head.weight.abs().max() <= 1e-3 and head.bias.abs().max() <= 1e-3
        assert head.weight.abs().max() > 0
    std = net.train().forward_train(obs_batch()).base_dist.scale
    torch.testing.assert_close(std, torch.full((6, A), 0.25))


# -- deterministic actors ----------------------------------------------------------------------


def test_actor_output_is_tanh_of_the_head() -> None:
    torch.manual_seed(0)
    net = ActorNetwork(OBS, A, [16, 16], **COMMON)
    obs = obs_batch()
    torch.testing.assert_close(net(obs), torch.tanh(raw_heads(net, obs)["action"]))
    assert net.output_shape() == [A]


def test_perturbation_stays_within_scale_and_bounds() -> None:
    torch.manual_seed(0)
    net = PerturbationActorNetwork(OBS, A, [16], perturbation_scale=0.1, **COMMON)
    obs, act = obs_batch(), actions()
    act[0, 0] = 1.0
    out = net(obs, act)
    assert (out - act).abs().max() <= 0.1 + 1e-6
    assert out.abs().max() <= 1.0
    assert not torch.allclose(out, act)
    # the proposed action is an input: changing it changes the perturbation too
    assert not torch.allclose(out - act, net(obs, act * 0.5) - act * 0.5)


# -- recurrent policies ------------------------------------------------------------------------


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_rnn_forward_step_matches_sequence_forward(rnn_type: str) -> None:
    torch.manual_seed(0)
    net = RNNActorNetwork(OBS, A, rnn_type=rnn_type, **RNN, **COMMON).eval()
    seq = obs_batch(batch=3, steps=5)
    full, final_state = net(seq, return_state=True)
    assert full.shape == (3, 5, A)
    state = None
    for t in range(5):
        step, state = net.forward_step({k: v[:, t] for k, v in seq.items()}, rnn_state=state)
        torch.testing.assert_close(step, full[:, t])
    for got, want in zip(state if rnn_type == "LSTM" else (state,),
                         final_state if rnn_type == "LSTM" else (final_state,)):  # fmt: skip
        torch.testing.assert_close(got, want)
    assert net.output_shape({"eef": (5, 3), "obj": (5, 5)}) == [5, A]


@pytest.mark.parametrize("use_tanh", [False, True])
def test_rnn_gmm_step_distribution_matches_sequence(use_tanh: bool) -> None:
    torch.manual_seed(0)
    net = RNNGMMActorNetwork(OBS, A, num_modes=3, use_tanh=use_tanh, **RNN, **COMMON).train()
    seq = obs_batch(batch=3, steps=4)
    acts = torch.rand(3, 4, A) * 1.8 - 0.9
    full = net.forward_train(seq)
    assert full.batch_shape == (3, 4)
    full_lp = full.log_prob(acts)
    mix = full.base_dist if use_tanh else full
    state = None
    for t in range(4):
        step, state = net.forward_train_step({k: v[:, t] for k, v in seq.items()}, rnn_state=state)
        assert step.batch_shape == (3,)
        assert isinstance(step, TanhWrappedDistribution) == use_tanh
        step_mix = step.base_dist if use_tanh else step
        comp, full_comp = (
            step_mix.component_distribution.base_dist,
            mix.component_distribution.base_dist,
        )
        torch.testing.assert_close(comp.loc, full_comp.loc[:, t])
        torch.testing.assert_close(comp.scale, full_comp.scale[:, t])
        torch.testing.assert_close(
            step_mix.mixture_distribution.logits, mix.mixture_distribution.logits[:, t]
        )
        torch.testing.assert_close(step.log_prob(acts[:, t]), full_lp[:, t])


def test_rnn_gmm_forward_step_samples_and_carries_state() -> None:
    torch.manual_seed(0)
    net = RNNGMMActorNetwork(OBS, A, num_modes=2, **RNN, **COMMON).eval()
    obs = obs_batch(batch=2)
    act, state = net.forward_step(obs)
    assert act.shape == (2, A) and act.abs().max() <= 1.0
    _, state2 = net.forward_step(obs, rnn_state=state)
    assert not torch.allclose(state[0], state2[0])


# -- goal conditioning -------------------------------------------------------------------------


def _changes_with_goal(fn: Any, batch: int = 6) -> bool:
    torch.manual_seed(5)
    first = fn(goal_batch(batch, seed=1))
    torch.manual_seed(5)
    second = fn(goal_batch(batch, seed=7))
    return first.shape == second.shape and not torch.allclose(first, second)


def test_goal_conditioned_feedforward_policies_use_the_goal() -> None:
    torch.manual_seed(0)
    obs = obs_batch()
    actor = ActorNetwork(OBS, A, [16], goal_shapes=GOAL, **COMMON)
    assert _changes_with_goal(lambda g: actor(obs, g))
    gauss = GaussianActorNetwork(OBS, A, [16], goal_shapes=GOAL, **COMMON).eval()
    assert _changes_with_goal(lambda g: gauss(obs, g))
    gmm = GMMActorNetwork(OBS, A, [16], goal_shapes=GOAL, **COMMON).eval()
    assert _changes_with_goal(lambda g: gmm.forward_train(obs, g).mean)
    pert = PerturbationActorNetwork(OBS, A, [16], goal_shapes=GOAL, **COMMON)
    assert _changes_with_goal(lambda g: pert(obs, actions(), g))
    assert "goal" in actor.nets["encoder"].nets


def test_goal_conditioned_rnn_repeats_the_goal_over_time() -> None:
    torch.manual_seed(0)
    net = RNNActorNetwork(OBS, A, goal_shapes=GOAL, **RNN, **COMMON).eval()
    seq, goal = obs_batch(batch=2, steps=3), goal_batch(batch=2)
    full = net(seq, goal)
    state = None
    for t in range(3):
        step, state = net.forward_step({k: v[:, t] for k, v in seq.items()}, goal, state)
        torch.testing.assert_close(step, full[:, t])
    assert _changes_with_goal(lambda g: net(seq, g), batch=2)
    gmm = RNNGMMActorNetwork(OBS, A, goal_shapes=GOAL, **RNN, **COMMON).eval()
    dist, _ = gmm.forward_train_step({k: v[:, 0] for k, v in seq.items()}, goal)
    assert dist.batch_shape == (2,)


# -- VAE actor ---------------------------------------------------------------------------------

VAE_KW: dict[str, Any] = {
    "encoder_layer_dims": [16],
    "decoder_layer_dims": [16],
    "latent_dim": 2,
    "device": "cpu",
}


def test_vae_actor_decodes_latents_into_bounded_actions() -> None:
    torch.manual_seed(0)
    net = VAEActor(OBS, A, **VAE_KW, **COMMON).eval()
    obs = obs_batch()
    z = torch.randn(6, 2)
    out = net(obs, z=z)
    assert out.shape == (6, A) and out.abs().max() <= 1.0
    torch.testing.assert_close(out, net.decode(obs_dict=obs, z=z)["action"])
    assert net(obs).shape == (6, A)  # latents drawn from the prior, one per row
    params = net.encode(actions(), obs)
    assert params["mean"].shape == (6, 2) and params["logvar"].shape == (6, 2)


def test_vae_actor_forward_train_gives_differentiable_losses() -> None:
    torch.manual_seed(0)
    net = VAEActor(OBS, A, **VAE_KW, goal_shapes=GOAL, **COMMON).train()
    out = net.forward_train(actions(), obs_batch(), goal_batch())
    loss = out["kl_loss"] + out["reconstruction_loss"]
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert next(iter(net.state_dict())).startswith("_vae.nets.")
