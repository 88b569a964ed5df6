"""Behaviour of GaussianPrior and CategoricalPrior: parameters, samples and KL terms."""

from __future__ import annotations

import pytest
import torch
from torch import distributions as D

from obsnets.errors import ShapeError
from obsnets_vae import CategoricalPrior, GaussianPrior

MODALITIES = {"low_dim": ["cond"]}


def posterior(batch: int = 5, dim: int = 3, seed: int = 0) -> tuple[dict, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = {
        "mean": torch.randn(batch, dim, generator=g),
        "logvar": 0.5 * torch.randn(batch, dim, generator=g),
    }
    return params, torch.randn(batch, dim, generator=g)


def independent_normal(mean: torch.Tensor, logvar: torch.Tensor) -> D.Distribution:
    return D.Independent(D.Normal(mean, torch.exp(0.5 * logvar)), 1)


@pytest.mark.parametrize("learn_weights", [True, False])
def test_gmm_kl_is_the_single_sample_estimate(learn_weights: bool) -> None:
    torch.manual_seed(0)
    prior = GaussianPrior(
        3, "cpu", learnable=True, use_gmm=True, gmm_num_modes=4, gmm_learn_weights=learn_weights
    )
    params, z = posterior()
    out = prior(5)
    weights = out["logweights"].exp()
    if not learn_weights:
        torch.testing.assert_close(weights, torch.full((5, 4), 0.25))
    mixture = D.MixtureSameFamily(
        D.Categorical(probs=weights), independent_normal(out["means"], out["logvars"])
    )
    log_q = independent_normal(params["mean"], params["logvar"]).log_prob(z)
    expected = (log_q - mixture.log_prob(z)).mean()
    torch.testing.assert_close(prior.kl_loss(params, z=z), expected)


def test_gmm_parameters_have_batch_mode_and_latent_dimensions() -> None:
    prior = GaussianPrior(
        3, "cpu", learnable=True, use_gmm=True, gmm_num_modes=4, gmm_learn_weights=True
    )
    out = prior(6)
    assert out["means"].shape == (6, 4, 3) and out["logvars"].shape == (6, 4, 3)
    torch.testing.assert_close(out["logweights"].exp().sum(-1), torch.ones(6))
    assert prior.output_shape() == {k: list(v.shape[1:]) for k, v in out.items()}
    assert [k for k, _ in prior.named_parameters()] == [
        "prior_params.mean",
        "prior_params.logvar",
        "prior_params.weight",
    ]


def test_learned_unimodal_kl_is_the_closed_form() -> None:
    torch.manual_seed(0)
    prior = GaussianPrior(3, "cpu", learnable=True)
    params, _ = posterior()
    out = prior(5)
    expected = D.kl_divergence(
        independent_normal(params["mean"], params["logvar"]),
        independent_normal(out["means"][:, 0], out["logvars"][:, 0]),
    ).mean()
    torch.testing.assert_close(prior.kl_loss(params), expected)
    assert torch.equal(out["logweights"], torch.zeros(5, 1))  # one mode: log 1
    assert prior.output_shape() == {k: list(v.shape[1:]) for k, v in out.items()}


def test_standard_normal_kl_is_the_closed_form_and_shapes_are_empty() -> None:
    prior = GaussianPrior(3, "cpu")
    params, _ = posterior()
    expected = D.kl_divergence(
        independent_normal(params["mean"], params["logvar"]),
        independent_normal(torch.zeros(5, 3), torch.zeros(5, 3)),
    ).mean()
    torch.testing.assert_close(prior.kl_loss(params), expected)
    assert prior.output_shape() == {}
    assert list(prior.state_dict()) == []
    assert prior.sample(4).shape == (4, 3)


def test_latent_clip_bounds_the_samples() -> None:
    torch.manual_seed(0)
    samples = GaussianPrior(2, "cpu", latent_clip=0.1).sample(200)
    assert float(samples.abs().max()) == pytest.approx(0.1)
    gmm = GaussianPrior(2, "cpu", latent_clip=0.2, learnable=True, use_gmm=True, gmm_num_modes=2)
    with torch.no_grad():
        gmm.prior_params["mean"].fill_(5.0)
    assert bool((gmm.sample(50).abs() <= 0.2).all())


def test_gmm_samples_come_from_the_weighted_modes() -> None:
    torch.manual_seed(0)
    prior = GaussianPrior(
        1, "cpu", learnable=True, use_gmm=True, gmm_num_modes=2, gmm_learn_weights=True
    )
    with torch.no_grad():
        prior.prior_params["mean"].copy_(torch.tensor([[[-10.0], [10.0]]]))
        prior.prior_params["logvar"].fill_(-10.0)
        prior.prior_params["weight"].copy_(torch.log(torch.tensor([[0.2, 0.8]])))
    samples = prior.sample(4000)
    assert bool(((samples - 10).abs() < 0.1).logical_or((samples + 10).abs() < 0.1).all())
    assert float((samples > 0).float().mean()) == pytest.approx(0.8, abs=0.03)


def test_conditioned_prior_computes_parameters_from_observations() -> None:
    torch.manual_seed(0)
    prior = GaussianPrior(
        3,
        "cpu",
        learnable=True,
        use_gmm=True,
        gmm_num_modes=2,
        gmm_learn_weights=True,
        obs_shapes={"cond": (4,)},
        mlp_layer_dims=(8,),
        obs_modalities=MODALITIES,
    )
    assert len(prior.prior_params) == 0
    obs = {"cond": torch.randn(5, 4)}
    out = prior(5, obs_dict=obs)
    assert out["means"].shape == (5, 2, 3) and out["logweights"].shape == (5, 2)
    other = prior(5, obs_dict={"cond": torch.randn(5, 4)})
    assert not torch.allclose(out["means"], other["means"])
    assert prior.sample(5, obs_dict=obs).shape == (5, 3)
    with pytest.raises(ShapeError, match=r"expected batch size 3.*'cond'.*\(5, 4\)"):
        prior.sample(3, obs_dict=obs)


def test_categorical_prior_samples_are_one_hot() -> None:
    torch.manual_seed(0)
    for prior in (CategoricalPrior(3, 4, "cpu"), CategoricalPrior(3, 4, "cpu", learnable=True)):
        z = prior.sample(50)
        assert z.shape == (50, 12) and z.dtype == torch.float32
        blocks = z.reshape(50, 3, 4)
        assert set(blocks.unique().tolist()) == {0.0, 1.0}
        torch.testing.assert_close(blocks.sum(-1), torch.ones(50, 3))


def test_uniform_categorical_prior_with_one_latent_cycles_through_classes() -> None:
    z = CategoricalPrior(1, 3, "cpu").sample(7)
    assert z.argmax(-1).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_learned_categorical_samples_follow_the_logits() -> None:
    torch.manual_seed(0)
    prior = CategoricalPrior(1, 3, "cpu", learnable=True)
    with torch.no_grad():
        prior.prior_params["logit"].copy_(torch.log(torch.tensor([[[0.7, 0.1, 0.2]]])))
    counts = prior.sample(5000).mean(0)
    torch.testing.assert_close(counts, torch.tensor([0.7, 0.1, 0.2]), atol=0.03, rtol=0)


@pytest.mark.parametrize("learnable", [False, True])
def test_categorical_kl_is_exact_summed_over_latents(learnable: bool) -> None:
    torch.manual_seed(0)
    prior = CategoricalPrior(3, 4, "cpu", learnable=learnable)
    logits = torch.randn(5, 12)
    prior_logits = prior(5)["logit"] if learnable else torch.zeros(5, 3, 4)
    p = torch.softmax(logits.reshape(5, 3, 4), -1)
    q = torch.softmax(prior_logits, -1)
    expected = (p * (p.log() - q.log())).sum((-1, -2)).mean()
    torch.testing.assert_close(prior.kl_loss({"logit": logits}), expected)
    assert prior.output_shape() == ({"logit": [3, 4]} if learnable else {})


def test_priors_follow_to_for_samples_without_inputs() -> None:
    for prior in (GaussianPrior(2, "cuda"), CategoricalPrior(2, 3, "cuda")):
        # the device argument is ignored: samples follow the module
        assert prior.device == torch.device("cpu")
        assert prior.double().sample(3).dtype == torch.float64
