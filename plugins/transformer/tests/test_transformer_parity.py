"""Both attention paths reproduce robomimic's numbers (parity cases 20 and 22, robomimic 0.5.0).

The repository's tests/test_parity.py replays every case through obsnets-robomimic; here the
networks are built directly, and the written-out attention path (taken when
``nets.attn_dropout`` is not an ``nn.Dropout``) must match robomimic as the fused one does.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obsnets_transformer import MIMO_Transformer, TransformerGMMActorNetwork


def _written_out(network: nn.Module) -> None:
    for module in network.modules():
        if "attn_dropout" in getattr(module, "nets", {}):
            module.nets["attn_dropout"] = nn.Identity()


@pytest.mark.parametrize("path", ["fused", "written_out"])
def test_mimo_transformer_matches_robomimic(path: str, parity_case) -> None:
    recorded = parity_case("20_mimo_transformer")
    spec, state, io = recorded.spec, recorded.weights, recorded.io
    network = MIMO_Transformer(**spec["kwargs"], obs_modalities=spec["obs_modalities"])
    assert list(network.state_dict()) == spec["state_dict_keys"]
    network.load_state_dict(state, strict=True)
    network.eval()
    if path == "written_out":
        _written_out(network)
    obs = {k: io[f"in/obs/{k}"] for k in ("robot0_eef_pos", "object")}
    with torch.no_grad():
        out = network(obs=obs, goal={"object": io["in/goal/object"]})
        block = network.nets["transformer"].nets["transformer"][0].nets["attention"]
        attention = block(io["out/input_embedding/embeddings"])
    tolerance = {"rtol": spec["rtol"], "atol": spec["atol"]}
    for key in ("action", "aux", "transformer_encoder_outputs"):
        torch.testing.assert_close(out[key], io[f"out/forward/{key}"], **tolerance)
    torch.testing.assert_close(attention, io["out/block0_attention/y"], **tolerance)


def test_gmm_policy_mixture_matches_robomimic_with_learned_scales(parity_case) -> None:
    recorded = parity_case("22_transformer_gmm_actor_network")
    spec, state, io = recorded.spec, recorded.weights, recorded.io
    network = TransformerGMMActorNetwork(**spec["kwargs"], obs_modalities=spec["obs_modalities"])
    network.load_state_dict(state, strict=True)
    network.eval()
    obs = {k: io[f"in/obs/{k}"] for k in ("robot0_eef_pos", "object")}
    with torch.no_grad():
        dist = network.forward_train(obs, actions=None, low_noise_eval=False)
        log_prob = dist.log_prob(io["in/actions"])
    tolerance = {"rtol": spec["rtol"], "atol": spec["atol"]}
    want = "out/forward_train_eval_learned_std"
    components = dist.component_distribution.base_dist
    torch.testing.assert_close(components.loc, io[f"{want}/loc"], **tolerance)
    torch.testing.assert_close(components.scale, io[f"{want}/scale"], **tolerance)
    torch.testing.assert_close(dist.mixture_distribution.logits, io[f"{want}/mixture_logits"])
    torch.testing.assert_close(log_prob, io[f"{want}/log_prob"], **tolerance)
    assert log_prob.shape == (io["in/actions"].shape[0], 4)  # one value per (B, T)
