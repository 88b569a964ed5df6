"""Backbones report their pretrained input normalisation; VisualCore can apply it."""

from __future__ import annotations

import pytest
import torch

from obsnets.bases import ConvBase, InputNormalization
from obsnets.building import skip_pretrained_weights
from obsnets.errors import ConfigError
from obsnets.saving import load, save_pretrained
from obsnets_visual import (
    ResNet18Conv,
    ResNet18ConvFiLM,
    ResNet50Conv,
    ShallowConv,
    TorchvisionConv,
    VisualCore,
    VisualCoreLanguageConditioned,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet(resize: int, interpolation: str = "bilinear") -> InputNormalization:
    return InputNormalization(
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_size=(3, 224, 224),
        interpolation=interpolation,
        crop_pct=224 / resize,
    )


def pretrained(build):
    """Build as ``obsnets.load`` does: pretrained arguments recorded, no file read."""
    with skip_pretrained_weights():
        return build()


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: ResNet18Conv(pretrained=True), imagenet(256)),
        (lambda: ResNet18Conv(pretrained="/weights/resnet18.pth"), imagenet(256)),
        (lambda: ResNet50Conv(pretrained=True), imagenet(256)),
        (lambda: ResNet18ConvFiLM(pretrained=True), imagenet(256)),
        (lambda: TorchvisionConv("resnet18", pretrained=True), imagenet(256)),
        # Each weights entry reports its own evaluation transforms.
        (
            lambda: TorchvisionConv("resnet50", pretrained=True, weights="IMAGENET1K_V2"),
            imagenet(232),
        ),
        (lambda: TorchvisionConv("swin_t", pretrained=True), imagenet(232, "bicubic")),
    ],
)
def test_pretrained_backbones_report_their_weights_normalization(build, expected):
    assert pretrained(build).input_normalization == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: ResNet18Conv(),
        lambda: ResNet18ConvFiLM(),
        lambda: TorchvisionConv("resnet18"),
        lambda: ShallowConv(),
    ],
)
def test_backbones_without_pretrained_weights_report_none(build):
    assert build().input_normalization is None


def test_input_normalization_checks_its_values():
    with pytest.raises(ConfigError, match="one mean and one std per channel"):
        InputNormalization(mean=(0.5, 0.5), std=(0.5,))
    with pytest.raises(ConfigError, match="std must be > 0"):
        InputNormalization(mean=(0.5,), std=(0.0,))


def _cores(**kwargs):
    """A normalising core and a plain one with the same weights.

    No pool: SpatialSoftmax over the one position of a 32 x 32 image's feature map would
    give the same output whatever the input.
    """
    kwargs["pool_class"] = None
    torch.manual_seed(0)
    normalizing = pretrained(
        lambda: VisualCore(
            input_shape=[3, 32, 32],
            backbone_kwargs={"pretrained": True},
            normalize_input=True,
            **kwargs,
        )
    )
    plain = VisualCore(input_shape=[3, 32, 32], **kwargs)
    plain.load_state_dict(normalizing.state_dict())  # same keys: nothing is added
    return normalizing.eval(), plain.eval()


def test_normalize_input_applies_imagenet_mean_and_std_per_channel():
    normalizing, plain = _cores()
    x = torch.rand(2, 3, 32, 32)
    mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    expected = plain((x - mean) / std)
    torch.testing.assert_close(normalizing(x), expected)
    assert not torch.allclose(plain(x), expected)  # the normalisation matters


def test_normalization_follows_to_and_adds_nothing_to_the_state_dict():
    normalizing, plain = _cores(channels_last=True)
    assert list(normalizing.state_dict()) == list(plain.state_dict())
    assert not list(normalizing.buffers(recurse=False))
    normalizing.to(torch.float64)
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).reshape(1, 3, 1, 1)
    torch.testing.assert_close(normalizing(x), plain.to(torch.float64)((x - mean) / std))


def test_normalize_input_is_off_by_default_and_survives_saving(tmp_path):
    assert VisualCore(input_shape=[3, 32, 32]).normalize_input is False
    normalizing, _ = _cores()
    save_pretrained(normalizing, tmp_path)
    loaded = load(tmp_path)
    assert loaded.normalize_input is True
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), normalizing(x), rtol=0, atol=0)


def test_language_conditioned_core_normalizes_too():
    torch.manual_seed(0)
    core = pretrained(
        lambda: VisualCoreLanguageConditioned(
            input_shape=[3, 32, 32],
            backbone_kwargs={"pretrained": True, "lang_emb_dim": 4},
            pool_class=None,
            normalize_input=True,
        )
    ).eval()
    x, lang = torch.rand(2, 3, 32, 32), torch.rand(2, 4)
    mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    expected = core.nets[1:](core.backbone((x - mean) / std, lang))
    torch.testing.assert_close(core(x, lang), expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # ResNet18Conv without pretrained weights
        {"backbone_class": "ShallowConv"},
    ],
)
def test_normalize_input_without_a_normalization_is_a_clear_error(kwargs):
    with pytest.raises(ConfigError, match=r"has no input normalisation.*'pretrained': True"):
        VisualCore(input_shape=[3, 32, 32], normalize_input=True, **kwargs)


def test_normalize_input_with_other_channel_counts_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"is for 3 channels.*has 1"):
        pretrained(
            lambda: VisualCore(
                input_shape=[1, 32, 32],
                backbone_kwargs={"pretrained": True},
                normalize_input=True,
            )
        )


class _ReportsNormalization(ConvBase):
    """An identity backbone that reports the normalisation it is given."""

    def __init__(self, input_channel: int = 3, mean: float = 0.5, std: float = 0.25) -> None:
        super().__init__()
        self.mean, self.std = mean, std
        self.nets = torch.nn.Identity()

    @property
    def input_normalization(self) -> InputNormalization:
        return InputNormalization(mean=(self.mean,) * 3, std=(self.std,) * 3)

    def output_shape(self, input_shape=None):
        return list(input_shape)


def test_the_normalization_applied_is_the_backbone_in_the_tree_now():
    core = VisualCore(
        input_shape=[3, 4, 4],
        backbone_class=_ReportsNormalization,
        pool_class=None,
        feature_dimension=None,
        normalize_input=True,
    )
    x = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(core(x), ((x - 0.5) / 0.25).flatten(1))
    core.backbone = _ReportsNormalization(mean=0.1, std=2.0)  # replaced after construction
    torch.testing.assert_close(core(x), ((x - 0.1) / 2.0).flatten(1))
