"""User mistakes give obsnets errors that say what was expected, never bare tracebacks."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.building import build_component
from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_policy import (
    ActorNetwork,
    GaussianActorNetwork,
    GMMActorNetwork,
    PerturbationActorNetwork,
    RNNActorNetwork,
    RNNGMMActorNetwork,
    VAEActor,
)

OBS = {"eef": (3,), "obj": (5,)}
GOAL = {"obj": (5,)}
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
COMMON: dict[str, Any] = {"encoder_kwargs": LOW_DIM, "obs_modalities": {"low_dim": ["eef", "obj"]}}
RNN: dict[str, Any] = {"mlp_layer_dims": [8], "rnn_hidden_dim": 8, "rnn_num_layers": 1}
VAE: dict[str, Any] = {
    "encoder_layer_dims": [8],
    "decoder_layer_dims": [8],
    "latent_dim": 2,
    "device": "cpu",
}


def obs(batch: int = 2, steps: int | None = None) -> dict[str, torch.Tensor]:
    lead = (batch,) if steps is None else (batch, steps)
    return {k: torch.randn(*lead, *s) for k, s in OBS.items()}


GOAL_CALLS = {
    "ActorNetwork": lambda: ActorNetwork(OBS, 3, [8], goal_shapes=GOAL, **COMMON)(obs()),
    "GaussianActorNetwork": lambda: GaussianActorNetwork(OBS, 3, [8], goal_shapes=GOAL, **COMMON)(
        obs()
    ),
    "GMMActorNetwork": lambda: GMMActorNetwork(
        OBS, 3, [8], goal_shapes=GOAL, **COMMON
    ).forward_train(obs()),
    "PerturbationActorNetwork": lambda: PerturbationActorNetwork(
        OBS, 3, [8], goal_shapes=GOAL, **COMMON
    )(obs(), torch.zeros(2, 3)),
    "RNNActorNetwork": lambda: RNNActorNetwork(OBS, 3, goal_shapes=GOAL, **RNN, **COMMON)(
        obs(steps=2)
    ),
    "RNNGMMActorNetwork": lambda: RNNGMMActorNetwork(
        OBS, 3, goal_shapes=GOAL, **RNN, **COMMON
    ).forward_train_step(obs()),
    "VAEActor": lambda: VAEActor(OBS, 3, **VAE, goal_shapes=GOAL, **COMMON).forward_train(
        torch.zeros(2, 3), obs()
    ),
}


@pytest.mark.parametrize("name", sorted(GOAL_CALLS))
def test_missing_goal_dict_is_an_error_naming_the_goal_keys(name: str) -> None:
    with pytest.raises(
        InvalidKwargsError,
        match=rf"{name} was built with goal_shapes for \['obj'\] and needs goal_dict",
    ):
        GOAL_CALLS[name]()


def test_goal_dict_missing_a_key_is_an_error() -> None:
    net = ActorNetwork(OBS, 3, [8], goal_shapes={"obj": (5,), "eef": (3,)}, **COMMON)
    with pytest.raises(InvalidKwargsError, match=r"missing goal key\(s\) \['eef'\]"):
        net(obs(), {"obj": torch.zeros(2, 5)})


def test_wrong_action_width_is_an_error() -> None:
    pert = PerturbationActorNetwork(OBS, 3, [8], **COMMON)
    with pytest.raises(ShapeError, match=r"PerturbationActorNetwork.*\(B, 3\).*\(2, 4\)"):
        pert(obs(), torch.zeros(2, 4))
    vae = VAEActor(OBS, 3, **VAE, **COMMON)
    with pytest.raises(ShapeError, match=r"VAEActor.*\(B, 3\).*\(2, 5\)"):
        vae.encode(torch.zeros(2, 5), obs())
    with pytest.raises(ShapeError, match=r"VAEActor.*\(B, 3\)"):
        vae.forward_train(torch.zeros(2, 7), obs())
    tanh_gauss = GaussianActorNetwork(OBS, 3, [8], use_tanh=True, **COMMON)
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        tanh_gauss.forward_train(obs()).log_prob(torch.zeros(2, 4))


@pytest.mark.parametrize(
    ("cls", "extra"),
    [
        (GaussianActorNetwork, {"mlp_layer_dims": [8]}),
        (GMMActorNetwork, {"mlp_layer_dims": [8]}),
        (RNNGMMActorNetwork, RNN),
    ],
)
def test_unknown_std_activation_lists_close_matches(cls: type, extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"std_activation 'softpluss'.*Did you mean 'softplus'"):
        cls(OBS, 3, std_activation="softpluss", **extra, **COMMON)


def test_gmm_does_not_accept_a_none_std_activation() -> None:
    with pytest.raises(
        InvalidKwargsError, match=r"'std_activation' is required and cannot be None"
    ):
        GMMActorNetwork(OBS, 3, [8], std_activation=None, **COMMON)  # type: ignore[arg-type]


@pytest.mark.parametrize("num_modes", [0, -2])
def test_num_modes_below_one_is_an_error(num_modes: int) -> None:
    expected = rf"'num_modes' must be an int in \[1, 4096\]; got {num_modes}"
    with pytest.raises(ConfigError, match=rf"GMMActorNetwork: argument {expected}"):
        GMMActorNetwork(OBS, 3, [8], num_modes=num_modes, **COMMON)
    with pytest.raises(ConfigError, match=rf"RNNGMMActorNetwork: argument {expected}"):
        RNNGMMActorNetwork(OBS, 3, num_modes=num_modes, **RNN, **COMMON)


def test_unknown_constructor_argument_names_the_valid_ones() -> None:
    kwargs = {"obs_shapes": OBS, "ac_dim": 3, "mlp_layer_dims": [8], "num_mode": 2, **COMMON}
    with pytest.raises(InvalidKwargsError, match=r"'num_mode'.*Did you mean 'num_modes'"):
        build_component("GMMActorNetwork", kwargs, kind="network")


def test_rnn_output_shape_needs_the_time_dimension() -> None:
    net = RNNActorNetwork(OBS, 3, **RNN, **COMMON)
    with pytest.raises(ShapeError, match=r"RNNActorNetwork.output_shape.*\(T, \.\.\.\)"):
        net.output_shape()


def test_own_action_key_listed_under_another_modality_is_an_error() -> None:
    modalities = {"low_dim": ["eef", "obj"], "rgb": ["action"]}
    with pytest.raises(ConfigError, match=r"PerturbationActorNetwork.*'action'.*'rgb'"):
        PerturbationActorNetwork(OBS, 3, [8], encoder_kwargs=LOW_DIM, obs_modalities=modalities)
    with pytest.raises(ConfigError, match=r"VAEActor.*'action'.*'rgb'"):
        VAEActor(OBS, 3, **VAE, encoder_kwargs=LOW_DIM, obs_modalities=modalities)
