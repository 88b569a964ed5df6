"""Every network family trains under bf16 autocast like it does in float32.

Under ``torch.autocast("cpu", dtype=torch.bfloat16)`` convolutions, linear layers and matmuls
run in bf16 (about 3 significant digits); the numerically sensitive parts (SpatialSoftmax's
softmax and expectations, distribution log-probs, the GMM mixture, KL terms, value atoms)
must run in float32. Each case computes one training loss and its gradients twice, from the
same weights and the same random draws, in float32 and under bf16 autocast, and checks:

* the loss is float32 under autocast (the sensitive tail ran in float32);
* the loss agrees within ``LOSS_RTOL`` relative (bf16 matmuls alone give ~0.5 % per layer);
* the flattened gradient agrees in direction (cosine >= ``GRAD_COSINE``) and norm (within
  ``GRAD_NORM_RTOL`` relative) — the quantities an optimiser step depends on. A ResNet-18
  trunk backpropagates through 17 bf16 convolutions and BatchNorms, whose rounding
  (2^-8 relative per op) adds up: its gradients agree to cosine >= ``DEEP_CONV_GRAD_COSINE``
  (measured 0.93-0.94 at initialisation, where gradients are small and noisy), as with any
  bf16 autocast training of a ResNet.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import torch

from obsnets import build_component

LOSS_RTOL = 3e-2
GRAD_COSINE = 0.99
GRAD_NORM_RTOL = 5e-2
DEEP_CONV_GRAD_COSINE = 0.9
DEEP_CONV_CASES = {"VisualCore-ResNet18-SpatialSoftmax"}

OBS = {"eef": [3], "obj": [5]}
A = 3
T = 4
B = 8
LOW_DIM = {"low_dim": {"core_class": None, "core_kwargs": {}, "obs_randomizer_class": None,
                       "obs_randomizer_kwargs": {}}}  # fmt: skip
COMMON: dict[str, Any] = {"encoder_kwargs": LOW_DIM, "obs_modalities": {"low_dim": ["eef", "obj"]}}
MLP: dict[str, Any] = {"obs_shapes": OBS, "ac_dim": A, "mlp_layer_dims": [32, 32], **COMMON}
RNN: dict[str, Any] = {**MLP, "rnn_hidden_dim": 32, "rnn_num_layers": 2}
IMAGE = [3, 40, 40]
VISUAL: dict[str, Any] = {
    "input_shape": IMAGE,
    "backbone_class": "ResNet18Conv",
    "backbone_kwargs": {"pretrained": False, "input_coord_conv": False},
    "pool_class": "SpatialSoftmax",
    "pool_kwargs": {"num_kp": 16},
    "feature_dimension": 32,
}
IMAGE_POLICY: dict[str, Any] = {
    "obs_shapes": {"image": IMAGE, "eef": [3]},
    "ac_dim": A,
    "mlp_layer_dims": [],
    "rnn_hidden_dim": 64,
    "rnn_num_layers": 2,
    "num_modes": 5,
    "min_std": 1e-4,
    "encoder_kwargs": {"rgb": {"core_class": "VisualCore", "core_kwargs": VISUAL}, **LOW_DIM},
    "obs_modalities": {"rgb": ["image"], "low_dim": ["eef"]},
}
VAE: dict[str, Any] = {
    "input_shapes": {"action": [A]},
    "output_shapes": {"action": [A]},
    "encoder_layer_dims": [32],
    "decoder_layer_dims": [32],
    "latent_dim": 4,
    "condition_shapes": OBS,
    "obs_modalities": {"low_dim": ["action", "eef", "obj"]},
}


def _obs(*lead: int) -> dict[str, torch.Tensor]:
    return {k: torch.randn(*lead, *s) for k, s in OBS.items()}


def _actions(*lead: int) -> torch.Tensor:
    return torch.rand(*lead, A) * 1.8 - 0.9


def _nll(net: Any, obs: dict[str, torch.Tensor], acts: torch.Tensor) -> torch.Tensor:
    return -net.forward_train(obs).log_prob(acts).mean()


def _vae_loss(out: dict[str, Any]) -> torch.Tensor:
    return out["kl_loss"] + out["reconstruction_loss"]


def _visual_core() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    core = build_component("VisualCore", VISUAL, kind="encoder_core")
    x = torch.rand(B, *IMAGE)
    target = torch.randn(B, 32)
    return core, lambda m: ((m(x).float() - target) ** 2).mean()


def _scan_core() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    core = build_component(
        "ScanCore",
        {"input_shape": [1, 64], "conv_kwargs": {"out_channels": [16, 16], "kernel_size": [5, 3],
                                                  "stride": [1, 1]},
         "pool_class": "SpatialSoftmax", "pool_kwargs": {"num_kp": 8},
         "feature_dimension": 16},
        kind="encoder_core",
    )  # fmt: skip
    x = torch.randn(B, 1, 64)
    return core, lambda m: (m(x).float() ** 2).mean()


def _image_rnn_gmm() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    net = build_component("RNNGMMActorNetwork", IMAGE_POLICY, kind="network")
    obs = {"image": torch.rand(2, T, *IMAGE), "eef": torch.randn(2, T, 3)}
    acts = _actions(2, T)
    return net, lambda m: _nll(m, obs, acts)


def _policy(name: str, kwargs: dict[str, Any], steps: int | None = None) -> Callable[[], Any]:
    def make() -> tuple[Any, Callable[[Any], torch.Tensor]]:
        net = build_component(name, kwargs, kind="network")
        lead = (B,) if steps is None else (B, steps)
        obs, acts = _obs(*lead), _actions(*lead)
        return net, lambda m: _nll(m, obs, acts)

    return make


def _actor() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    net = build_component("ActorNetwork", MLP, kind="network")
    obs, acts = _obs(B), _actions(B)
    return net, lambda m: ((m(obs).float() - acts) ** 2).mean()


def _vae_actor() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    net = build_component(
        "VAEActor",
        {"obs_shapes": OBS, "ac_dim": A, "encoder_layer_dims": [32], "decoder_layer_dims": [32],
         "latent_dim": 4, "device": "cpu", "prior_learn": True, "prior_use_gmm": True,
         "prior_gmm_num_modes": 3,
         **COMMON},
        kind="network",
    )  # fmt: skip
    obs, acts = _obs(B), _actions(B)
    return net, lambda m: _vae_loss(m.forward_train(acts, obs))


def _vae(extra: dict[str, Any]) -> Callable[[], Any]:
    def make() -> tuple[Any, Callable[[Any], torch.Tensor]]:
        net = build_component("VAE", {**VAE, **extra}, kind="network")
        acts, cond = _actions(B), _obs(B)
        inputs = {"action": acts}
        return net, lambda m: _vae_loss(m(inputs=inputs, outputs=inputs, conditions=cond))

    return make


def _distributional_q() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    net = build_component(
        "DistributionalActionValueNetwork",
        {**MLP, "ac_dim": A, "value_bounds": [-1.0, 1.0], "num_atoms": 11},
        kind="network",
    )
    obs, acts = _obs(B), _actions(B)
    target = torch.softmax(torch.randn(B, 11), dim=-1)
    returns = torch.rand(B) * 2 - 1

    def loss(m: Any) -> torch.Tensor:
        dist = m.forward_train(obs, acts)
        return -(target * dist.logits).sum(-1).mean() + ((dist.mean() - returns) ** 2).mean()

    return net, loss


def _value() -> tuple[Any, Callable[[Any], torch.Tensor]]:
    net = build_component(
        "ValueNetwork",
        {"obs_shapes": OBS, "mlp_layer_dims": [32, 32], "value_bounds": [-2.0, 3.0], **COMMON},
        kind="network",
    )
    obs, target = _obs(B), torch.randn(B, 1)
    return net, lambda m: ((m(obs).float() - target) ** 2).mean()


GPT: dict[str, Any] = {
    "transformer_embed_dim": 32,
    "transformer_num_layers": 2,
    "transformer_num_heads": 2,
    "transformer_context_length": T,
}

CASES: dict[str, Callable[[], tuple[Any, Callable[[Any], torch.Tensor]]]] = {
    "VisualCore-ResNet18-SpatialSoftmax": _visual_core,
    "ScanCore-SpatialSoftmax": _scan_core,
    "ActorNetwork": _actor,
    "GaussianActorNetwork": _policy("GaussianActorNetwork", MLP),
    "GaussianActorNetwork-tanh": _policy("GaussianActorNetwork", {**MLP, "use_tanh": True}),
    "GMMActorNetwork": _policy("GMMActorNetwork", {**MLP, "num_modes": 5}),
    "RNNGMMActorNetwork": _policy("RNNGMMActorNetwork", {**RNN, "num_modes": 5}, steps=T),
    "RNNGMMActorNetwork-image": _image_rnn_gmm,
    "TransformerGMMActorNetwork": _policy(
        "TransformerGMMActorNetwork",
        {"obs_shapes": OBS, "ac_dim": A, "num_modes": 3, **GPT, **COMMON},
        steps=T,
    ),
    "VAEActor-gmm-prior": _vae_actor,
    "VAE-gaussian": _vae({}),
    "VAE-learned-conditioned-prior": _vae(
        {"prior_learn": True, "prior_is_conditioned": True, "prior_layer_dims": [16]}
    ),
    "VAE-categorical": _vae({"prior_use_categorical": True, "prior_categorical_dim": 3}),
    "DistributionalActionValueNetwork": _distributional_q,
    "ValueNetwork": _value,
}


def _loss_and_grads(
    net: torch.nn.Module, loss_fn: Callable[[Any], torch.Tensor], bf16: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    net.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # the same random draws (crops, reparameterisation) in both runs
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = loss_fn(net)
    loss.backward()
    grads = [
        p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel())
        for p in net.parameters()
    ]
    return loss.detach(), torch.cat(grads)


@pytest.mark.parametrize("name", list(CASES))
def test_bf16_autocast_matches_float32(name: str) -> None:
    torch.manual_seed(0)
    net, loss_fn = CASES[name]()
    net.train()
    ref_loss, ref_grad = _loss_and_grads(net, loss_fn, bf16=False)
    bf_loss, bf_grad = _loss_and_grads(copy.deepcopy(net), loss_fn, bf16=True)

    assert bf_loss.dtype == torch.float32, f"{name}: loss is {bf_loss.dtype} under autocast"
    torch.testing.assert_close(bf_loss, ref_loss, rtol=LOSS_RTOL, atol=1e-3)
    assert ref_grad.norm() > 0
    cosine = torch.nn.functional.cosine_similarity(bf_grad, ref_grad, dim=0)
    least = DEEP_CONV_GRAD_COSINE if name in DEEP_CONV_CASES else GRAD_COSINE
    assert cosine >= least, f"{name}: gradient cosine {cosine:.4f}"
    ratio = bf_grad.norm() / ref_grad.norm()
    assert abs(ratio - 1) <= GRAD_NORM_RTOL, f"{name}: gradient norm ratio {ratio:.4f}"


def _under_bf16(fn: Callable[[], Any]) -> Any:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return fn()


def test_sensitive_outputs_stay_float32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    pool = build_component("SpatialSoftmax", {"input_shape": [8, 6, 6], "num_kp": 4}, kind="pool")
    assert _under_bf16(lambda: pool(torch.randn(2, 8, 6, 6))).dtype == torch.float32

    obs, acts = _obs(B), _actions(B)
    for name, extra in [("GMMActorNetwork", {"num_modes": 3}), ("GaussianActorNetwork", {})]:
        net = build_component(name, {**MLP, **extra}, kind="network")
        dist = _under_bf16(lambda net=net: net.forward_train(obs))
        assert dist.mean.dtype == torch.float32, name
        assert dist.sample().dtype == torch.float32, name
        assert dist.log_prob(acts).dtype == torch.float32, name

    q_net = build_component(
        "DistributionalActionValueNetwork",
        {**MLP, "value_bounds": [-1.0, 1.0], "num_atoms": 21},
        kind="network",
    )
    q_dist = _under_bf16(lambda: q_net.forward_train(obs, acts))
    # 0.1 is an atom; bf16 would store it as 0.10009765625
    assert q_dist.values[0, 11].item() == pytest.approx(0.1, abs=1e-7)
    assert q_dist.mean().dtype == torch.float32

    vae = build_component(
        "VAE", {**VAE, "prior_learn": True, "prior_use_gmm": True}, kind="network"
    )
    inputs = {"action": acts}
    out = _under_bf16(lambda: vae(inputs=inputs, outputs=inputs, conditions=obs))
    assert out["encoder_z"].dtype == torch.float32
    assert out["kl_loss"].dtype == torch.float32
