"""torch.compile on VisualCore and the MIMO wrappers; an exported policy acts like the eager one."""

from __future__ import annotations

import pytest
import torch

from obsnets import MIMO_MLP, RNN_MIMO_MLP, build_component

IMAGE = [3, 32, 32]
RGB = {
    "core_class": "VisualCore",
    "core_kwargs": {
        "backbone_class": "ShallowConv",
        "pool_class": "SpatialSoftmax",
        "pool_kwargs": {"num_kp": 4},
        "feature_dimension": 8,
    },
    "obs_randomizer_class": "CropRandomizer",
    "obs_randomizer_kwargs": {"crop_height": 28, "crop_width": 28},
}
MODALITIES = {"rgb": ["image"], "low_dim": ["pos"]}


def _obs(batch: int, steps: int | None = None) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    lead = [batch] if steps is None else [batch, steps]
    return {
        "image": torch.rand(*lead, *IMAGE, generator=generator),
        "pos": torch.randn(*lead, 2, generator=generator),
    }


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_compiled_visual_core_matches_eager_without_graph_breaks():
    torch.manual_seed(0)
    core = build_component(
        "VisualCore",
        {"input_shape": IMAGE, "backbone_class": "ShallowConv", "pool_kwargs": {"num_kp": 4}},
        kind="encoder_core",
    ).eval()
    compiled = torch.compile(core, backend="aot_eager", fullgraph=True)
    x = _obs(3)["image"]
    torch.testing.assert_close(compiled(x), core(x))


def test_compiled_mimo_mlp_trains_like_eager():
    torch.manual_seed(0)
    net = MIMO_MLP(
        {"obs": {"image": IMAGE, "pos": [2]}},
        {"action": [2]},
        [16],
        encoder_kwargs={"rgb": RGB, "low_dim": {"core_class": None}},
        obs_modalities=MODALITIES,
    ).eval()
    compiled = torch.compile(net, backend="aot_eager", fullgraph=True)
    obs = _obs(4)
    eager_out = net(obs=obs)["action"]
    compiled_out = compiled(obs=obs)["action"]
    torch.testing.assert_close(compiled_out, eager_out)
    compiled_out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


# Dynamo itself reads ``.grad`` of the LSTM's non-leaf outputs while tracing (a torch quirk).
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_compiled_rnn_mimo_mlp_matches_eager():
    torch.manual_seed(0)
    net = RNN_MIMO_MLP(
        {"obs": {"pos": [2]}},
        {"action": [2]},
        mlp_layer_dims=[8],
        rnn_hidden_dim=8,
        rnn_num_layers=1,
        obs_modalities={"low_dim": ["pos"]},
    )
    net.eval()
    compiled = torch.compile(net, backend="aot_eager")
    obs = {"pos": _obs(2, steps=5)["pos"]}
    torch.testing.assert_close(compiled(obs=obs)["action"], net(obs=obs)["action"])


class _Inference(torch.nn.Module):
    """What a robot runs: observations in, actions out (eval mode, no sampling)."""

    def __init__(self, policy: torch.nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, image: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return self.policy(obs_dict={"image": image, "pos": pos})


def test_exported_policy_gives_the_eager_actions():
    torch.manual_seed(0)
    policy = build_component(
        "ActorNetwork",
        {
            "obs_shapes": {"image": IMAGE, "pos": [2]},
            "ac_dim": 2,
            "mlp_layer_dims": [16],
            "encoder_kwargs": {"rgb": RGB, "low_dim": {"core_class": None}},
            "obs_modalities": MODALITIES,
        },
        kind="network",
    ).eval()
    wrapper = _Inference(policy)
    obs = _obs(3)
    exported = torch.export.export(wrapper, (obs["image"], obs["pos"]))
    other = _obs(3)
    other = {k: v.flip(0) for k, v in other.items()}
    for sample in (obs, other):
        torch.testing.assert_close(
            exported.module()(sample["image"], sample["pos"]),
            wrapper(sample["image"], sample["pos"]),
        )
