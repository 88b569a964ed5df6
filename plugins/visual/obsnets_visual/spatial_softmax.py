"""``SpatialSoftmax``: keypoints as the expected image coordinates of softmax attention maps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from obsnets.bases import PoolBase
from obsnets.errors import ConfigError
from obsnets.precision import at_least_float32
from obsnets_visual._checks import as_shape, check_input, check_shape

__all__ = ["SpatialSoftmax"]


class SpatialSoftmax(PoolBase):
    """Spatial soft-argmax (Levine et al., 2016): ``(B, C, H, W) -> (B, K, 2)`` keypoints.

    An optional 1x1 convolution maps the ``C`` channels to ``K = num_kp`` maps. Each map gets
    a softmax over its ``H * W`` pixels (logits divided by ``temperature``); its keypoint is
    the expected pixel coordinate ``(x, y)``, with ``x`` running from -1 (left column) to 1
    (right column) and ``y`` from -1 (top row) to 1 (bottom row). A map ``(C, L, 1)`` (a 1-D
    feature map, as ScanCore makes) gives ``x = -1`` and ``y`` along ``L``.

    State (robomimic's keys): ``temperature`` (a parameter when learnable, a buffer
    otherwise), ``pos_x`` and ``pos_y`` buffers ``(1, H * W)``, and ``nets`` (the 1x1 conv).

    Args:
        input_shape: Shape ``(C, H, W)`` of the feature map (VisualCore passes its backbone's
            output shape).
        num_kp: Number of keypoints ``K``; ``None`` uses the ``C`` input channels directly.
        temperature: Initial softmax temperature; smaller is sharper.
        learnable_temperature: Train the temperature.
        output_variance: Also return each attention map's covariance: the output becomes
            ``(B, K, 6)`` = ``x, y, var_x, cov_xy, cov_xy, var_y``, i.e. the keypoint
            followed by the flattened 2x2 covariance (see :meth:`split_keypoints`).
        noise_std: Standard deviation of Gaussian noise added to keypoints in training mode.
        record_keypoints: Keep a detached copy of the last output in ``self.kps`` (for
            visualisation); off by default so the module holds no per-call state.
        always_draw_noise: Draw the training noise even when ``noise_std == 0`` (adding
            zeros), as robomimic does, so torch's random stream advances by ``B * K * 2``
            normal draws per training call exactly as in a robomimic run; off by default
            (nothing is drawn for no noise). obsnets-robomimic switches it on.
        variance_as_tuple: With ``output_variance``, return robomimic's tuple
            ``(keypoints (B, K, 2), covariance (B, K, 2, 2))`` instead of one ``(B, K, 6)``
            tensor. A tuple cannot be flattened by VisualCore (robomimic crashed there), so
            use it only for a stand-alone pool; obsnets-robomimic switches it on when it
            builds a stand-alone ``SpatialSoftmax``.

    Differs from robomimic: ``output_variance=True`` returns one tensor instead of a
    ``(keypoints, covariance)`` tuple, so VisualCore can flatten it (robomimic crashed);
    training noise is not added in place and is skipped when ``noise_std == 0``; ``kps`` is
    only recorded on request; a wrong input shape is a ``ShapeError``, not an assertion.
    ``always_draw_noise`` and ``variance_as_tuple`` restore robomimic's behaviour.
    """

    temperature: torch.Tensor
    pos_x: torch.Tensor
    pos_y: torch.Tensor

    def __init__(
        self,
        input_shape: Sequence[int],
        num_kp: int | None = 32,
        temperature: float = 1.0,
        learnable_temperature: bool = False,
        output_variance: bool = False,
        noise_std: float = 0.0,
        record_keypoints: bool = False,
        always_draw_noise: bool = False,
        variance_as_tuple: bool = False,
    ) -> None:
        super().__init__()
        self.input_shape = as_shape("SpatialSoftmax", input_shape, rank=3)
        channels, height, width = self.input_shape
        if num_kp is not None and int(num_kp) < 1:
            raise ConfigError(f"SpatialSoftmax: num_kp must be positive or None, got {num_kp}.")
        self.nets: nn.Conv2d | None = (
            nn.Conv2d(channels, int(num_kp), kernel_size=1) if num_kp is not None else None
        )
        self.num_kp = int(num_kp) if num_kp is not None else channels
        self.learnable_temperature = bool(learnable_temperature)
        self.output_variance = bool(output_variance)
        self.noise_std = float(noise_std)
        self.record_keypoints = bool(record_keypoints)
        self.always_draw_noise = bool(always_draw_noise)
        self.variance_as_tuple = bool(variance_as_tuple)
        self.kps: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None

        self.initial_temperature = float(temperature)
        initial = torch.full((1,), self.initial_temperature)
        if self.learnable_temperature:
            self.temperature = nn.Parameter(initial)
        else:
            self.register_buffer("temperature", initial)
        # Computed in float64 then rounded, as robomimic's numpy grid was.
        xs = torch.linspace(-1.0, 1.0, width, dtype=torch.float64)
        ys = torch.linspace(-1.0, 1.0, height, dtype=torch.float64)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (H, W) each
        self.register_buffer("pos_x", grid_x.reshape(1, height * width).float())
        self.register_buffer("pos_y", grid_y.reshape(1, height * width).float())

    def output_shape(self, input_shape: Sequence[int] | None = None) -> list[int]:
        """``[K, 2]`` (``[K, 6]`` with ``output_variance``); checks ``input_shape`` if given.

        With ``variance_as_tuple`` it is ``[K, 2]``, the keypoints' shape (robomimic's answer).
        """
        if input_shape is not None:
            check_shape("SpatialSoftmax", self.input_shape, input_shape)
        joined = self.output_variance and not self.variance_as_tuple
        return [self.num_kp, 6 if joined else 2]

    def forward(self, feature: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Compute keypoints.

        Args:
            feature: Feature map ``(B, C, H, W)`` of the constructor's ``input_shape``.

        Returns:
            ``(B, K, 2)`` keypoints ``(x, y)`` in ``[-1, 1]``, or ``(B, K, 6)`` with
            ``output_variance``; with ``variance_as_tuple`` too, the tuple
            ``(keypoints (B, K, 2), covariance (B, K, 2, 2))``.
        """
        check_input("SpatialSoftmax", feature, self.input_shape)
        _, height, width = self.input_shape
        if self.nets is not None:
            feature = self.nets(feature)  # (B, K, H, W)
        # float32 from here on: under bf16 autocast a softmax over H * W pixels and its
        # expectations lose the sub-pixel precision keypoints carry (a no-op in float32).
        feature = at_least_float32(feature).reshape(-1, height * width)  # (B * K, H * W)
        attention = torch.softmax(feature / self.temperature, dim=-1)
        expected_x = torch.sum(self.pos_x * attention, dim=1, keepdim=True)  # (B * K, 1)
        expected_y = torch.sum(self.pos_y * attention, dim=1, keepdim=True)
        keypoints = torch.cat([expected_x, expected_y], 1).view(-1, self.num_kp, 2)
        if self.training and (self.noise_std > 0 or self.always_draw_noise):
            keypoints = keypoints + torch.randn_like(keypoints) * self.noise_std
        if not self.output_variance:
            return self._recorded(keypoints)
        expected_xx = torch.sum(self.pos_x * self.pos_x * attention, dim=1, keepdim=True)
        expected_yy = torch.sum(self.pos_y * self.pos_y * attention, dim=1, keepdim=True)
        expected_xy = torch.sum(self.pos_x * self.pos_y * attention, dim=1, keepdim=True)
        var_x = expected_xx - expected_x * expected_x
        var_y = expected_yy - expected_y * expected_y
        cov = expected_xy - expected_x * expected_y
        # (B * K, 4) -> (B, K, 4): row-major 2x2 covariance [[var_x, cov], [cov, var_y]]
        covariance = torch.cat([var_x, cov, cov, var_y], 1).view(-1, self.num_kp, 4)
        if self.variance_as_tuple:
            return self._recorded((keypoints, covariance.unflatten(-1, (2, 2))))
        return self._recorded(torch.cat([keypoints, covariance], dim=-1))  # (B, K, 6)

    def _recorded(
        self, output: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Return ``output``, keeping a detached copy in ``kps`` with ``record_keypoints``."""
        if self.record_keypoints and not torch.compiler.is_compiling():
            if isinstance(output, tuple):
                self.kps = (output[0].detach(), output[1].detach())
            else:
                self.kps = output.detach()
        return output

    @staticmethod
    def split_keypoints(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split an ``output_variance`` output into keypoints and covariance matrices.

        Args:
            output: ``(..., K, 6)`` from :meth:`forward` (also works after flattening to
                ``(..., K * 6)`` if reshaped back).

        Returns:
            ``(keypoints (..., K, 2), covariance (..., K, 2, 2))`` (robomimic's tuple).
        """
        return output[..., :2], output[..., 2:].unflatten(-1, (2, 2))

    def extra_repr(self) -> str:
        return (
            f"input_shape={self.input_shape}, num_kp={self.num_kp}, "
            f"temperature={self.initial_temperature:g}, "
            f"learnable_temperature={self.learnable_temperature}, "
            f"output_variance={self.output_variance}, noise_std={self.noise_std}"
            + (", always_draw_noise=True" if self.always_draw_noise else "")
            + (", variance_as_tuple=True" if self.variance_as_tuple else "")
        )
