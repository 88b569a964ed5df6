"""robomimic's ``BC_Transformer`` and ``BC_Transformer_GMM``, for obsnets-robomimic's loader.

Imported only by the ``obsnets_robomimic_register_algorithms`` hook, which obsnets-robomimic
calls; this module therefore may import obsnets-robomimic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from obsnets_robomimic.algorithms import (
    AlgorithmInputs,
    AlgorithmSpec,
    NetworkSpec,
    algo_section,
    gmm_kwargs,
)

__all__ = ["TRANSFORMER_SETTINGS", "TransformerActions", "transformer_algorithms"]

TRANSFORMER_SETTINGS: dict[str, str] = {
    # config.algo.transformer key -> constructor argument (robomimic's
    # transformer_args_from_config)
    "context_length": "transformer_context_length",
    "embed_dim": "transformer_embed_dim",
    "num_layers": "transformer_num_layers",
    "num_heads": "transformer_num_heads",
    "emb_dropout": "transformer_emb_dropout",
    "attn_dropout": "transformer_attn_dropout",
    "block_output_dropout": "transformer_block_output_dropout",
    "sinusoidal_embedding": "transformer_sinusoidal_embedding",
    "activation": "transformer_activation",
    "nn_parameter_for_timesteps": "transformer_nn_parameter_for_timesteps",
}


def _transformer_kwargs(inputs: AlgorithmInputs) -> dict[str, Any]:
    section = algo_section(inputs.algo_config, "transformer", TRANSFORMER_SETTINGS)
    return inputs.common_kwargs() | {arg: section[k] for k, arg in TRANSFORMER_SETTINGS.items()}


def _bc_transformer(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    return {"policy": NetworkSpec("TransformerActorNetwork", _transformer_kwargs(inputs))}


def _bc_transformer_gmm(inputs: AlgorithmInputs) -> dict[str, NetworkSpec]:
    kwargs = _transformer_kwargs(inputs) | gmm_kwargs(inputs.algo_config)
    return {"policy": NetworkSpec("TransformerGMMActorNetwork", kwargs)}


class TransformerActions:
    """robomimic's ``BC_Transformer.get_action``: the policy's output at one context position.

    The observation carries the stacked frames ``(B, T, ...)``, oldest first; the action is
    the one the policy outputs at the last position, or at the first when robomimic trained
    it to predict future actions (``supervise_all_steps`` and ``pred_future_acs``).

    Args:
        network: A transformer policy, ``network(obs, goal_dict=goal) -> (B, T, A)``.
        position: The context position whose action is taken (``-1`` or ``0``).
    """

    def __init__(self, network: nn.Module, position: int = -1) -> None:
        self.network = network
        self.position = int(position)

    def reset(self) -> None:
        """Nothing is carried between steps (the context comes with each observation)."""

    def __call__(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """Actions ``(B, A)`` for ``obs`` ``{key: (B, T, *shape)}``."""
        actions: torch.Tensor = self.network(obs, goal_dict=goal)  # (B, T, A)
        return actions[:, self.position]


def _transformer_policy(
    networks: Mapping[str, nn.Module], algo_config: Mapping[str, Any]
) -> TransformerActions:
    section = algo_config.get("transformer") or {}
    future = bool(section.get("supervise_all_steps")) and bool(section.get("pred_future_acs"))
    return TransformerActions(networks["policy"], position=0 if future else -1)


def transformer_algorithms() -> list[AlgorithmSpec]:
    """The algorithm specs this plugin adds to obsnets-robomimic's registry."""
    return [
        AlgorithmSpec("BC_Transformer", _bc_transformer, _transformer_policy, frame_stacked=True),
        AlgorithmSpec(
            "BC_Transformer_GMM", _bc_transformer_gmm, _transformer_policy, frame_stacked=True
        ),
    ]
