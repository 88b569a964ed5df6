"""Every code example of the specification page (../shared/reference/models_page.md) runs.

Only the imports are adapted (robomimic.models.* -> obsnets, obsnets_visual, obsnets_scan,
obsnets_randomizers). Where the page leaves something out, the adaptation is marked:
``camera2_shape`` (undefined on the page) is camera1's shape, the page's ``ResNet18Conv`` body
(``...``) is completed under another name, and the encoder is ``make()``-d before use. The
224x224 examples are built at 224x224 and run once on a batch of one.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch

from obsnets import MLP, ConvBase, EncoderCore
from obsnets.encoders import ObservationDecoder, ObservationEncoder, obs_encoder_factory
from obsnets.saving import load, save_pretrained

# -- "Base Modules": the page's ResNet18Conv(ConvBase), completed --------------------------------


class PageExampleResNet18Conv(ConvBase):
    """The page's class; its elided body (``...``) is the truncated torchvision ResNet-18."""

    def __init__(self, input_channel=3):
        super().__init__()
        import torchvision

        resnet = torchvision.models.resnet18(weights=None)
        self.nets = torch.nn.Sequential(*list(resnet.children())[:-2])

    def output_shape(self, input_shape):
        """
        Function to compute output shape from inputs to this module.

        Args:
            input_shape (iterable of int): shape of input. Does not include batch dimension.
                Some modules may not need this argument, if their output does not depend
                on the size of the input, or if they assume fixed size input.

        Returns:
            out_shape ([int]): list of integers corresponding to output shape
        """
        assert len(input_shape) == 3
        out_h = int(math.ceil(input_shape[1] / 32.0))  # noqa: RUF046 - the page's code
        out_w = int(math.ceil(input_shape[2] / 32.0))  # noqa: RUF046
        return [512, out_h, out_w]


def test_base_module_output_shape_rule_matches_the_network():
    net = PageExampleResNet18Conv().eval()
    assert net.output_shape((3, 224, 224)) == [512, 7, 7]
    with torch.no_grad():
        for shape in [(3, 32, 32), (3, 45, 70), (3, 97, 33)]:
            out = net(torch.rand(1, *shape))
            assert list(out.shape[1:]) == net.output_shape(shape), shape


# -- "EncoderCore": naming a custom core in the encoder config ------------------------------------


