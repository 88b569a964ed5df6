"""Every first-party component through the conformance suite (obsnets.testing).

``CONFORMANCE_CASES`` holds small example arguments and inputs for every component of
obsnets' own plugins and of the core; ``conformance_params`` turns it into one test per case
and check (a plugin's own tests get the same from the ``obsnets_conformance`` fixture; here a
component whose distribution is not installed is skipped with the reason instead).
``test_every_first_party_component_has_a_case`` makes a new component without an entry here
fail the suite. The tests at the end check the suite itself: each check catches what it is
for.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from obsnets import ConvBase, EncoderCore, Randomizer, register
from obsnets.catalog import FIRST_PARTY_COMPONENTS
from obsnets.registry import registry
from obsnets.testing import (
    CHECKS,
    ConformanceCase,
    check_component,
    conformance_params,
    run_check,
)

B_OBS = {"eef_pos": [3], "object": [5]}
GOAL = {"object": [5]}
IMAGE = [3, 16, 16]
T = 3  # sequence length of the RNN networks' inputs


def obs(batch_size, shapes=None, steps=None):
    lead = (batch_size,) if steps is None else (batch_size, steps)
    return {k: torch.randn(*lead, *s) for k, s in (shapes or B_OBS).items()}


def actor_inputs(batch_size):
    return {"obs_dict": obs(batch_size), "goal_dict": obs(batch_size, GOAL)}


def sequence_inputs(batch_size):
    return {"obs_dict": obs(batch_size, steps=T)}


def action_inputs(batch_size):
    return {"obs_dict": obs(batch_size), "acts": torch.rand(batch_size, 2) * 2 - 1}


def log_likelihood(module, inputs):
    """For networks whose forward samples: the log-likelihood of fixed actions."""
    actions = torch.linspace(-0.5, 0.5, 2).expand(len(inputs["obs_dict"]["eef_pos"]), 2)
    if "rnn" in type(module).__name__.lower():
        actions = actions[:, None].expand(-1, T, -1)
    return module.forward_train(**inputs).log_prob(actions).sum()


def vae_actor_loss(module, inputs):
    """VAEActor.forward decodes a prior sample; training runs the encoder too."""
    out = module.forward_train(torch.zeros(len(inputs["obs_dict"]["eef_pos"]), 2), **inputs)
    return out["kl_loss"] + out["reconstruction_loss"]


VISUAL_CORE = {
    "input_shape": IMAGE,
    "backbone_class": "ShallowConv",
    "pool_class": "SpatialSoftmax",
    "pool_kwargs": {"num_kp": 4},
    "feature_dimension": 8,
}
IMAGE_ENCODER = {
    "rgb": {
        "core_class": "VisualCore",
        "core_kwargs": {k: v for k, v in VISUAL_CORE.items() if k != "input_shape"},
        "obs_randomizer_class": "CropRandomizer",
        "obs_randomizer_kwargs": {"crop_height": 12, "crop_width": 12},
    }
}
ACTOR = {"obs_shapes": B_OBS, "ac_dim": 2, "mlp_layer_dims": [16]}
RNN = {**ACTOR, "rnn_hidden_dim": 8, "rnn_num_layers": 1}
SAMPLES = {"deterministic_eval": False, "loss": log_likelihood}
DICT_NET = {"kind": "network", "inputs_factory": actor_inputs}

CONFORMANCE_CASES = [
    # -- obsnets-visual ----------------------------------------------------------------------
    ConformanceCase("VisualCore", kwargs=VISUAL_CORE, input_shapes=[IMAGE], kind="encoder_core"),
    ConformanceCase(
        "VisualCore",
        kwargs={
            "input_shape": [3, 16, 16],
            "backbone_class": "ShallowConv",
            "pool_class": "SpatialMeanPool",
            "feature_dimension": None,
        },
        input_shapes=[(3, 16, 16)],
        id="VisualCore-mean-pool-no-projection",
    ),
    ConformanceCase(
        "VisualCoreLanguageConditioned",
        kwargs={
            **VISUAL_CORE,
            "backbone_class": "ResNet18ConvFiLM",
            "backbone_kwargs": {"lang_emb_dim": 6},
        },
        input_shapes=[IMAGE],
        extra_inputs=lambda b: {"lang_emb": torch.randn(b, 6)},
        batch_sizes=(2,),
    ),
    ConformanceCase(
        "ResNet18Conv",
        kwargs={"input_channel": 3},
        input_shapes=[(3, 32, 32), (3, 45, 37)],
        kind="backbone",
    ),
    ConformanceCase(
        "ResNet18Conv",
        kwargs={"input_channel": 2, "input_coord_conv": True},
        input_shapes=[(2, 32, 32), (2, 40, 24)],
        batch_sizes=(2,),
        id="ResNet18Conv-coord-conv",
    ),
    ConformanceCase("ResNet50Conv", input_shapes=[(3, 32, 32)], batch_sizes=(2,), kind="backbone"),
    ConformanceCase(
        "ShallowConv",
        kwargs={"input_channel": 3, "output_channel": 16},
        input_shapes=[(3, 16, 16), (3, 17, 13)],
        kind="backbone",
    ),
    ConformanceCase(
        "ResNet18ConvFiLM",
        kwargs={"lang_emb_dim": 6},
        input_shapes=[(3, 32, 32), (3, 40, 36)],
        extra_inputs=lambda b: {"lang_emb": torch.randn(b, 6)},
        batch_sizes=(2,),
        kind="backbone",
    ),
    ConformanceCase(
        "FiLMLayer",
        kwargs={"lang_emb_dim": 6, "channels": 4},
        input_shapes=[(4, 5, 5), (4, 3, 7)],
        extra_inputs=lambda b: {"lang_emb": torch.randn(b, 6)},
        kind="backbone",
    ),
    ConformanceCase(
        "TorchvisionConv",
        kwargs={"model_name": "mobilenet_v3_small"},
        input_shapes=[(3, 32, 32)],
        kind="backbone",
    ),
    ConformanceCase(
        "SpatialSoftmax",
        kwargs={"input_shape": [8, 5, 6], "num_kp": 4},
        input_shapes=[(8, 5, 6)],
        kind="pool",
    ),
    ConformanceCase(
        "SpatialSoftmax",
        kwargs={
            "input_shape": [8, 4, 4],
            "num_kp": None,
            "learnable_temperature": True,
            "noise_std": 0.1,
        },
        input_shapes=[(8, 4, 4)],
        id="SpatialSoftmax-learnable-noisy",
    ),
    ConformanceCase(
        "SpatialMeanPool", kwargs={"input_shape": [8, 5, 6]}, input_shapes=[(8, 5, 6)], kind="pool"
    ),
    ConformanceCase(
        "FeatureAggregator",
        kwargs={"dim": 1, "agg_type": "avg"},
        input_shapes=[(4, 6), (7, 2, 3)],
        kind="pool",
    ),
    # -- obsnets-timm ------------------------------------------------------------------------
    ConformanceCase(
        "TimmConv",
        kwargs={"model_name": "test_resnet"},
        input_shapes=[(3, 32, 32), (3, 40, 36)],
        kind="backbone",
    ),
    # -- obsnets-scan ------------------------------------------------------------------------
    ConformanceCase(
        "ScanCore", kwargs={"input_shape": [1, 120]}, input_shapes=[(1, 120)], kind="encoder_core"
    ),
    ConformanceCase(
        "ScanCore",
        kwargs={
            "input_shape": [2, 60],
            "conv_kwargs": {"out_channels": [8, 8], "kernel_size": [4, 2], "stride": [2, 1]},
            "pool_class": "SpatialSoftmax",
            "pool_kwargs": {"num_kp": 4},
            "feature_dimension": 8,
        },
        input_shapes=[(2, 60)],
        id="ScanCore-spatial-softmax",
    ),
    ConformanceCase(
        "Conv1dBase", kwargs={"input_channel": 2}, input_shapes=[(2, 120), (2, 97)], kind="backbone"
    ),
    # -- obsnets-randomizers -----------------------------------------------------------------
    ConformanceCase(
        "CropRandomizer",
        kwargs={"input_shape": [3, 20, 18], "crop_height": 16, "crop_width": 12, "num_crops": 3},
        input_shapes=[(3, 20, 18)],
        kind="randomizer",
    ),
    ConformanceCase(
        "CropRandomizer",
        kwargs={"input_shape": [2, 12, 12], "crop_height": 8, "crop_width": 8, "pos_enc": True},
        input_shapes=[(2, 12, 12)],
        id="CropRandomizer-pos-enc",
    ),
    ConformanceCase(
        "ColorRandomizer",
        kwargs={"input_shape": [3, 8, 8], "num_samples": 2},
        input_shapes=[(3, 8, 8)],
        kind="randomizer",
    ),
    ConformanceCase(
        "GaussianNoiseRandomizer",
        kwargs={"input_shape": [4], "noise_std": 0.2, "num_samples": 2, "limits": [0.0, 1.0]},
        input_shapes=[(4,)],
        kind="randomizer",
    ),
    # -- core networks -----------------------------------------------------------------------
    ConformanceCase(
        "MIMO_MLP",
        kwargs={
            "input_obs_group_shapes": {"obs": {**B_OBS, "image": IMAGE}, "goal": GOAL},
            "output_shapes": {"action": [2], "gripper": [1, 2]},
            "layer_dims": [16, 16],
            "encoder_kwargs": IMAGE_ENCODER,
            "obs_modalities": {"rgb": ["image"], "low_dim": ["eef_pos", "object"]},
        },
        inputs_factory=lambda b: {
            "obs": {**obs(b), "image": torch.rand(b, *IMAGE)},
            "goal": obs(b, GOAL),
        },
        kind="network",
    ),
    ConformanceCase(
        "RNN_MIMO_MLP",
        kwargs={
            "input_obs_group_shapes": {"obs": B_OBS},
            "output_shapes": {"action": [2]},
            "mlp_layer_dims": [16],
            "rnn_hidden_dim": 8,
            "rnn_num_layers": 2,
            "rnn_kwargs": {"bidirectional": True},
        },
        inputs_factory=lambda b: {"obs": obs(b, steps=T)},
        output_shape_input={"obs": {k: [T, *s] for k, s in B_OBS.items()}},
        kind="network",
    ),
    ConformanceCase(
        "ObservationGroupEncoder",
        kwargs={"observation_group_shapes": {"obs": B_OBS, "goal": GOAL}},
        inputs_factory=lambda b: {"obs": obs(b), "goal": obs(b, GOAL)},
        kind="network",
    ),
    ConformanceCase(
        "ObservationEncoder",
        kwargs={
            "feature_activation": "ReLU",
            "obs_keys": {
                "image": {
                    "shape": IMAGE,
                    "net_class": "VisualCore",
                    "net_kwargs": VISUAL_CORE,
                    "randomizers": [
                        {
                            "class": "CropRandomizer",
                            "kwargs": {"input_shape": IMAGE, "crop_height": 12, "crop_width": 12},
                        }
                    ],
                },
                "eef_pos": {
                    "shape": [3],
                    "net": {
                        "class": "MLP",
                        "kwargs": {"input_dim": 3, "output_dim": 4, "layer_dims": [5]},
                    },
                },
                "eef_pos_too": {"shape": [3], "share_net_from": "eef_pos"},
            },
        },
        inputs_factory=lambda b: {
            "obs_dict": {
                "image": torch.rand(b, *IMAGE),
                "eef_pos": torch.randn(b, 3),
                "eef_pos_too": torch.randn(b, 3),
            }
        },
        kind="network",
    ),
    ConformanceCase(
        "MLP",
        kwargs={"input_dim": 4, "output_dim": 3, "layer_dims": [8], "dropouts": [0.1]},
        input_shapes=[(4,), (2, 4)],
        kind="network",
    ),
    ConformanceCase(
        "ObservationDecoder",
        kwargs={"decode_shapes": {"action": [2], "pose": [2, 3]}, "input_feat_dim": 6},
        input_shapes=[(6,)],
        kind="network",
    ),
    # -- obsnets-policy ----------------------------------------------------------------------
    ConformanceCase("ActorNetwork", kwargs={**ACTOR, "goal_shapes": GOAL}, **DICT_NET),
    ConformanceCase(
        "PerturbationActorNetwork", kwargs=ACTOR, inputs_factory=action_inputs, kind="network"
    ),
    ConformanceCase(
        "GaussianActorNetwork", kwargs={**ACTOR, "goal_shapes": GOAL}, **DICT_NET, **SAMPLES
    ),
    ConformanceCase(
        "GMMActorNetwork",
        kwargs={**ACTOR, "goal_shapes": GOAL, "num_modes": 3},
        **DICT_NET,
        **SAMPLES,
    ),
    ConformanceCase(
        "RNNActorNetwork",
        kwargs=RNN,
        inputs_factory=sequence_inputs,
        output_shape_input={k: [T, *s] for k, s in B_OBS.items()},
        kind="network",
    ),
    ConformanceCase(
        "RNNGMMActorNetwork",
        kwargs={**RNN, "num_modes": 2},
        inputs_factory=sequence_inputs,
        output_shape_input={k: [T, *s] for k, s in B_OBS.items()},
        kind="network",
        **SAMPLES,
    ),
    ConformanceCase(
        "VAEActor",
        kwargs={
            **{k: v for k, v in ACTOR.items() if k != "mlp_layer_dims"},
            "encoder_layer_dims": [16],
            "decoder_layer_dims": [16],
            "latent_dim": 3,
            "device": "cpu",
            "prior_learn": True,
            "prior_is_conditioned": True,
            "prior_layer_dims": [8],
        },
        **{**DICT_NET, "inputs_factory": lambda b: {"obs_dict": obs(b)}},
        deterministic_eval=False,
        loss=vae_actor_loss,
    ),
    # -- obsnets-value -----------------------------------------------------------------------
    ConformanceCase(
        "ValueNetwork",
        kwargs={
            "obs_shapes": B_OBS,
            "mlp_layer_dims": [16],
            "value_bounds": [-2.0, 3.0],
            "goal_shapes": GOAL,
        },
        **DICT_NET,
    ),
    ConformanceCase(
        "ActionValueNetwork",
        kwargs={**ACTOR, "value_bounds": [0.0, 1.0]},
        inputs_factory=action_inputs,
        kind="network",
    ),
    ConformanceCase(
        "DistributionalActionValueNetwork",
        kwargs={**ACTOR, "value_bounds": [-1.0, 1.0], "num_atoms": 7},
        inputs_factory=action_inputs,
        kind="network",
    ),
    # -- obsnets-vae -------------------------------------------------------------------------
    ConformanceCase(
        "VAE",
        kwargs={
            "input_shapes": {"action": [2]},
            "output_shapes": {"action": [2]},
            "encoder_layer_dims": [16],
            "decoder_layer_dims": [16],
            "latent_dim": 3,
            "condition_shapes": B_OBS,
            "prior_learn": True,
            "prior_use_gmm": True,
            "prior_gmm_num_modes": 2,
            "prior_gmm_learn_weights": True,
        },
        inputs_factory=lambda b: {
            "inputs": {"action": torch.rand(b, 2)},
            "outputs": {"action": torch.rand(b, 2)},
            "conditions": obs(b),
        },
        deterministic_eval=False,
        skip={
            "output_shape": "forward returns the posterior, the reconstructions and the "
            "losses; output_shape describes the reconstructions (checked in plugins/vae)"
        },
        kind="network",
    ),
    ConformanceCase(
        "GaussianPrior",
        kwargs={
            "latent_dim": 3,
            "learnable": True,
            "use_gmm": True,
            "gmm_num_modes": 2,
            "gmm_learn_weights": True,
        },
        inputs_factory=lambda b: {"batch_size": b},
        kind="prior",
    ),
    ConformanceCase(
        "GaussianPrior",
        kwargs={"latent_dim": 3, "learnable": True, "obs_shapes": B_OBS, "mlp_layer_dims": [8]},
        inputs_factory=lambda b: {"batch_size": b, "obs_dict": obs(b)},
        id="GaussianPrior-conditioned",
    ),
    ConformanceCase(
        "CategoricalPrior",
        kwargs={"latent_dim": 2, "categorical_dim": 3, "learnable": True},
        inputs_factory=lambda b: {"batch_size": b},
        kind="prior",
    ),
]

# Component name -> the first-party distribution providing it ("obsnets" for the core).
PROVIDERS = {name: dist for dist, names in FIRST_PARTY_COMPONENTS.items() for name in names}


def _installed(distribution):
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("case_and_check", conformance_params(CONFORMANCE_CASES))
def test_conformance(case_and_check):
    case, check = case_and_check
    distribution = PROVIDERS.get(case.name, "obsnets")
    if not _installed(distribution):
        pytest.skip(
            f"{distribution} is not installed, so {case.name} is not checked: run "
            f"'make install' (or pip install -e plugins/{distribution.removeprefix('obsnets-')})"
        )
    run_check(case, check)


def _first_party_entries():
    """Registry entries whose provider is a first-party distribution (the core included)."""
    return [e for e in registry.entries() if e.provider in FIRST_PARTY_COMPONENTS]


OWN_CASES_PLUGINS = ("transformer", "diffusion")
"""Plugins whose conformance cases live in their own tests folder (run there, not here)."""


def _own_case_names(plugin):
    path = Path(__file__).parents[1] / "plugins" / plugin / "tests"
    spec = importlib.util.spec_from_file_location(
        f"obsnets_tests_{plugin}_conformance", path / f"test_{plugin}_conformance.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {case.name for case in module.CONFORMANCE_CASES}


def test_every_first_party_component_has_a_case():
    cased = {c.name for c in CONFORMANCE_CASES}
    cased |= {name for plugin in OWN_CASES_PLUGINS for name in _own_case_names(plugin)}
    catalogued = {n for names in FIRST_PARTY_COMPONENTS.values() for n in names}
    registered = {e.name for e in _first_party_entries()}
    missing = sorted((catalogued | registered) - cased)
    assert not missing, (
        f"components without a conformance case: {missing}. Add a ConformanceCase with small "
        f"example kwargs and inputs to CONFORMANCE_CASES in {__file__}."
    )


def test_every_first_party_distribution_is_installed():
    missing = sorted(d for d in {*FIRST_PARTY_COMPONENTS, *PROVIDERS.values()} if not _installed(d))
    assert not missing, (
        f"{missing} not installed: their components' conformance tests were skipped. Run "
        f"'make install'."
    )


def test_core_networks_resolve_by_name_in_a_fresh_process():
    # A config names the core's networks without importing obsnets.mimo or obsnets.encoders.
    names = sorted(FIRST_PARTY_COMPONENTS["obsnets"])
    assert names, "no core component found"
    code = (
        "from obsnets import resolve_component\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    try: resolve_component(name)\n"
        "    except Exception as e: bad.append(f'{name}: {e}')\n"
        "print('\\n'.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", result.stdout


# -- the suite itself: each check catches what it is for ------------------------------------
# Components defined inside tests register in the isolated registry and disappear afterwards.
# Local classes do not pickle, so these tests run the checks other than "pickle" on them.


def _fails(case, check, *fragments):
    with pytest.raises(AssertionError) as info:
        run_check(case, check)
    message = str(info.value)
    assert message.startswith(f"{case.name} failed conformance check {check!r}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _halving_conv(round_up=True, dims_type=int):
    class ConfHalvingConv(ConvBase):
        """A stride-2 1x1 convolution: ``(B, C, H, W) -> (B, 4, ceil(H/2), ceil(W/2))``."""

        def __init__(self, input_channel=3):
            super().__init__()
            self.nets = nn.Sequential(nn.Conv2d(input_channel, 4, 1, stride=2), nn.BatchNorm2d(4))

        def output_shape(self, input_shape=None):
            half = (lambda n: -(-n // 2)) if round_up else (lambda n: n // 2)
            return [dims_type(4), dims_type(half(input_shape[1])), dims_type(half(input_shape[2]))]

    return ConfHalvingConv


def _image_case(cls, **extra):
    return ConformanceCase(cls, input_shapes=[(3, 8, 8), (3, 7, 5)], **extra)


def test_a_conforming_component_passes_every_check(isolated_registry):
    case = _image_case(_halving_conv(), kind="backbone")
    results = {r.check: r for r in check_component(case, [c for c in CHECKS if c != "pickle"])}
    assert {c: r.status for c, r in results.items() if c != "cuda"} == {
        c: "passed" for c in CHECKS if c not in ("pickle", "cuda")
    }
    expected_cuda = "passed" if torch.cuda.is_available() else "skipped"
    assert results["cuda"].status == expected_cuda, results["cuda"]


def test_output_shape_check_catches_a_wrong_formula_and_numpy_ints(isolated_registry):
    floor = _image_case(_halving_conv(round_up=False))
    _fails(floor, "output_shape", "says [4, 3, 2]", "returned (1, 4, 4, 3)", "(1, 3, 7, 5)")
    numpy_ints = _image_case(_halving_conv(dims_type=np.int64))
    _fails(numpy_ints, "output_shape", "a list of Python ints")


def test_strict_kwargs_check_catches_swallowed_and_mutated_kwargs(isolated_registry):
    class ConfSwallowingConv(_halving_conv()):
        def __init__(self, input_channel=3, **ignored):
            super().__init__(input_channel)

    _fails(_image_case(ConfSwallowingConv), "strict_kwargs", "'conformance_unknown_argument'")

    class ConfMutatingCore(EncoderCore):
        def __init__(self, input_shape, settings=None):
            super().__init__(input_shape)
            settings["input_channel"] = input_shape[0]  # robomimic's VisualCore did this
            self.nets = nn.Linear(input_shape[0], 2)

        def output_shape(self, input_shape=None):
            return [2]

        def forward(self, inputs):
            return self.nets(inputs)

    case = ConformanceCase(
        ConfMutatingCore, kwargs={"input_shape": [3], "settings": {}}, input_shapes=[(3,)]
    )
    _fails(case, "strict_kwargs", "changed the caller's kwargs")


def test_registration_check_catches_wrong_provider_kind_and_double_registration(
    isolated_registry,
):
    conv = _halving_conv()
    _fails(_image_case(conv, provider="obsnets-halving"), "registration", "expected distribution")
    _fails(
        _image_case(conv, kind="pool"), "registration", "registered as a backbone, expected a pool"
    )
    _fails(_image_case("ConfHalvingConv", kind="pool"), "registration", "does not resolve")
    register(conv, "pool")  # a plugin declaring it under another kind than its base's
    _fails(_image_case(conv), "registration", "several kinds")


def test_pickle_check_catches_a_class_that_does_not_pickle(isolated_registry):
    _fails(_image_case(_halving_conv()), "pickle", "the class does not pickle")


def test_train_eval_check_catches_random_eval_nan_and_stuck_submodules(isolated_registry):
    class ConfNoisyEvalRandomizer(Randomizer):
        def __init__(self, input_shape):
            super().__init__()

        def output_shape_in(self, input_shape=None):
            return list(input_shape)

        def output_shape_out(self, input_shape=None):
            return list(input_shape)

        def _forward_in(self, inputs):
            return inputs

        def _forward_out(self, inputs):
            return inputs

        def _forward_in_eval(self, inputs):
            return inputs + torch.randn_like(inputs)

    case = ConformanceCase(
        ConfNoisyEvalRandomizer, kwargs={"input_shape": [4]}, input_shapes=[(4,)]
    )
    _fails(case, "train_eval", "a second eval-mode forward on the same inputs")

    class ConfLogConv(_halving_conv()):
        def forward(self, inputs):
            return torch.log(self.nets(inputs) - 100.0)

    _fails(_image_case(ConfLogConv), "train_eval", "non-finite values")

    class ConfStuckConv(_halving_conv()):
        def train(self, mode=True):
            self.training = mode  # forgets its children
            return self

    _fails(_image_case(ConfStuckConv), "train_eval", "left submodules in train mode")


def test_gradients_check_names_parameters_without_gradient(isolated_registry):
    class ConfDetachedConv(_halving_conv()):
        def __init__(self, input_channel=3):
            super().__init__(input_channel)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, inputs):
            return self.nets(inputs) * self.scale.detach()

    _fails(_image_case(ConfDetachedConv), "gradients", "1 of 5 parameters", "['scale']")
    run_check(_image_case(ConfDetachedConv, unused_parameters=["sca*"]), "gradients")


def test_state_dict_check_catches_state_outside_the_state_dict(isolated_registry):
    class ConfHiddenStateConv(_halving_conv()):
        def __init__(self, input_channel=3):
            super().__init__(input_channel)
            self.offset = torch.randn(1)  # neither a parameter nor a buffer

        def forward(self, inputs):
            return self.nets(inputs) + self.offset

    _fails(_image_case(ConfHiddenStateConv), "state_dict", "the reloaded instance", "differs")


def test_state_dict_check_accepts_robomimic_style_aliases(isolated_registry):
    class ConfAliasedConv(_halving_conv()):
        def __init__(self, input_channel=3):
            super().__init__(input_channel)
            self.backbone = self.nets[0]  # the same module under two names, like VisualCore

    run_check(_image_case(ConfAliasedConv), "state_dict")
    keys = ConfAliasedConv().state_dict()
    assert "backbone.weight" in keys and "nets.0.weight" in keys


def test_dtype_check_catches_an_output_cast_back_to_float32(isolated_registry):
    class ConfFloat32Conv(_halving_conv()):
        def forward(self, inputs):
            return self.nets(inputs).float()

    _fails(_image_case(ConfFloat32Conv), "dtype", "(float32), expected torch.float64")


def test_randomizer_checks_use_forward_in_and_forward_out(isolated_registry):
    class ConfUnfoldedRandomizer(Randomizer):
        """Doubles the batch in forward_in and (wrongly) never folds it back."""

        def __init__(self, input_shape):
            super().__init__()

        def output_shape_in(self, input_shape=None):
            return list(input_shape)

        def output_shape_out(self, input_shape=None):
            return list(input_shape)

        def _forward_in(self, inputs):
            return torch.cat([inputs, inputs])

        def _forward_out(self, inputs):
            return inputs

    case = ConformanceCase(ConfUnfoldedRandomizer, kwargs={"input_shape": [4]}, input_shapes=[(4,)])
    run_check(case, "train_eval")
    _fails(case, "output_shape", "forward_out in train mode", "returned (4, 4)")


def test_skipped_checks_are_reported_with_their_reason(isolated_registry):
    case = _image_case(_halving_conv(), skip={"gradients": "frozen by design"})
    [result] = check_component(case, ["gradients"])
    assert result.status == "skipped" and "frozen by design" in result.reason
    with pytest.raises(ValueError, match="unknown check"):
        ConformanceCase("X", input_shapes=[(1,)], skip={"gradient": "typo"})
    with pytest.raises(ValueError, match="give input_shapes"):
        ConformanceCase("X")


def test_obsnets_declares_its_pytest_plugin_entry_point():
    found = [ep for ep in metadata.entry_points(group="pytest11") if ep.name == "obsnets"]
    assert [ep.value for ep in found] == ["pytest_obsnets"], (
        "obsnets' pyproject.toml must declare [project.entry-points.pytest11] "
        'obsnets = "pytest_obsnets" (then reinstall: make install)'
    )


PLUGIN_USER = """
import torch
from torch import nn
from obsnets import ConvBase
from obsnets.testing import ConformanceCase


