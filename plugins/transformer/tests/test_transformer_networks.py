"""MIMO_Transformer and the transformer policies: behaviour, errors and the live module tree."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_transformer import (
    MIMO_Transformer,
    TransformerActorNetwork,
    TransformerGMMActorNetwork,
)

OBS = {"eef": [3], "obj": [5]}
GOAL = {"obj": [5]}
LOW_DIM = {"low_dim": {"core_class": None}}
MODALITIES = {"low_dim": ["eef", "obj"]}
GPT: dict[str, Any] = {
    "transformer_embed_dim": 8,
    "transformer_num_layers": 2,
    "transformer_num_heads": 2,
    "transformer_context_length": 4,
    "transformer_emb_dropout": 0.0,
    "transformer_attn_dropout": 0.0,
    "transformer_block_output_dropout": 0.0,
}
POSITIONS = {
    "embedding": {},
    "parameter": {"transformer_nn_parameter_for_timesteps": True},
    "sinusoidal": {"transformer_sinusoidal_embedding": True},
}


def _obs(batch: int = 2, steps: int = 4, shapes: dict = OBS) -> dict[str, torch.Tensor]:
    return {k: torch.randn(batch, steps, *s) for k, s in shapes.items()}


def _actor(**kwargs: Any) -> TransformerActorNetwork:
    torch.manual_seed(0)
    settings = {"obs_shapes": OBS, "ac_dim": 3, **GPT, "encoder_kwargs": LOW_DIM} | kwargs
    network = TransformerActorNetwork(**settings, obs_modalities=MODALITIES).eval()
    if "params" in dict(network.named_children()) and "embed_timestep" in network.params:
        nn.init.normal_(network.params["embed_timestep"])  # zeros at start: make it matter
    return network


def _gmm(**kwargs: Any) -> TransformerGMMActorNetwork:
    torch.manual_seed(0)
    settings = {"obs_shapes": OBS, "ac_dim": 3, **GPT, "num_modes": 4, "encoder_kwargs": LOW_DIM}
    return TransformerGMMActorNetwork(**settings, obs_modalities=MODALITIES, **kwargs).eval()


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_a_shorter_context_gives_the_first_steps_of_the_full_one(position: str) -> None:
    network = _actor(**POSITIONS[position])
    obs = _obs()
    full = network(obs)
    assert full.shape == (2, 4, 3) and full.abs().max() <= 1
    short = network({k: v[:, :2] for k, v in obs.items()})
    torch.testing.assert_close(short, full[:, :2], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_each_step_sees_its_position(position: str) -> None:
    network = _actor(**POSITIONS[position])
    same = {k: v[:, :1].expand(-1, 4, *v.shape[2:]) for k, v in _obs().items()}
    actions = network(same)  # one observation repeated: only the position differs
    assert not torch.allclose(actions[:, 0], actions[:, 1], atol=1e-4)


def test_position_embedding_state_dict_keys() -> None:
    keys = {name: set(_actor(**kw).state_dict()) for name, kw in POSITIONS.items()}
    assert "nets.embed_timestep.weight" in keys["embedding"]
    assert "params.embed_timestep" in keys["parameter"]
    assert not any("embed_timestep" in k for k in keys["sinusoidal"])
    assert _actor(**POSITIONS["parameter"]).params["embed_timestep"].shape == (1, 4, 8)


def test_a_goal_per_sequence_is_repeated_over_time() -> None:
    network = _actor(goal_shapes=GOAL)
    obs, goal = _obs(), {"obj": torch.randn(2, 5)}
    repeated = {"obj": goal["obj"].unsqueeze(1).expand(2, 4, 5)}
    torch.testing.assert_close(network(obs, goal_dict=goal), network(obs, goal_dict=repeated))
    with pytest.raises(InvalidKwargsError, match="needs goal_dict"):
        network(obs)


def test_actions_are_refused_not_ignored() -> None:
    with pytest.raises(InvalidKwargsError, match="does not condition on actions"):
        _actor()(_obs(), actions=torch.zeros(2, 4, 3))
    with pytest.raises(InvalidKwargsError, match="does not condition on actions"):
        _gmm().forward_train(_obs(), actions=torch.zeros(2, 4, 3))


def test_inputs_are_checked() -> None:
    network = _actor()
    with pytest.raises(ShapeError, match=r"T <= 4 \(transformer_context_length\); got T = 5"):
        network(_obs(steps=5))
    bad = _obs()
    bad["obj"] = bad["obj"][:, :3]
    with pytest.raises(ShapeError, match=r"share \(B, T\); obs\['obj'\] has \(2, 3\)"):
        network(bad)
    with pytest.raises(ShapeError, match=r"obs\['eef'\] must be \(B, T, 3\); got shape \(2, 3\)"):
        network({"eef": torch.zeros(2, 3), "obj": torch.zeros(2, 5)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {
                "transformer_sinusoidal_embedding": True,
                "transformer_nn_parameter_for_timesteps": True,
            },
            "are exclusive",
        ),
        ({"transformer_activation": "swish"}, r"unknown transformer_activation 'swish'"),
        ({"transformer_num_heads": 3}, r"Valid head counts for 8: \[1, 2, 4, 8\]"),
        ({"transformer_context_length": 0}, r"'transformer_context_length' must be an int in \[1,"),
        ({"transformer_emb_dropout": -0.1}, r"'transformer_emb_dropout' must be a number >= 0.0"),
    ],
)
def test_constructor_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _actor(**kwargs)


def test_the_encoder_outputs_key_is_reserved() -> None:
    with pytest.raises(ConfigError, match="'transformer_encoder_outputs' is reserved"):
        MIMO_Transformer({"obs": OBS}, {"transformer_encoder_outputs": [2]}, 8, 1, 2, 4)


def test_mimo_transformer_returns_heads_and_encoder_outputs() -> None:
    torch.manual_seed(0)
    network = MIMO_Transformer(
        {"obs": OBS}, {"action": [3], "grid": [2, 2]}, **GPT, obs_modalities=MODALITIES
    ).eval()
    out = network(obs=_obs(steps=3))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "action": (2, 3, 3),
        "grid": (2, 3, 2, 2),
        "transformer_encoder_outputs": (2, 3, 8),
    }
    assert network.output_shape() == {
        "action": [3],
        "grid": [2, 2],
        "transformer_encoder_outputs": [8],
    }
    # the heads decode the encoder outputs at every step
    head = network.nets["decoder"].nets["action"]
    torch.testing.assert_close(out["action"], head(out["transformer_encoder_outputs"]))


def test_gmm_scales_follow_mode_and_low_noise_setting() -> None:
    network = _gmm()
    obs = _obs()
    dist = network.forward_train(obs)
    assert dist.batch_shape == (2, 4) and dist.event_shape == (3,)
    assert torch.all(dist.component_distribution.base_dist.scale == 1e-4)
    learned = network.forward_train(obs, low_noise_eval=False).component_distribution.base_dist
    assert torch.all(learned.scale > network.min_std)
    network.train()
    trained = network.forward_train(obs).component_distribution.base_dist
    torch.testing.assert_close(trained.scale, learned.scale)
    assert torch.all(trained.loc.abs() < 1)  # tanh-squashed means
    network.eval()
    torch.manual_seed(3)
    sample = network(obs)
    assert sample.shape == (2, 4, 3)
    # low-noise samples lie on one of the component means
    gap = (sample.unsqueeze(2) - dist.component_distribution.base_dist.loc).abs().amax(-1)
    assert torch.all(gap.amin(-1) < 1e-3)


def _counting(module: nn.Module, counter: list[str], name: str) -> nn.Module:
    module.register_forward_hook(lambda *_: counter.append(name))
    return module


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_forward_runs_the_live_module_tree(mode: str) -> None:
    network = _gmm()
    network.train(mode == "train")
    calls: list[str] = []
    blocks = network.nets["transformer"].nets["transformer"]
    blocks[1] = _counting(copy.deepcopy(blocks[1]), calls, "block")
    network.nets["embed_ln"] = _counting(nn.LayerNorm(8), calls, "embed_ln")
    network.nets["decoder"].nets["logits"] = _counting(nn.Linear(8, 4), calls, "logits")
    encoder = network.nets["encoder"].nets["obs"]
    encoder.obs_nets["eef"] = _counting(nn.Identity(), calls, "eef")
    network.forward_train(_obs())
    assert sorted(calls) == ["block", "eef", "embed_ln", "logits"]
    twin = copy.deepcopy(network)  # e.g. an EMA copy: it runs its own modules
    twin.nets["transformer"].nets["transformer"][0] = _counting(nn.Identity(), calls, "copy")
    calls.clear()
    network.forward_train(_obs())
    assert "copy" not in calls and "block" in calls
    calls.clear()
    twin.forward_train(_obs())
    assert "copy" in calls


def test_a_saved_policy_loads_and_acts_the_same(tmp_path) -> None:
    import obsnets

    network = _actor(goal_shapes=GOAL, transformer_activation="geglu")
    obs, goal = _obs(), {"obj": torch.randn(2, 5)}
    network.save_pretrained(tmp_path / "policy")
    loaded = obsnets.load(tmp_path / "policy")
    assert type(loaded) is TransformerActorNetwork and not loaded.training
    torch.testing.assert_close(loaded(obs, goal_dict=goal), network(obs, goal_dict=goal))
