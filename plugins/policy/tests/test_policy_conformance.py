"""Every policy network keeps the obsnets component contract (obsnets.testing)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from obsnets.testing import ConformanceCase, conformance_params, run_check

OBS = {"eef": [3], "obj": [5]}
A = 3
T = 3
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
COMMON: dict[str, Any] = {"encoder_kwargs": LOW_DIM, "obs_modalities": {"low_dim": ["eef", "obj"]}}
MLP: dict[str, Any] = {"obs_shapes": OBS, "ac_dim": A, "mlp_layer_dims": [8], **COMMON}
RNN: dict[str, Any] = {
    "obs_shapes": OBS,
    "ac_dim": A,
    "mlp_layer_dims": [8],
    "rnn_hidden_dim": 6,
    "rnn_num_layers": 2,
    **COMMON,
}
PROVIDER = "obsnets-policy"


def obs(batch: int, steps: int | None = None) -> dict[str, torch.Tensor]:
    lead = (batch,) if steps is None else (batch, steps)
    return {k: torch.randn(*lead, *s) for k, s in OBS.items()}


def actions(*lead: int) -> torch.Tensor:
    return torch.rand(*lead, A) * 1.8 - 0.9


def nll(module: Any, inputs: dict[str, Any]) -> torch.Tensor:
    """Negative log-likelihood of fixed actions under the policy's distribution."""
    dist = module.forward_train(inputs["obs_dict"])
    first = next(iter(inputs["obs_dict"].values()))
    return -dist.log_prob(actions(*first.shape[: first.dim() - 1])).mean()


def vae_loss(module: Any, inputs: dict[str, Any]) -> torch.Tensor:
    batch = next(iter(inputs["obs_dict"].values())).shape[0]
    out = module.forward_train(actions(batch), inputs["obs_dict"])
    return out["kl_loss"] + out["reconstruction_loss"]


CONFORMANCE_CASES = [
    ConformanceCase(
        "ActorNetwork",
        kwargs=MLP,
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "PerturbationActorNetwork",
        kwargs={**MLP, "perturbation_scale": 0.1},
        inputs_factory=lambda b: {"obs_dict": obs(b), "acts": actions(b)},
        kind="network",
        provider=PROVIDER,
    ),
    ConformanceCase(
        "GaussianActorNetwork",
        kwargs=MLP,
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        loss=nll,
    ),
    ConformanceCase(
        "GaussianActorNetwork",
        kwargs={**MLP, "use_tanh": True, "std_activation": "exp", "init_last_fc_weight": 0.01},
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        loss=nll,
        id="GaussianActorNetwork-tanh",
    ),
    ConformanceCase(
        "GMMActorNetwork",
        kwargs={**MLP, "num_modes": 3, "use_tanh": True},
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        deterministic_eval=False,
        loss=nll,
    ),
    ConformanceCase(
        "RNNActorNetwork",
        kwargs=RNN,
        inputs_factory=lambda b: {"obs_dict": obs(b, T)},
        kind="network",
        provider=PROVIDER,
        # output_shape is [T, A] (robomimic's): the declared shape carries T itself
        output_shape_input={k: [T, *s] for k, s in OBS.items()},
    ),
    ConformanceCase(
        "RNNGMMActorNetwork",
        kwargs={**RNN, "num_modes": 2, "rnn_type": "GRU"},
        inputs_factory=lambda b: {"obs_dict": obs(b, T)},
        kind="network",
        provider=PROVIDER,
        # output_shape is [T, A] (robomimic's): the declared shape carries T itself
        output_shape_input={k: [T, *s] for k, s in OBS.items()},
        deterministic_eval=False,
        loss=nll,
    ),
    ConformanceCase(
        "VAEActor",
        kwargs={
            "obs_shapes": OBS,
            "ac_dim": A,
            "encoder_layer_dims": [8],
            "decoder_layer_dims": [8],
            "latent_dim": 2,
            "device": "cpu",
            **COMMON,
        },
        inputs_factory=lambda b: {"obs_dict": obs(b)},
        kind="network",
        provider=PROVIDER,
        deterministic_eval=False,
        loss=vae_loss,
    ),
]


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_policy_conformance(case_and_check: tuple[ConformanceCase, str]) -> None:
    run_check(*case_and_check)