class UserGoodConv(ConvBase):
    def __init__(self, input_channel=3):
        super().__init__()
        self.nets = nn.Conv2d(input_channel, 2, 3, padding=1)

    def output_shape(self, input_shape=None):
        return [2, input_shape[1], input_shape[2]]


class UserBadConv(UserGoodConv):
    def output_shape(self, input_shape=None):
        return [2, input_shape[1] + 1, input_shape[2]]


CONFORMANCE_CASES = [
    ConformanceCase("UserGoodConv", input_shapes=[(3, 6, 6)]),
    ConformanceCase("UserBadConv", input_shapes=[(3, 6, 6)]),
]


def test_conformance(obsnets_conformance):
    obsnets_conformance.run()
"""


def test_pytest_plugin_gives_one_test_per_case_and_check(tmp_path):
    (tmp_path / "test_user_conformance.py").write_text(PLUGIN_USER)
    (tmp_path / "test_user_forgot_cases.py").write_text(
        "def test_conformance(obsnets_conformance):\n    obsnets_conformance.run()\n"
    )
    registered = any(ep.name == "obsnets" for ep in metadata.entry_points(group="pytest11"))
    load = [] if registered else ["-p", "pytest_obsnets"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-rs",
            "-p",
            "no:cacheprovider",
            *load,
            "test_user_conformance.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    for check in CHECKS:
        if check != "cuda":
            assert f"test_conformance[UserGoodConv-{check}] PASSED" in out, out
    assert "test_conformance[UserBadConv-output_shape] FAILED" in out, out
    assert "UserBadConv failed conformance check 'output_shape': output_shape says [2, 7, 6]" in out
    if not torch.cuda.is_available():
        assert "test_conformance[UserGoodConv-cuda] SKIPPED" in out
        assert "no CUDA device is present" in out
    forgot = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *load,
            "test_user_forgot_cases.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert forgot.returncode != 0
    assert "defines no CONFORMANCE_CASES" in forgot.stdout + forgot.stderr
