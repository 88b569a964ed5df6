"""forward runs the module tree as it is at call time (issue 10 §1).

Downstream code edits built networks with plain PyTorch idioms: ``setattr``,
``module_dict[key] = ...``, ``module_list[i] = ...``, ``sequential[i] = ...``, deep copies (EMA),
``.to()``, ``.train()`` / ``.eval()``. For every container, each test replaces a nested module
after construction and checks with forward hooks that ``forward`` runs the new module and
never the old one, in train and eval mode, and that a deep copy runs its own modules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

from obsnets.bases import EncoderCore
from obsnets.blocks import MLP
from obsnets.encoders import ObservationDecoder, ObservationEncoder, ObservationGroupEncoder
from obsnets.errors import ConfigError
from obsnets.mimo import MIMO_MLP, RNN_MIMO_MLP

visual = pytest.importorskip("obsnets_visual")
randomizers = pytest.importorskip("obsnets_randomizers")

IMAGE = [3, 12, 12]


class LiveTreeCore(EncoderCore):
    """Flatten + Linear."""

    def __init__(self, input_shape, out_dim=4):
        super().__init__(input_shape)
        self.out_dim = out_dim
        self.lin = nn.Linear(int(torch.tensor(self.input_shape).prod()), out_dim)

    def output_shape(self, input_shape=None):
        return [self.out_dim]

    def forward(self, inputs):
        return self.lin(inputs.flatten(1))


def _encoder() -> ObservationEncoder:
    torch.manual_seed(0)
    enc = ObservationEncoder()
    enc.register_obs_key("pos", [3])
    enc.register_obs_key(
        "cam",
        IMAGE,
        net_class=LiveTreeCore,
        randomizers=randomizers.CropRandomizer(input_shape=IMAGE, crop_height=8, crop_width=8),
    )
    enc.make()
    return enc


def _obs(batch: int = 2, steps: int | None = None) -> dict[str, torch.Tensor]:
    lead = (batch,) if steps is None else (batch, steps)
    return {"pos": torch.randn(*lead, 3), "cam": torch.rand(*lead, *IMAGE)}


MODALITIES = {"rgb": ["cam"], "low_dim": ["pos"]}
ENCODER_KWARGS = {"rgb": {"core_class": LiveTreeCore, "core_kwargs": {"out_dim": 4}}}
GROUPS = {"obs": {"pos": [3], "cam": IMAGE}}


def _mimo() -> MIMO_MLP:
    torch.manual_seed(0)
    return MIMO_MLP(
        GROUPS,
        {"action": [2], "grid": [2, 2]},
        layer_dims=[8],
        encoder_kwargs=ENCODER_KWARGS,
        obs_modalities=MODALITIES,
    )


def _rnn(per_step: bool = True, dims=(8,)) -> RNN_MIMO_MLP:
    torch.manual_seed(0)
    return RNN_MIMO_MLP(
        GROUPS,
        {"action": [2]},
        mlp_layer_dims=dims,
        rnn_hidden_dim=6,
        rnn_num_layers=1,
        per_step=per_step,
        encoder_kwargs=ENCODER_KWARGS,
        obs_modalities=MODALITIES,
    )


def _visual_core() -> nn.Module:
    torch.manual_seed(0)
    return visual.VisualCore(IMAGE, backbone_class="ShallowConv", feature_dimension=5)


def _film_core() -> nn.Module:
    torch.manual_seed(0)
    return visual.VisualCoreLanguageConditioned(
        [3, 32, 32], backbone_kwargs={"lang_emb_dim": 4}, feature_dimension=5
    )


def _scan_core() -> nn.Module:
    scan = pytest.importorskip("obsnets_scan")
    torch.manual_seed(0)
    return scan.ScanCore(
        [1, 40],
        conv_kwargs={"out_channels": [4], "kernel_size": [4], "stride": [2]},
        pool_class="SpatialSoftmax",
        pool_kwargs={"num_kp": 3},
        feature_dimension=5,
    )


def _actor() -> nn.Module:
    policy = pytest.importorskip("obsnets_policy")
    torch.manual_seed(0)
    return policy.RNNGMMActorNetwork(
        obs_shapes=GROUPS["obs"],
        ac_dim=2,
        mlp_layer_dims=[8],
        rnn_hidden_dim=6,
        rnn_num_layers=1,
        num_modes=2,
        encoder_kwargs=ENCODER_KWARGS,
        obs_modalities=MODALITIES,
    )


@dataclass(frozen=True)
class Case:
    """A container, how to run it, and the nested modules a client might replace."""

    build: Callable[[], nn.Module]
    run: Callable[[nn.Module], Any]
    swaps: dict[str, tuple[Callable[[nn.Module], nn.Module], Callable[[nn.Module, Any], None]]]


def _set_item(container: Callable[[nn.Module], Any], key: Any):
    def setter(net: nn.Module, module: nn.Module) -> None:
        container(net)[key] = module

    return setter


CASES: dict[str, Case] = {
    "ObservationEncoder": Case(
        _encoder,
        lambda net: net(_obs()),
        {
            "obs_nets[key]": (lambda n: n.obs_nets["cam"], _set_item(lambda n: n.obs_nets, "cam")),
            "core.lin (setattr)": (
                lambda n: n.obs_nets["cam"].lin,
                lambda n, m: setattr(n.obs_nets["cam"], "lin", m),
            ),
            "obs_randomizers[key][0]": (
                lambda n: n.obs_randomizers["cam"][0],
                _set_item(lambda n: n.obs_randomizers["cam"], 0),
            ),
            "activation": (lambda n: n.activation, lambda n, m: setattr(n, "activation", m)),
        },
    ),
    "ObservationGroupEncoder": Case(
        lambda: ObservationGroupEncoder(
            GROUPS, encoder_kwargs=ENCODER_KWARGS, obs_modalities=MODALITIES
        ),
        lambda net: net(obs=_obs()),
        {"nets[group]": (lambda n: n.nets["obs"], _set_item(lambda n: n.nets, "obs"))},
    ),
    "ObservationDecoder": Case(
        lambda: ObservationDecoder({"action": [2], "grid": [2, 2]}, input_feat_dim=5),
        lambda net: net(torch.randn(2, 5)),
        {"nets[key]": (lambda n: n.nets["grid"], _set_item(lambda n: n.nets, "grid"))},
    ),
    "MIMO_MLP": Case(
        _mimo,
        lambda net: net(obs=_obs()),
        {
            "nets['mlp']": (lambda n: n.nets["mlp"], _set_item(lambda n: n.nets, "mlp")),
            "mlp._model[0] (Sequential index)": (
                lambda n: n.nets["mlp"]._model[0],
                _set_item(lambda n: n.nets["mlp"]._model, 0),
            ),
            "decoder head": (
                lambda n: n.nets["decoder"].nets["action"],
                _set_item(lambda n: n.nets["decoder"].nets, "action"),
            ),
            "encoder core": (
                lambda n: n.nets["encoder"].nets["obs"].obs_nets["cam"],
                _set_item(lambda n: n.nets["encoder"].nets["obs"].obs_nets, "cam"),
            ),
        },
    ),
    "RNN_MIMO_MLP per_step": Case(
        _rnn,
        lambda net: net(obs=_obs(steps=3)),
        {
            "nets['decoder']": (
                lambda n: n.nets["decoder"],
                _set_item(lambda n: n.nets, "decoder"),
            ),
            "nets['mlp']": (lambda n: n.nets["mlp"], _set_item(lambda n: n.nets, "mlp")),
            "nets['rnn'].nets": (
                lambda n: n.nets["rnn"].nets,
                lambda n, m: setattr(n.nets["rnn"], "nets", m),
            ),
        },
    ),
    "RNN_MIMO_MLP last step": Case(
        lambda: _rnn(per_step=False),
        lambda net: net(obs=_obs(steps=3)),
        {"nets['decoder']": (lambda n: n.nets["decoder"], _set_item(lambda n: n.nets, "decoder"))},
    ),
    "RNNGMMActorNetwork": Case(
        _actor,
        lambda net: net.forward_train(_obs(steps=3)).mean,
        {
            "decoder head": (
                lambda n: n.nets["decoder"].nets["mean"],
                _set_item(lambda n: n.nets["decoder"].nets, "mean"),
            ),
            "nets['mlp']": (lambda n: n.nets["mlp"], _set_item(lambda n: n.nets, "mlp")),
        },
    ),
    "VisualCore": Case(
        _visual_core,
        lambda net: net(torch.rand(2, *IMAGE)),
        {
            "backbone (setattr)": (
                lambda n: n.backbone,
                lambda n, m: setattr(n, "backbone", m),
            ),
            "nets[0]": (lambda n: n.nets[0], _set_item(lambda n: n.nets, 0)),
            "pool (setattr)": (lambda n: n.pool, lambda n, m: setattr(n, "pool", m)),
            "nets[1]": (lambda n: n.nets[1], _set_item(lambda n: n.nets, 1)),
        },
    ),
    "VisualCoreLanguageConditioned": Case(
        _film_core,
        lambda net: net(torch.rand(2, 3, 32, 32), lang_emb=torch.randn(2, 4)),
        {
            "backbone (setattr)": (
                lambda n: n.backbone,
                lambda n, m: setattr(n, "backbone", m),
            ),
            "nets[1] (pool)": (lambda n: n.nets[1], _set_item(lambda n: n.nets, 1)),
        },
    ),
    "ScanCore": Case(
        _scan_core,
        lambda net: net(torch.rand(2, 1, 40)),
        {
            "backbone (setattr)": (
                lambda n: n.backbone,
                lambda n, m: setattr(n, "backbone", m),
            ),
            "pool (setattr)": (lambda n: n.pool, lambda n, m: setattr(n, "pool", m)),
            "nets[0]": (lambda n: n.nets[0], _set_item(lambda n: n.nets, 0)),
        },
    ),
}

SWAPS = [(case, swap) for case, spec in CASES.items() for swap in spec.swaps]


def _calls(module: nn.Module) -> list[int]:
    """Records each call of ``module`` (a randomizer: each ``forward_in``, which hooks miss)."""
    calls: list[int] = []
    if hasattr(module, "forward_in"):
        forward_in = module.forward_in

        def counted(*args, **kwargs):
            calls.append(1)
            return forward_in(*args, **kwargs)

        module.forward_in = counted
    else:
        module.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(("case", "swap"), SWAPS, ids=[f"{c}-{s}" for c, s in SWAPS])
def test_forward_runs_the_replaced_module_and_never_the_old_one(case, swap, mode):
    spec = CASES[case]
    get, put = spec.swaps[swap]
    net = spec.build()
    old = get(net)
    new = copy.deepcopy(old)
    put(net, new)
    assert get(net) is new
    getattr(net, mode)()
    old_calls, new_calls = _calls(old), _calls(new)
    with torch.no_grad():
        spec.run(net)
    assert new_calls and not old_calls
    assert new.training == (mode == "train")  # the replacement receives .train() / .eval()
    assert any(m is new for m in net.modules()) and not any(m is old for m in net.modules())


@pytest.mark.parametrize(("case", "swap"), SWAPS, ids=[f"{c}-{s}" for c, s in SWAPS])
def test_a_deep_copy_runs_its_own_modules(case, swap):
    spec = CASES[case]
    get, put = spec.swaps[swap]
    original = spec.build().eval()
    twin = copy.deepcopy(original)
    original_calls, twin_calls = _calls(get(original)), _calls(get(twin))
    with torch.no_grad():
        spec.run(twin)
    assert twin_calls and not original_calls
    with torch.no_grad():
        spec.run(original)
    assert original_calls
    replacement = copy.deepcopy(get(twin))
    put(twin, replacement)
    replacement_calls = _calls(replacement)
    with torch.no_grad():
        spec.run(original)
    assert not replacement_calls


def test_encoder_output_is_computed_by_the_replaced_core_and_activation():
    enc = _encoder().eval()
    obs = _obs()
    new_core = LiveTreeCore([*IMAGE[:1], 8, 8])
    enc.obs_nets["cam"] = new_core
    enc.activation = nn.Tanh()
    crop = enc.obs_randomizers["cam"][0]
    with torch.no_grad():
        expected = torch.cat([obs["pos"], torch.tanh(new_core(crop.forward_in(obs["cam"])))], -1)
        torch.testing.assert_close(enc(obs), expected, rtol=0, atol=0)
        enc.activation = None
        expected = torch.cat([obs["pos"], new_core(crop.forward_in(obs["cam"]))], -1)
        torch.testing.assert_close(enc(obs), expected, rtol=0, atol=0)


def test_a_randomizer_replaced_by_a_subclass_gets_eval_and_stops_cropping_randomly(
    isolated_registry,
):
    class ClientCrop(randomizers.CropRandomizer):
        """A client's own crop (e.g. one that logs), put in place of obsnets'."""

    enc = _encoder()
    enc.obs_randomizers["cam"][0] = ClientCrop(input_shape=IMAGE, crop_height=8, crop_width=8)
    obs = _obs(batch=4)
    seen: list[torch.Tensor] = []
    enc.obs_nets["cam"].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    enc.train()
    with torch.no_grad():
        torch.manual_seed(1)
        enc(obs)
        torch.manual_seed(2)
        enc(obs)
    assert not torch.equal(seen[0], seen[1])  # random crops while training
    enc.eval()
    assert not enc.obs_randomizers["cam"][0].training
    with torch.no_grad():
        enc(obs)
        enc(obs)
    centre = obs["cam"][:, :, 2:10, 2:10]
    torch.testing.assert_close(seen[2], centre, rtol=0, atol=0)
    torch.testing.assert_close(seen[3], centre, rtol=0, atol=0)


def test_a_single_randomizer_in_place_of_the_list_runs():
    enc = _encoder().eval()
    crop = randomizers.CropRandomizer(input_shape=IMAGE, crop_height=8, crop_width=8)
    enc.obs_randomizers["cam"] = crop
    calls = _calls(enc.obs_nets["cam"])
    with torch.no_grad():
        out = enc(_obs())
    assert out.shape == (2, 3 + 4) and calls


def test_to_float64_moves_every_module_forward_runs():
    for net, run in (
        (_encoder(), lambda n: n({k: v.double() for k, v in _obs().items()})),
        (_mimo(), lambda n: n(obs={k: v.double() for k, v in _obs().items()})["grid"]),
        (_visual_core(), lambda n: n(torch.rand(2, *IMAGE, dtype=torch.float64))),
    ):
        net.to(torch.float64)
        with torch.no_grad():
            assert run(net).dtype == torch.float64
        assert all(
            p.dtype == torch.float64 for p in net.state_dict().values() if p.is_floating_point()
        )


def test_replacing_every_batchnorm_by_groupnorm_in_a_built_encoder_takes_effect():
    torch.manual_seed(0)
    net = MIMO_MLP(
        {"obs": {"cam": [3, 32, 32]}},
        {"action": [2]},
        layer_dims=[8],
        encoder_kwargs={
            "rgb": {
                "core_class": "VisualCore",
                "core_kwargs": {"backbone_class": "ResNet18Conv", "feature_dimension": 8},
            }
        },
        obs_modalities={"rgb": ["cam"]},
    )
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, nn.GroupNorm(4, child.num_features))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    norms = [m for m in net.modules() if isinstance(m, nn.GroupNorm)]
    calls = [_calls(m) for m in norms]
    net.train()
    with torch.no_grad():
        net(obs={"cam": torch.rand(1, 3, 32, 32)})
    assert len(norms) == 20 and all(c == [1] for c in calls)
    state = net.state_dict()
    assert not any("running_mean" in k for k in state)
    core = "nets.encoder.nets.obs.obs_nets.cam."
    assert state[core + "backbone.nets.1.weight"] is state[core + "nets.0.nets.1.weight"]


def test_visual_core_names_stay_robomimics_after_a_replacement_and_share_tensors():
    core = _visual_core()
    keys = list(core.state_dict())
    core.backbone = copy.deepcopy(core.backbone)
    assert core.nets[0] is core.backbone
    state = core.state_dict(keep_vars=True)
    assert list(state) == keys
    assert keys[0].startswith("backbone.") and keys[-1] == "nets.3.bias"
    for key in keys:
        if key.startswith(("backbone.", "pool.")):
            alias = "nets.0." if key.startswith("backbone.") else "nets.1."
            assert state[key] is state[alias + key.split(".", 1)[1]]
    assert [n for n, _ in core.named_children()] == ["nets"]  # registered once


def test_aliased_state_dicts_load_strictly_from_either_name_or_both():
    source, target = _visual_core(), _visual_core()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(1.0)
    full = source.state_dict()
    x = torch.rand(2, *IMAGE)
    for given in (
        full,
        {k: v for k, v in full.items() if not k.startswith(("backbone.", "pool."))},
        {k: v for k, v in full.items() if not k.startswith(("nets.0.", "nets.1."))},
    ):
        fresh = copy.deepcopy(target)
        result = fresh.load_state_dict(given, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        torch.testing.assert_close(fresh.eval()(x), source.eval()(x), rtol=0, atol=0)
    conflicting = dict(full)
    conflicting["backbone.nets.0.weight"] = full["backbone.nets.0.weight"] + 1.0
    with pytest.raises(RuntimeError, match="hold different values"):
        copy.deepcopy(target).load_state_dict(conflicting, strict=True)


def test_rnn_per_step_aliases_follow_a_replaced_decoder():
    net = _rnn()
    keys = list(net.state_dict())
    new_decoder = ObservationDecoder({"action": [2]}, input_feat_dim=8)
    net.nets["decoder"] = new_decoder
    state = net.state_dict(keep_vars=True)
    assert list(state) == keys
    assert state["nets.rnn.per_step_net.1.nets.action.weight"] is new_decoder.nets["action"].weight
    assert net.nets["rnn"].per_step_net is None  # registered once, as nets["decoder"]
    fresh = _rnn()
    fresh.load_state_dict(net.state_dict(), strict=True)
    obs = _obs(steps=3)
    with torch.no_grad():
        torch.testing.assert_close(fresh(obs=obs)["action"], net(obs=obs)["action"])
    no_mlp = list(_rnn(dims=()).state_dict())
    assert "nets.rnn.per_step_net.nets.action.weight" in no_mlp
    assert not any("per_step_net" in k for k in _rnn(per_step=False).state_dict())


def test_replacing_a_missing_pool_or_with_a_non_module_is_a_clear_error():
    core = visual.VisualCore(IMAGE, backbone_class="ShallowConv", pool_class=None)
    assert core.pool is None
    with pytest.raises(ConfigError, match="without a pool"):
        core.pool = nn.Identity()
    with pytest.raises(ConfigError, match="backbone must be replaced by a torch module"):
        core.backbone = None


def test_an_mlp_nested_in_a_replaced_slot_keeps_its_output_shape():
    net = _mimo()
    net.nets["mlp"] = MLP(input_dim=7, output_dim=8, layer_dims=[5])  # 3 (pos) + 4 (cam)
    with torch.no_grad():
        out = net(obs=_obs())
    assert out["grid"].shape == (2, 2, 2)


def test_an_edited_aliased_core_saves_each_tensor_once_and_loads_back(tmp_path):
    from obsnets.saving import load, read_saved_config, save_pretrained

    core = _visual_core()
    core.pool = copy.deepcopy(core.pool)  # same architecture, new weights: the saved config holds
    core.nets[3] = nn.Linear(core.nets[3].in_features, 5)  # the constructor arguments
    with torch.no_grad():
        core.pool.nets.weight.add_(1.0)
    save_pretrained(core, tmp_path)
    config = read_saved_config(tmp_path)
    tied = config["weights"]["tied"]
    assert tied and all(
        k.startswith("nets.") and v.startswith(("backbone.", "pool.")) for k, v in tied.items()
    )
    loaded = load(tmp_path)
    x = torch.rand(2, *IMAGE)
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(x), core.eval()(x), rtol=0, atol=0)


def test_robomimic_loading_takes_both_names_strictly_and_refuses_disagreeing_aliases():
    robomimic = pytest.importorskip("obsnets_robomimic")
    source, target = _visual_core(), _visual_core()
    with torch.no_grad():
        for p in source.parameters():
            p.mul_(2.0)
    state = source.state_dict()
    robomimic.load_robomimic_state_dict(target, state)
    x = torch.rand(2, *IMAGE)
    with torch.no_grad():
        torch.testing.assert_close(target.eval()(x), source.eval()(x), rtol=0, atol=0)
    state["pool.nets.weight"] = state["pool.nets.weight"] + 1.0
    with pytest.raises(
        robomimic.StateDictMismatchError, match=r"pool\.nets\.weight = nets\.1\.nets\.weight"
    ):
        robomimic.load_robomimic_state_dict(_visual_core(), state)
