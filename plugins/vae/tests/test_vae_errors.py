"""User errors are obsnets errors naming the problem (no deep tracebacks, no assertions)."""

from __future__ import annotations

import pytest
import torch

from obsnets.building import build_component
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_vae import VAE, CategoricalPrior, GaussianPrior

BASE = dict(
    input_shapes={"x": (4,)},
    output_shapes={"x": (4,)},
    encoder_layer_dims=(8,),
    decoder_layer_dims=(8,),
    latent_dim=2,
    device="cpu",
)
COND = {"condition_shapes": {"cond": (3,)}}


def vae(**overrides) -> VAE:
    return VAE(**{**BASE, **overrides})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            {"prior_learn": True, "prior_use_gmm": True, "prior_use_categorical": True},
            "prior_use_gmm and prior_use_categorical exclude each other",
        ),
        ({"prior_use_gmm": True}, "GMM prior must be learned; set prior_learn=True"),
        ({**COND, "prior_is_conditioned": True}, "conditioned prior must be learned"),
        ({"prior_learn": True, "prior_is_conditioned": True}, "needs conditioning inputs"),
        ({**COND, "decoder_is_conditioned": False}, "must condition the decoder and/or the prior"),
        ({"goal_shapes": {"g": (2,)}}, "must be conditional; give condition_shapes"),
        ({"output_squash": ["x"]}, r"output_squash \['x'\] and the keys of output_scales \[\]"),
        ({"output_squash": ["y"], "output_scales": {"y": 1.0}}, "not in output_shapes"),
        ({"output_scales": {}, "output_ranges": {"x": (0, 1)}}, "not both"),
        ({"output_ranges": {"x": (1.0, -1.0)}}, "low < high"),
        ({"input_shapes": {}}, "input_shapes must name at least one input"),
        (
            {"output_squash": "x", "output_scales": {"x": 1.0}},
            r"'output_squash' must be a list; got 'x'",
        ),
    ],
)
def test_invalid_options_are_config_errors(options: dict, match: str) -> None:
    # a wrong type is an InvalidKwargsError (a TypeError), a wrong value a ConfigError
    with pytest.raises((ConfigError, InvalidKwargsError), match=match):
        vae(**options)


def test_invalid_options_fail_the_same_way_through_the_registry() -> None:
    with pytest.raises(ConfigError, match="exclude each other"):
        build_component(
            "VAE",
            {**BASE, "prior_learn": True, "prior_use_gmm": True, "prior_use_categorical": True},
            kind="network",
        )


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: GaussianPrior(2, "cpu", use_gmm=True), "GMM prior must be learned"),
        (lambda: GaussianPrior(2, "cpu", obs_shapes={"cond": (3,)}), "must be learned"),
        (lambda: CategoricalPrior(2, 3, "cpu", obs_shapes={"cond": (3,)}), "must be learned"),
        (lambda: GaussianPrior(0, "cpu"), r"'latent_dim' must be an int in \[1, 65536\]; got 0"),
        (lambda: GaussianPrior(2, "cpu", latent_clip=-1.0), "latent_clip must be positive"),
    ],
)
def test_invalid_prior_options_are_config_errors(build, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_missing_conditions_and_goals_name_the_keys() -> None:
    model = vae(**COND, goal_shapes={"goal_pos": (2,)})
    x = {"x": torch.zeros(2, 4)}
    with pytest.raises(InvalidKwargsError, match=r"VAE.encode needs conditions=.*\['cond'\]"):
        model.encode(x)
    with pytest.raises(InvalidKwargsError, match=r"VAE.encode needs goals=.*\['goal_pos'\]"):
        model.encode(x, conditions={"cond": torch.zeros(2, 3)})
    with pytest.raises(InvalidKwargsError, match=r"conditions lacks key\(s\) \['cond'\]"):
        model.decode(conditions={"other": torch.zeros(2, 3)}, z=torch.zeros(2, 2))
    with pytest.raises(InvalidKwargsError, match=r"inputs lacks key\(s\) \['x'\]"):
        model.encode({"y": torch.zeros(2, 4)}, conditions={"cond": torch.zeros(2, 3)})


def test_conditioned_prior_without_observations_is_a_clear_error() -> None:
    model = vae(**COND, prior_learn=True, prior_is_conditioned=True, prior_layer_dims=(4,))
    with pytest.raises(InvalidKwargsError, match=r"GaussianPrior.sample needs obs_dict="):
        model.sample_prior(3)


def test_conditioned_prior_without_hidden_layers_is_linear_in_the_conditions() -> None:
    model = vae(**COND, prior_learn=True, prior_is_conditioned=True)
    assert "mlp" not in model.nets["prior"].prior_module.nets
    assert model.sample_prior(3, conditions={"cond": torch.zeros(3, 3)}).shape == (3, 2)


def test_latents_and_targets_of_the_wrong_shape_are_shape_errors() -> None:
    model = vae()
    with pytest.raises(
        ShapeError, match=r"VAE.decode expects latents z of shape \(B, 2\); got \(3, 5\)"
    ):
        model.decode(z=torch.zeros(3, 5))
    with pytest.raises(ShapeError, match=r"target 'x' has shape \(3, 1\).*\(3, 4\)"):
        model.reconstruction_loss({"x": torch.zeros(3, 4)}, {"x": torch.zeros(3, 1)})
    with pytest.raises(InvalidKwargsError, match="targets lack key 'x'"):
        model.reconstruction_loss({"x": torch.zeros(3, 4)}, {"y": torch.zeros(3, 4)})
    with pytest.raises(InvalidKwargsError, match="needs latents z or a number n"):
        model.decode()


def test_gmm_kl_without_z_and_gumbel_without_categorical_are_errors() -> None:
    model = vae(prior_learn=True, prior_use_gmm=True)
    params = {"mean": torch.zeros(2, 2), "logvar": torch.zeros(2, 2)}
    with pytest.raises(InvalidKwargsError, match="single-sample estimate and needs z"):
        model.kl_loss(params)
    with pytest.raises(ConfigError, match="only with prior_use_categorical=True"):
        model.set_gumbel_temperature(0.5)
    categorical = vae(prior_use_categorical=True, prior_categorical_dim=3)
    with pytest.raises(ConfigError, match="must be > 0"):
        categorical.set_gumbel_temperature(0.0)
    with pytest.raises(ShapeError, match=r"posterior logits of shape \(B, 6\)"):
        categorical.kl_loss({"logit": torch.zeros(2, 5)})


def test_unlearned_priors_have_no_forward() -> None:
    with pytest.raises(ConfigError, match="fixed N\\(0, 1\\) prior"):
        GaussianPrior(2, "cpu")(3)
    with pytest.raises(ConfigError, match="uniform prior"):
        CategoricalPrior(2, 3, "cpu")(3)
