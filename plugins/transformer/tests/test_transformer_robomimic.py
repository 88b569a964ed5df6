"""robomimic's BC_Transformer algorithms: the networks they build and the action they take."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError

algorithms = pytest.importorskip("obsnets_robomimic.algorithms")
from obsnets_transformer.robomimic_algorithms import (  # noqa: E402 - after the importorskip
    TransformerActions,
    transformer_algorithms,
)

TRANSFORMER = {
    "enabled": True,
    "context_length": 4,
    "embed_dim": 16,
    "num_layers": 2,
    "num_heads": 2,
    "emb_dropout": 0.1,
    "attn_dropout": 0.2,
    "block_output_dropout": 0.3,
    "sinusoidal_embedding": False,
    "activation": "gelu",
    "supervise_all_steps": False,
    "nn_parameter_for_timesteps": True,
    "pred_future_acs": False,
}
GMM = {"enabled": True, "num_modes": 5, "min_std": 1e-4, "std_activation": "softplus",
       "low_noise_eval": True}  # fmt: skip


def _inputs(algo_config: dict) -> algorithms.AlgorithmInputs:
    return algorithms.AlgorithmInputs(
        algo_config=algo_config,
        config={"algo": algo_config},
        obs_shapes=OrderedDict(object=[10], robot0_eef_pos=[3]),
        goal_shapes=OrderedDict(),
        ac_dim=7,
        encoder_kwargs={},
    )


def _specs() -> dict[str, algorithms.AlgorithmSpec]:
    return {spec.name: spec for spec in transformer_algorithms()}


def test_bc_transformer_gmm_builds_robomimics_network_kwargs() -> None:
    nets = _specs()["BC_Transformer_GMM"].networks(
        _inputs({"transformer": TRANSFORMER, "gmm": GMM})
    )
    assert list(nets) == ["policy"]
    spec = nets["policy"]
    assert spec.robomimic_class == "TransformerGMMActorNetwork"
    assert spec.kwargs == {
        "obs_shapes": OrderedDict(object=[10], robot0_eef_pos=[3]),
        "goal_shapes": OrderedDict(),
        "ac_dim": 7,
        "encoder_kwargs": {},
        "transformer_context_length": 4,
        "transformer_embed_dim": 16,
        "transformer_num_layers": 2,
        "transformer_num_heads": 2,
        "transformer_emb_dropout": 0.1,
        "transformer_attn_dropout": 0.2,
        "transformer_block_output_dropout": 0.3,
        "transformer_sinusoidal_embedding": False,
        "transformer_activation": "gelu",
        "transformer_nn_parameter_for_timesteps": True,
        "num_modes": 5,
        "min_std": 1e-4,
        "std_activation": "softplus",
        "low_noise_eval": True,
    }


def test_bc_transformer_builds_the_deterministic_policy() -> None:
    nets = _specs()["BC_Transformer"].networks(_inputs({"transformer": TRANSFORMER}))
    assert nets["policy"].robomimic_class == "TransformerActorNetwork"
    assert "num_modes" not in nets["policy"].kwargs


def test_a_missing_transformer_setting_is_named() -> None:
    incomplete = {k: v for k, v in TRANSFORMER.items() if k != "num_layers"}
    with pytest.raises(ConfigError, match=r"config.algo.transformer lacks \['num_layers'\]"):
        _specs()["BC_Transformer"].networks(_inputs({"transformer": incomplete}))


def test_a_missing_gmm_setting_is_named() -> None:
    incomplete = {k: v for k, v in GMM.items() if k != "min_std"}
    with pytest.raises(ConfigError, match=r"config.algo.gmm lacks \['min_std'\]"):
        _specs()["BC_Transformer_GMM"].networks(
            _inputs({"transformer": TRANSFORMER, "gmm": incomplete})
        )


class _Steps(nn.Module):
    """A fake policy whose action at step t is t (to see which position is taken)."""

    def forward(self, obs: dict, goal_dict: dict | None = None) -> torch.Tensor:
        steps = obs["x"].shape[1]
        return torch.arange(steps, dtype=torch.float32).view(1, steps, 1).expand(2, steps, 3)


@pytest.mark.parametrize(
    ("settings", "position"),
    [
        ({}, 3),
        ({"supervise_all_steps": True}, 3),
        ({"supervise_all_steps": True, "pred_future_acs": True}, 0),
    ],
)
def test_the_action_is_taken_at_robomimics_context_position(settings: dict, position: int) -> None:
    config = {"transformer": TRANSFORMER | settings}
    source = _specs()["BC_Transformer_GMM"].action_source({"policy": _Steps()}, config)
    assert isinstance(source, TransformerActions)
    source.reset()
    actions = source({"x": torch.zeros(2, 4, 1)}, None)
    assert torch.equal(actions, torch.full((2, 3), float(position)))
