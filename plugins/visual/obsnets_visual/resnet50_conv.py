"""``ResNet50Conv``: torchvision's ResNet-50 as a feature-map backbone."""

from __future__ import annotations

from obsnets_visual.resnet_base import ResNetConvBase

__all__ = ["ResNet50Conv"]


class ResNet50Conv(ResNetConvBase):
    """ResNet-50 without average pool and classifier: ``(B, C, H, W) -> (B, 2048, H/32, W/32)``.

    Sizes are rounded up (``ceil``); ``nets`` indices are torchvision's children (0 conv1,
    1 bn1, 2 relu, 3 maxpool, 4-7 layer1-4), as robomimic's keys. The ImageNet weights are
    ``IMAGENET1K_V1`` (what robomimic's deprecated ``pretrained=True`` gave).

    Args:
        input_channel: Channels of the input images. Other than 3, ``conv1`` is replaced by a
            freshly initialised convolution with the same hyperparameters.
        pretrained: ``False`` for random initialisation; ``True`` for torchvision's
            ``resnet50-0676ba61.pth`` from the torch hub cache
            (``torch.hub.get_dir()/checkpoints``); or the path of a torchvision-layout
            state_dict (``torch.save`` or ``.safetensors``). Never downloads: a missing file
            is a ``ConfigError`` that says where it looked and how to provide the file.
        input_coord_conv: Replace ``conv1`` by a :class:`CoordConv2d` (two position channels).
        freeze: Freeze the backbone: no parameter requires a gradient, and BatchNorm layers
            stay in eval mode under ``.train()``.

    With ``pretrained``, :attr:`input_normalization` is ImageNet's (``IMAGENET1K_V1``'s
    mean, std and 224 crop of 256).

    Differs from robomimic: no deprecated torchvision keyword, weights only from local files,
    a warning when the pretrained ``conv1`` is replaced; no output-shape check on every forward.
    """

    arch = "resnet50"
    weights_name = "IMAGENET1K_V1"
    output_channels = 2048
