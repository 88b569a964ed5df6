"""ConditionalUnet1D: shapes, robomimic's wiring, the checks robomimic lacked, live modules."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_diffusion import ConditionalUnet1D, SinusoidalPosEmb

SMALL = {"input_dim": 3, "global_cond_dim": 5, "diffusion_step_embed_dim": 8, "kernel_size": 3}


def unet(down_dims=(8, 16), **kwargs) -> ConditionalUnet1D:
    torch.manual_seed(0)
    return ConditionalUnet1D(**{**SMALL, "down_dims": list(down_dims), **kwargs}).eval()


@pytest.mark.parametrize(
    "down_dims, steps", [((8,), 3), ((8, 16), 2), ((8, 16), 6), ((8, 16, 24), 4), ((8, 16, 24), 12)]
)
def test_output_has_the_shape_of_the_sample_for_every_valid_length(down_dims, steps) -> None:
    net = unet(down_dims)
    sample = torch.randn(2, steps, 3)
    out = net(sample, torch.tensor([3, 7]), torch.randn(2, 5))
    assert out.shape == sample.shape
    assert net.output_shape([steps, 3]) == [steps, 3]
    assert net.length_multiple == 2 ** (len(down_dims) - 1)


def test_up_path_uses_the_deeper_skips_and_upsamples_at_every_level() -> None:
    # robomimic's wiring: levels (3->8, 8->16, 16->24); up levels concatenate the outputs of
    # the last two down levels (24 + 24, then 16 + 16 channels) and the first is never used.
    net = unet((8, 16, 24))
    first_up = [block[0].blocks[0].block[0].in_channels for block in net.up_modules]
    assert first_up == [48, 32]
    assert [type(m[2]).__name__ for m in net.down_modules] == [
        "Downsample1d",
        "Downsample1d",
        "Identity",
    ]
    assert all(type(m[2]).__name__ == "Upsample1d" for m in net.up_modules)
    assert net.final_conv[0].block[1].num_groups == 8  # whatever n_groups says


@pytest.mark.parametrize("steps", [1, 3, 5, 7])
def test_a_length_that_is_not_a_multiple_names_the_valid_lengths(steps) -> None:
    net = unet((8, 16, 24))
    with pytest.raises(ShapeError, match=r"multiple of 4 \(4, 8, 12, 16, \.\.\.\); got T = "):
        net(torch.randn(2, steps, 3), 1, torch.randn(2, 5))


def test_timestep_forms_agree_and_integer_valued_floats_are_integers() -> None:
    net = unet()
    sample, cond = torch.randn(3, 4, 3), torch.randn(3, 5)
    with torch.no_grad():
        reference = net(sample, torch.tensor([9, 9, 9]), cond)
        for timestep in (9, torch.tensor(9), torch.tensor([9]), torch.tensor([9.0, 9.0, 9.0])):
            torch.testing.assert_close(net(sample, timestep, cond), reference, rtol=0, atol=0)
        per_sample = net(sample, torch.tensor([1, 50, 99]), cond)
    assert not torch.allclose(per_sample, reference)  # the step conditions the prediction


@pytest.mark.parametrize(
    "timestep, message",
    [
        (torch.tensor([1.5, 2.0]), "fractional"),
        (2.0, "Python int or a tensor of integer steps"),
        (True, "Python int or a tensor of integer steps"),
        (torch.tensor([1, 2, 3]), r"0-d, \(1,\) or \(B,\) = \(2,\)"),
        (torch.ones(2, 1, dtype=torch.long), r"0-d, \(1,\) or \(B,\)"),
    ],
)
def test_bad_timesteps_are_refused(timestep, message) -> None:
    with pytest.raises((InvalidKwargsError, ShapeError), match=message):
        unet()(torch.randn(2, 4, 3), timestep, torch.randn(2, 5))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"diffusion_step_embed_dim": 2}, "even int >= 4"),
        ({"diffusion_step_embed_dim": 7}, "even int >= 4"),
        ({"kernel_size": 4}, "kernel_size must be odd"),
        ({"down_dims": [8, 12]}, r"divisible by 8; got down_dims \[8, 12\] \(\[12\] are not\)"),
        ({"down_dims": [4, 8], "n_groups": 4}, "down_dims\\[0\\] must be divisible by 8"),
        ({"down_dims": []}, "at least one level"),
        ({"n_groups": 0}, "n_groups must be an int >= 1"),
    ],
)
def test_constructor_refuses_what_robomimic_built_and_broke_later(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ConditionalUnet1D(**{**SMALL, "down_dims": [8, 16], **kwargs})


def test_sample_and_condition_shapes_are_checked() -> None:
    net = unet()
    with pytest.raises(ShapeError, match=r"input_dim = 3 channels .* got \(2, 4, 2\)"):
        net(torch.randn(2, 4, 2), 1, torch.randn(2, 5))
    with pytest.raises(ShapeError, match=r"global_cond must be \(2, 5\)"):
        net(torch.randn(2, 4, 3), 1, torch.randn(2, 4))
    with pytest.raises(InvalidKwargsError, match="needs global_cond"):
        net(torch.randn(2, 4, 3), 1)


def test_step_embedding_is_sines_then_cosines() -> None:
    embedding = SinusoidalPosEmb(6)(torch.tensor([0, 2]))
    frequencies = torch.tensor([1.0, 0.01, 0.0001])  # 10000 ** (-i / (3 - 1))
    angles = torch.tensor([0.0, 2.0])[:, None] * frequencies
    torch.testing.assert_close(embedding, torch.cat([angles.sin(), angles.cos()], dim=-1))


def test_forward_runs_the_live_module_tree() -> None:
    net = unet()
    sample, cond = torch.randn(2, 4, 3), torch.randn(2, 5)
    twin = copy.deepcopy(net)
    torch.testing.assert_close(twin(sample, 4, cond), net(sample, 4, cond), rtol=0, atol=0)
    projection = nn.Conv1d(8, 3, 1)
    nn.init.zeros_(projection.weight)
    nn.init.constant_(projection.bias, 0.5)
    net.final_conv[1] = projection  # replaced after construction
    torch.testing.assert_close(net(sample, 4, cond), torch.full((2, 4, 3), 0.5))
    net.up_modules[0][2] = nn.Identity()  # the up level no longer upsamples
    assert net(sample, 4, cond).shape == (2, 2, 3)


def test_bfloat16_steps_are_embedded_in_float32_then_cast() -> None:
    # bfloat16 holds no odd integer above 256: casting the steps first made 256 and 257 equal
    net = unet().to(torch.bfloat16)
    sample = torch.randn(2, 4, 3).to(torch.bfloat16)
    cond = torch.randn(2, 5).to(torch.bfloat16)
    mlp_inputs: list[torch.Tensor] = []
    net.diffusion_step_encoder[1].register_forward_pre_hook(lambda m, a: mlp_inputs.append(a[0]))
    with torch.no_grad():
        at_256, at_257 = net(sample, 256, cond), net(sample, 257, cond)
    assert at_256.dtype == torch.bfloat16 and not torch.equal(at_256, at_257)
    want = SinusoidalPosEmb(8)(torch.tensor([257.0, 257.0])).to(torch.bfloat16)
    assert mlp_inputs[1].dtype == torch.bfloat16 and torch.equal(mlp_inputs[1], want)


def test_step_embedding_of_half_precision_steps_is_computed_in_float32() -> None:
    steps = torch.tensor([300.0, 1000.0])
    want = SinusoidalPosEmb(8)(steps)
    for dtype in (torch.bfloat16, torch.float16):
        got = SinusoidalPosEmb(8)(steps.to(dtype))  # both values are exact in these dtypes
        assert got.dtype == dtype and torch.equal(got, want.to(dtype))


@pytest.mark.parametrize("shape", [5, None, [4], (4, 3, 1), "ab", [4, None]])
def test_output_shape_refuses_what_is_not_a_length_and_channels(shape) -> None:
    with pytest.raises(ShapeError) as caught:
        unet().output_shape(shape)
    assert str(caught.value) == (
        f"ConditionalUnet1D.output_shape needs the sample's shape (T, 3); got {shape!r}."
    )
