"""``CropRandomizer``: random crops in training, a center crop in eval (kind ``randomizer``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from obsnets.errors import ShapeError, format_shape
from obsnets.validation import check_int
from obsnets_randomizers._seeded import SeededRandomizer, check_choice
from obsnets_randomizers.crops import (
    CENTER_ROUNDINGS,
    CROP_SAMPLINGS,
    add_position_channels,
    center_crop,
    sample_random_image_crops,
)

__all__ = ["CropRandomizer"]


class CropRandomizer(SeededRandomizer):
    """Random ``crop_height x crop_width`` crops of images, ``num_crops`` per image.

    Training: each image gets ``num_crops`` independent, uniformly placed crops, folded into
    the batch sample-major (``(B, C, H, W) -> (B * N, C', h, w)``, the ``N`` crops of image
    0 first); :meth:`forward_out` averages the network's outputs over each image's ``N``
    crops. Eval: the center crop (top-left corner ``((H - h) // 2, (W - w) // 2)``, as
    robomimic's; rounded instead with ``center_rounding="round"``), one per image;
    ``forward_out`` is the identity.

    With ``pos_enc`` two channels are appended before cropping, ``row / H`` and ``col / W``
    of the source pixel, so each crop carries where it was taken: ``C' = C + 2``.

    Inputs may have more leading dimensions, ``(B, T, C, H, W)``: every image gets its own
    crops and the output is ``(B * N, T, C', h, w)``. Images larger than ``input_shape``
    are accepted (the crop size stays fixed); the channel count must match.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        crop_height: Height ``h`` of the crops, at most ``H``.
        crop_width: Width ``w`` of the crops, at most ``W``.
        num_crops: ``N``, crops per image in training.
        pos_enc: Append the two source-location channels (in training and in eval).
        crop_sampling: How training crop corners are drawn:

            * ``"per_image"`` (default): every image its own corners, uniform over every
              valid position ``[0, H - h]``, drawn on the input's device.
            * ``"shared"``: one corner per crop for the whole batch, what torchvision's
              ``RandomCrop`` does to a batch tensor (LeRobot, diffusion policy); drawn on
              the CPU exactly as its ``get_params`` draws, so a seeded run gives its crops.
            * ``"robomimic"``: robomimic's draws, ``floor(U[0, 1) * (H - h))`` per image on
              the CPU (never the last corner ``H - h``), so a seeded robomimic training run
              gets the same crops; obsnets-robomimic switches it on.
        center_rounding: Eval center crop corner: ``"floor"`` (default, robomimic's
            ``(H - h) // 2``) or ``"round"`` (torchvision's ``CenterCrop``,
            ``int(round((H - h) / 2))``, one pixel further when ``H - h`` is 3 mod 4).
        seed: Seed of the randomizer's own generator (offset by the distributed rank; see
            :class:`~obsnets_randomizers._seeded.SeededRandomizer`), or ``None`` to draw
            from torch's default generator.

    Differs from robomimic:

    * ``pos_enc`` channels are added in eval too (robomimic issue #262: its eval path gave
      the network ``C`` channels after training it on ``C + 2``), and the eval crop works
      for any channel count (robomimic's accepted only 1 or 3).
    * A crop as large as the image is allowed (robomimic required ``h < H`` and ``w < W``),
      and crop corners reach the last valid position ``H - h`` (robomimic's never did).
      The default training crops therefore do not reproduce robomimic's seeded draws;
      ``crop_sampling="robomimic"`` does.
    * Crops are gathered with one index grid for the whole batch; ``seed`` /
      ``forward_in(..., generator=...)`` make them reproducible.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        crop_height: int = 76,
        crop_width: int = 76,
        num_crops: int = 1,
        pos_enc: bool = False,
        crop_sampling: str = "per_image",
        center_rounding: str = "floor",
        seed: int | None = None,
    ) -> None:
        num_crops = check_int("CropRandomizer", "num_crops", num_crops, low=1)
        super().__init__(input_shape, num_samples=num_crops, seed=seed)
        if len(self.input_shape) != 3:
            raise ShapeError(
                f"CropRandomizer expects input_shape (C, H, W), got "
                f"{format_shape(self.input_shape)}."
            )
        self.crop_height = check_int("CropRandomizer", "crop_height", crop_height, low=1)
        self.crop_width = check_int("CropRandomizer", "crop_width", crop_width, low=1)
        _, height, width = self.input_shape
        if self.crop_height > height or self.crop_width > width:
            raise ShapeError(
                f"CropRandomizer: a {self.crop_height}x{self.crop_width} crop does not fit "
                f"input shape {format_shape(self.input_shape)}; crop_height must be <= {height} "
                f"and crop_width <= {width}."
            )
        self.num_crops = self.num_samples
        self.pos_enc = bool(pos_enc)
        self.crop_sampling = check_choice(
            "CropRandomizer", "crop_sampling", crop_sampling, CROP_SAMPLINGS
        )
        self.center_rounding = check_choice(
            "CropRandomizer", "center_rounding", center_rounding, CENTER_ROUNDINGS
        )

    def output_shape_in(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """Shape of one crop: ``[C + 2 * pos_enc, crop_height, crop_width]``.

        Args:
            input_shape: ``(C, H, W)``; defaults to the constructor's ``input_shape``.
        """
        shape = self.input_shape if input_shape is None else [int(d) for d in input_shape]
        if len(shape) != 3:
            raise ShapeError(
                f"CropRandomizer expects input shape (C, H, W), got {format_shape(shape)}."
            )
        return [shape[0] + 2 * self.pos_enc, self.crop_height, self.crop_width]

    def output_shape_out(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """The network's output shape, unchanged (``forward_out`` only folds the batch)."""
        return self._out_shape(input_shape)

    def _check_input(self, inputs: torch.Tensor) -> None:
        channels = self.input_shape[0]
        if (
            inputs.dim() < 4
            or inputs.shape[-3] != channels
            or inputs.shape[-2] < self.crop_height
            or inputs.shape[-1] < self.crop_width
        ):
            raise ShapeError(
                f"CropRandomizer expects input of shape (B, {channels}, H, W) with "
                f"H >= {self.crop_height} and W >= {self.crop_width} (input_shape "
                f"{format_shape(self.input_shape)}), got {format_shape(inputs.shape)}."
            )

    def _forward_in(
        self, inputs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # crops: (B, *rest, N, C', h, w) where inputs is (B, *rest, C, H, W)
        crops, _ = sample_random_image_crops(
            inputs,
            self.crop_height,
            self.crop_width,
            self.num_crops,
            pos_enc=self.pos_enc,
            generator=generator,
            sampling=self.crop_sampling,
        )
        batch, rest = inputs.shape[0], inputs.shape[1:-3]
        crops = crops.reshape(batch, -1, self.num_crops, *crops.shape[-3:])  # (B, R, N, ...)
        crops = crops.transpose(1, 2)  # (B, N, R, C', h, w): sample-major
        return crops.reshape(batch * self.num_crops, *rest, *crops.shape[-3:])

    def _forward_in_eval(self, inputs: torch.Tensor) -> torch.Tensor:
        source = add_position_channels(inputs) if self.pos_enc else inputs
        return center_crop(source, self.crop_height, self.crop_width, self.center_rounding)

    def _draw_device(self, inputs: torch.Tensor) -> torch.device:
        # torchvision and robomimic draw corners on the CPU: so does a seeded own generator.
        return inputs.device if self.crop_sampling == "per_image" else torch.device("cpu")

    def extra_repr(self) -> str:
        return (
            f"input_shape={self.input_shape}, crop_size=[{self.crop_height}, "
            f"{self.crop_width}], num_crops={self.num_crops}, pos_enc={self.pos_enc}, "
            f"crop_sampling={self.crop_sampling!r}, center_rounding={self.center_rounding!r}, "
            f"seed={self.seed}"
        )