class PageExampleRGBEncoder(EncoderCore):
    """The page's ``MyCustomRGBEncoder`` (renamed so no other test's class can clash)."""

    def __init__(self, input_shape, feature_dim=8):
        super().__init__(input_shape)
        self.feature_dim = feature_dim
        self.conv = torch.nn.Conv2d(self.input_shape[0], 4, kernel_size=3, stride=2)
        h, w = ((d - 3) // 2 + 1 for d in self.input_shape[1:])
        self.proj = torch.nn.Linear(4 * h * w, feature_dim)

    def output_shape(self, input_shape=None):
        return [self.feature_dim]

    def forward(self, inputs):
        return self.proj(self.conv(inputs).flatten(1))


def test_custom_encoder_core_named_in_the_encoder_config():
    # config.observation.encoder.rgb.core_class = "MyCustomRGBEncoder"
    # config.observation.encoder.rgb.core_kwargs = ...
    encoder_config = {"rgb": {}}
    encoder_config["rgb"]["core_class"] = "PageExampleRGBEncoder"
    encoder_config["rgb"]["core_kwargs"] = {"feature_dim": 6}
    enc = obs_encoder_factory(
        {"agentview_image": [3, 16, 16]},
        encoder_kwargs=encoder_config,
        obs_modalities={"rgb": ["agentview_image"]},
    )
    core = enc.obs_nets["agentview_image"]
    assert isinstance(core, PageExampleRGBEncoder) and core.feature_dim == 6
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(enc({"agentview_image": x}), torch.relu(core(x)))


# -- "VisualCore" ---------------------------------------------------------------------------------


def test_visual_core_example():
    pytest.importorskip("obsnets_visual")
    from obsnets_visual import ResNet18Conv, SpatialSoftmax, VisualCore

    vis_net = VisualCore(
        input_shape=(3, 224, 224),
        core_class="ResNet18Conv",  # use ResNet18 as the visualcore backbone
        core_kwargs={"pretrained": False, "input_coord_conv": False},  # kwargs for ResNet18Conv
        pool_class="SpatialSoftmax",  # use spatial softmax to regularize the model output
        pool_kwargs={"num_kp": 32},  # kwargs for the SpatialSoftmax --- use 32 keypoints
        flatten=True,  # flatten the output of the spatial softmax layer
        feature_dimension=64,  # project the flattened feature into a 64-dim vector
    )
    assert isinstance(vis_net.backbone, ResNet18Conv)  # core_class is honoured
    assert isinstance(vis_net.pool, SpatialSoftmax)
    assert vis_net.pool.output_shape([512, 7, 7]) == [32, 2]
    with torch.no_grad():
        out = vis_net.eval()(torch.rand(1, 3, 224, 224))
    assert list(out.shape) == [1, *vis_net.output_shape()] == [1, 64]


# -- "ScanCore" -----------------------------------------------------------------------------------


def test_scan_core_example():
    pytest.importorskip("obsnets_scan")
    pytest.importorskip("obsnets_visual")  # SpatialSoftmax
    from obsnets_scan import ScanCore

    vis_net = ScanCore(
        input_shape=(1, 120),
        conv_kwargs={
            "out_channels": [32, 64, 64],
            "kernel_size": [8, 4, 2],
            "stride": [4, 2, 1],
        },  # kwarg settings to pass to individual Conv1d layers
        conv_activation="relu",  # use relu in between each Conv1d layer
        pool_class="SpatialSoftmax",  # use spatial softmax to regularize the model output
        pool_kwargs={"num_kp": 32},  # kwargs for the SpatialSoftmax --- use 32 keypoints
        flatten=True,  # flatten the output of the spatial softmax layer
        feature_dimension=64,  # project the flattened feature into a 64-dim vector
    )
    with torch.no_grad():
        out = vis_net.eval()(torch.rand(2, 1, 120))
    assert list(out.shape) == [2, *vis_net.output_shape()] == [2, 64]


# -- "Observation Encoder and Decoder" ------------------------------------------------------------


def _page_encoder(spelling):
    """The page's ObservationEncoder example, verbatim but for imports and the marked lines."""
    from obsnets_randomizers import CropRandomizer

    obs_encoder = ObservationEncoder(feature_activation=torch.nn.ReLU)

    # There are two ways to construct the network for processing a input modality.
    # Assume we are processing image input of shape (3, 224, 224).
    camera1_shape = [3, 224, 224]
    camera2_shape = camera1_shape  # adapted: undefined on the page, meant to be camera1's

    image_randomizer = CropRandomizer(input_shape=camera2_shape, crop_height=200, crop_width=200)

    # We will use a reconfigurable image processing backbone VisualCore to process the input
    net_class = "VisualCore"  # this is defined in models/base_nets.py

    # kwargs for VisualCore network
    net_kwargs = {
        "input_shape": camera1_shape,
        "core_class": "ResNet18Conv",  # use ResNet18 as the visualcore backbone
        "core_kwargs": {"pretrained": False, "input_coord_conv": False},
        "pool_class": "SpatialSoftmax",  # use spatial softmax to regularize the model output
        "pool_kwargs": {"num_kp": 32},
    }

    # register the network for processing the modality
    obs_encoder.register_obs_key(
        name="camera1",
        shape=camera1_shape,
        net_class=net_class,
        net_kwargs=net_kwargs,
        **{spelling: image_randomizer},  # adapted: randomizers= (page) or randomizer= (spec copy)
    )

    # We could mix low-dimensional observation, e.g., proprioception signal, in the encoder
    proprio_shape = [12]
    net = MLP(input_dim=12, output_dim=32, layer_dims=(128,), output_activation=None)
    obs_encoder.register_obs_key(name="proprio", shape=proprio_shape, net=net)

    obs_encoder.make()  # adapted: the page stops before building the encoder
    return obs_encoder, net_kwargs, image_randomizer, net


@pytest.mark.parametrize("spelling", ["randomizers", "randomizer"])
def test_observation_encoder_example(spelling):
    pytest.importorskip("obsnets_visual")
    pytest.importorskip("obsnets_randomizers")
    obs_encoder, net_kwargs, image_randomizer, mlp = _page_encoder(spelling)
    assert net_kwargs["input_shape"] == [3, 224, 224]  # the caller's dict is not modified
    visual = obs_encoder.obs_nets["camera1"]
    assert visual.input_shape == [3, 200, 200]  # the shape after the 200x200 crop
    assert list(obs_encoder.obs_randomizers["camera1"]) == [image_randomizer]
    assert obs_encoder.output_shape() == [64 + 32]
    obs_encoder.eval()
    obs = {"camera1": torch.rand(1, 3, 224, 224), "proprio": torch.randn(1, 12)}
    with torch.no_grad():
        out = obs_encoder(obs)
        assert list(out.shape) == [1, *obs_encoder.output_shape()]
        torch.testing.assert_close(out[:, 64:], torch.relu(mlp(obs["proprio"])))
        if spelling == "randomizers":  # one numeric check of the image path (a 224 forward)
            crop = obs["camera1"][:, :, 12:212, 12:212]  # eval: center crop
            torch.testing.assert_close(out[:, :64], torch.relu(visual(crop)), rtol=1e-5, atol=1e-6)


def test_observation_decoder_example():
    pytest.importorskip("obsnets_visual")
    pytest.importorskip("obsnets_randomizers")
    obs_encoder, *_ = _page_encoder("randomizers")

    obs_decoder = ObservationDecoder(
        input_feat_dim=obs_encoder.output_shape()[0],
        decode_shapes=OrderedDict({"action_pos": (3,), "action_orn": (4,)}),
    )

    feats = torch.randn(2, 96)
    out = obs_decoder(feats)
    assert {k: list(v.shape) for k, v in out.items()} == {
        "action_pos": [2, 3],
        "action_orn": [2, 4],
    }
    assert obs_decoder.output_shape() == {"action_pos": [3], "action_orn": [4]}
    torch.testing.assert_close(out["action_orn"], obs_decoder.nets["action_orn"](feats))


def test_observation_encoder_example_saves_and_loads(tmp_path):
    # The README's encoder (the page's, made): saved, loaded from its folder alone, same numbers.
    pytest.importorskip("obsnets_visual")
    pytest.importorskip("obsnets_randomizers")
    from obsnets_randomizers import CropRandomizer

    obs_encoder, *_ = _page_encoder("randomizers")
    save_pretrained(obs_encoder, tmp_path)
    loaded = load(tmp_path)
    state, reloaded = obs_encoder.state_dict(), loaded.state_dict()
    assert list(reloaded) == list(state)
    assert all(torch.equal(reloaded[k], v) for k, v in state.items())
    assert isinstance(loaded.obs_nets["proprio"], MLP)
    (crop,) = loaded.obs_randomizers["camera1"]
    assert isinstance(crop, CropRandomizer) and (crop.crop_height, crop.crop_width) == (200, 200)
    obs_encoder.eval()
    obs = {"camera1": torch.rand(1, 3, 224, 224), "proprio": torch.randn(1, 12)}
    with torch.no_grad():
        torch.testing.assert_close(loaded(obs), obs_encoder(obs), rtol=0, atol=0)
