"""Behaviour of the VAE: training, reconstruction layouts, conditioning, outputs, devices."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

from obsnets_vae import VAE

LOW_DIM = {"low_dim": ["x", "y", "cond", "goal_pos"]}


def make_vae(**overrides) -> VAE:
    kwargs = dict(
        input_shapes={"x": (4,)},
        output_shapes={"x": (4,)},
        encoder_layer_dims=(32, 32),
        decoder_layer_dims=(32, 32),
        latent_dim=2,
        device="cpu",
        obs_modalities=LOW_DIM,
    )
    kwargs.update(overrides)
    return VAE(**kwargs)


def dataset(n: int = 64) -> torch.Tensor:
    # points near a 2-d plane in 4-d: a 2-d latent can explain them
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(2, 4, generator=g)
    return torch.randn(n, 2, generator=g) @ basis + 0.05 * torch.randn(n, 4, generator=g)


def negative_elbo(vae: VAE, data: torch.Tensor, seed: int) -> float:
    torch.manual_seed(seed)  # the same posterior noise for every evaluation
    with torch.no_grad():
        out = vae(inputs={"x": data}, outputs={"x": data})
    return float(out["reconstruction_loss"] + out["kl_loss"])


@pytest.mark.parametrize(
    "prior",
    [
        {},
        {
            "prior_learn": True,
            "prior_use_gmm": True,
            "prior_gmm_num_modes": 3,
            "prior_gmm_learn_weights": True,
        },
        {"prior_learn": True, "prior_use_categorical": True, "prior_categorical_dim": 3},
    ],
    ids=["standard_normal", "gmm", "categorical"],
)
def test_negative_elbo_decreases_with_training(prior: dict) -> None:
    torch.manual_seed(0)
    # summed squared error: the reconstruction term of a unit-variance Gaussian likelihood
    vae = make_vae(decoder_reconstruction_sum_across_elements=True, **prior)
    data = dataset()
    before = negative_elbo(vae, data, seed=1)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    for step in range(60):
        torch.manual_seed(100 + step)
        out = vae(inputs={"x": data}, outputs={"x": data})
        loss = out["reconstruction_loss"] + out["kl_loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = negative_elbo(vae, data, seed=1)
    assert after < 0.6 * before, (before, after)


def test_forward_returns_the_losses_and_the_reconstructions() -> None:
    torch.manual_seed(0)
    vae = make_vae(condition_shapes={"cond": (3,)})
    x, c = torch.randn(5, 4), {"cond": torch.randn(5, 3)}
    torch.manual_seed(3)
    out = vae(inputs={"x": x}, outputs={"x": x}, conditions=c)
    assert list(out) == [
        "encoder_params",
        "encoder_z",
        "decoder_outputs",
        "kl_loss",
        "reconstruction_loss",
    ]
    assert out["encoder_z"].shape == (5, 2)
    torch.testing.assert_close(out["decoder_outputs"]["x"], vae.decode(c, z=out["encoder_z"])["x"])
    torch.testing.assert_close(
        out["reconstruction_loss"], ((out["decoder_outputs"]["x"] - x) ** 2).mean()
    )
    torch.testing.assert_close(out["kl_loss"], vae.kl_loss(out["encoder_params"]))


def test_asymmetric_reconstruction_of_other_keys_and_shapes() -> None:
    torch.manual_seed(0)
    vae = make_vae(
        input_shapes={"x": (4,), "y": (2, 3)},
        output_shapes=OrderedDict(summary=(3,), grid=(2, 2, 2)),
        obs_modalities={"low_dim": ["x", "y"]},  # output keys are not observations
    )
    inputs = {"x": torch.randn(6, 4), "y": torch.randn(6, 2, 3)}
    targets = {"summary": torch.randn(6, 3), "grid": torch.randn(6, 2, 2, 2)}
    out = vae(inputs=inputs, outputs=targets)
    recon = out["decoder_outputs"]
    assert {k: tuple(v.shape) for k, v in recon.items()} == {
        "summary": (6, 3),
        "grid": (6, 2, 2, 2),
    }
    assert vae.nets["encoder"].nets["mlp"]._model[0].in_features == 4 + 6
    assert vae.output_shape() == {"summary": [3], "grid": [2, 2, 2]}
    expected = (
        ((recon["summary"] - targets["summary"]) ** 2).mean()
        + ((recon["grid"] - targets["grid"]) ** 2).mean()
    ) / 2
    torch.testing.assert_close(out["reconstruction_loss"], expected)


def test_images_and_vectors_in_one_variable() -> None:
    pytest.importorskip("obsnets_visual")
    torch.manual_seed(0)
    encoders = {
        "low_dim": {
            "core_class": None,
            "core_kwargs": {},
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": {},
        },
        "rgb": {
            "core_class": "VisualCore",
            "core_kwargs": {
                "backbone_class": "ShallowConv",
                "backbone_kwargs": {},
                "pool_class": "SpatialSoftmax",
                "pool_kwargs": {"num_kp": 4},
                "feature_dimension": 8,
            },
            "obs_randomizer_class": None,
            "obs_randomizer_kwargs": {},
        },
    }
    vae = make_vae(
        input_shapes={"image": (3, 32, 32), "x": (4,)},
        output_shapes={"image_lowres": (3, 8, 8), "x": (4,)},
        condition_shapes={"cond": (3,)},
        encoder_kwargs=encoders,
        obs_modalities={"rgb": ["image"], "low_dim": ["x", "cond"]},
    )
    inputs = {"image": torch.rand(2, 3, 32, 32), "x": torch.randn(2, 4)}
    targets = {"image_lowres": torch.nn.functional.avg_pool2d(inputs["image"], 4), "x": inputs["x"]}
    out = vae(inputs=inputs, outputs=targets, conditions={"cond": torch.randn(2, 3)})
    assert out["decoder_outputs"]["image_lowres"].shape == (2, 3, 8, 8)
    out["reconstruction_loss"].backward()
    image_net_grads = [p.grad for n, p in vae.named_parameters() if "image" in n]
    assert image_net_grads and all(g is not None for g in image_net_grads)


def test_unconditioned_decoder_sees_only_the_latent() -> None:
    torch.manual_seed(0)
    vae = make_vae(
        condition_shapes={"cond": (3,)},
        decoder_is_conditioned=False,
        prior_learn=True,
        prior_is_conditioned=True,
        prior_layer_dims=(8,),
    )
    assert vae.nets["decoder"].nets["mlp"]._model[0].in_features == 2
    z = torch.randn(5, 2)
    a = vae.decode(conditions={"cond": torch.zeros(5, 3)}, z=z)["x"]
    b = vae.decode(conditions={"cond": torch.ones(5, 3)}, z=z)["x"]
    torch.testing.assert_close(a, b)
    assert vae.decode(z=z)["x"].shape == (5, 4)  # no conditions needed with z given
    # the prior carries the conditioning: sampling needs the conditions
    assert vae.sample_prior(5, conditions={"cond": torch.zeros(5, 3)}).shape == (5, 2)


def test_conditioned_decoder_uses_the_conditions() -> None:
    torch.manual_seed(0)
    vae = make_vae(condition_shapes={"cond": (3,)})
    assert vae.nets["decoder"].nets["mlp"]._model[0].in_features == 2 + 3
    z = torch.randn(5, 2)
    a = vae.decode(conditions={"cond": torch.zeros(5, 3)}, z=z)["x"]
    b = vae.decode(conditions={"cond": torch.ones(5, 3)}, z=z)["x"]
    assert not torch.allclose(a, b)


def test_goals_are_extra_conditions_of_encoder_decoder_and_prior() -> None:
    torch.manual_seed(0)
    vae = make_vae(
        condition_shapes={"cond": (3,)},
        goal_shapes={"goal_pos": (2,)},
        prior_learn=True,
        prior_is_conditioned=True,
        prior_layer_dims=(8,),
    )
    assert vae.nets["encoder"].nets["mlp"]._model[0].in_features == 4 + 3 + 2
    assert vae.nets["decoder"].nets["mlp"]._model[0].in_features == 2 + 3 + 2
    prior_mlp = vae.nets["prior"].prior_module.nets["mlp"]
    assert prior_mlp._model[0].in_features == 3 + 2
    c, g = {"cond": torch.randn(4, 3)}, {"goal_pos": torch.randn(4, 2)}
    x = torch.randn(4, 4)
    out = vae(inputs={"x": x}, outputs={"x": x}, conditions=c, goals=g)
    assert torch.isfinite(out["kl_loss"]) and torch.isfinite(out["reconstruction_loss"])


def test_output_squash_and_ranges() -> None:
    torch.manual_seed(0)
    squashed = make_vae(output_squash=["x"], output_scales={"x": 0.5})
    head = squashed.nets["decoder"].nets["decoder"].nets["x"]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([-100.0, -0.3, 0.3, 100.0]))
    out = squashed.decode(z=torch.randn(3, 2))["x"]
    torch.testing.assert_close(out, (0.5 * torch.tanh(head.bias)).expand(3, 4))
    ranged = make_vae(output_ranges={"x": (2.0, 6.0)})
    values = ranged.decode(z=10 * torch.randn(50, 2))["x"]
    assert bool(((values > 2.0) & (values < 6.0)).all())


def test_reconstruction_loss_summed_across_elements_is_total_squared_error_over_batch() -> None:
    vae = make_vae(
        output_shapes={"x": (4,), "y": (2, 3)}, decoder_reconstruction_sum_across_elements=True
    )
    recon = {"x": torch.randn(5, 4), "y": torch.randn(5, 2, 3)}
    target = {"x": torch.randn(5, 4), "y": torch.randn(5, 2, 3)}
    total = sum(((recon[k] - target[k]) ** 2).sum() for k in recon)
    torch.testing.assert_close(vae.reconstruction_loss(recon, target), total / 5)


def test_freeze_encoder_stops_gradients_into_the_encoder() -> None:
    torch.manual_seed(0)
    vae = make_vae()
    x = torch.randn(4, 4)
    out = vae(inputs={"x": x}, outputs={"x": x}, freeze_encoder=True)
    (out["reconstruction_loss"] + out["kl_loss"]).backward()
    assert all(p.grad is None for p in vae.nets["encoder"].parameters())
    assert all(p.grad is not None for p in vae.nets["decoder"].parameters())


def test_gumbel_temperature_and_hard_samples() -> None:
    torch.manual_seed(0)
    vae = make_vae(
        prior_use_categorical=True,
        prior_categorical_dim=5,
        prior_categorical_gumbel_softmax_hard=True,
    )
    assert vae.get_gumbel_temperature() == 1.0
    vae.set_gumbel_temperature(0.3)
    assert vae.get_gumbel_temperature() == 0.3
    params = vae.encode({"x": torch.randn(7, 4)})
    assert params["logit"].shape == (7, 10)
    z = vae.reparameterize(params).reshape(7, 2, 5)
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(z.sum(-1), torch.ones(7, 2))
    soft = make_vae(prior_use_categorical=True, prior_categorical_dim=5)
    zs = soft.reparameterize(soft.encode({"x": torch.randn(7, 4)})).reshape(7, 2, 5)
    torch.testing.assert_close(zs.sum(-1), torch.ones(7, 2))
    assert bool(((zs > 0) & (zs < 1)).any())


def test_vae_follows_dtype_and_prior_samples_do_too() -> None:
    vae = make_vae().double()
    assert vae.sample_prior(3).dtype == torch.float64
    assert vae.decode(n=3)["x"].dtype == torch.float64
    assert vae.device == torch.device("cpu")


def test_float64_forward_computes_what_float32_computes() -> None:
    torch.manual_seed(0)
    vae = make_vae(
        condition_shapes={"cond": (3,)},
        prior_learn=True,
        prior_use_gmm=True,
        prior_gmm_num_modes=2,
        prior_gmm_learn_weights=True,
    )
    x, c = torch.randn(4, 4), torch.randn(4, 3)
    torch.manual_seed(5)
    single = vae(inputs={"x": x}, outputs={"x": x}, conditions={"cond": c})
    vae.double()
    torch.manual_seed(5)
    double = vae(
        inputs={"x": x.double()}, outputs={"x": x.double()}, conditions={"cond": c.double()}
    )
    for key in ("kl_loss", "reconstruction_loss", "encoder_z"):
        assert double[key].dtype == torch.float64
        torch.testing.assert_close(double[key].float(), single[key], rtol=1e-4, atol=1e-5)
