"""TanhWrappedDistribution: change of variables, finiteness at the bounds, sampling."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.distributions as D

from obsnets.errors import ShapeError
from obsnets_policy.tanh_distribution import TanhWrappedDistribution


def _gaussian(batch: int = 4, dim: int = 3, seed: int = 0) -> D.Independent:
    gen = torch.Generator().manual_seed(seed)
    loc = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    scale = torch.rand(batch, dim, generator=gen, dtype=torch.float64) + 0.2
    return D.Independent(D.Normal(loc, scale), 1)


def _reference_log_prob(base: D.Independent, value: torch.Tensor, scale: float) -> torch.Tensor:
    """log p(a) = sum_i [log N(atanh(a_i / s)) - log(s) - log(1 - (a_i / s)^2)], in float64."""
    unit = value / scale
    z = torch.atanh(unit)
    normal = base.base_dist
    per_dim = normal.log_prob(z) - math.log(scale) - torch.log1p(-unit * unit)
    return per_dim.sum(-1)


def test_building_emits_no_warning_and_shapes_follow_the_base() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist = TanhWrappedDistribution(_gaussian())
    assert dist.batch_shape == torch.Size([4])
    assert dist.event_shape == torch.Size([3])
    assert dist.arg_constraints == {}


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_log_prob_matches_change_of_variables(scale: float) -> None:
    base = _gaussian()
    dist = TanhWrappedDistribution(base, scale=scale)
    gen = torch.Generator().manual_seed(1)
    value = (torch.rand(4, 3, generator=gen, dtype=torch.float64) * 1.98 - 0.99) * scale
    expected = _reference_log_prob(base, value, scale)
    torch.testing.assert_close(dist.log_prob(value), expected, rtol=1e-10, atol=1e-10)


def test_log_prob_with_pre_tanh_value_agrees_and_is_exact_for_large_z() -> None:
    base = _gaussian()
    dist = TanhWrappedDistribution(base)
    value, z = dist.sample(return_pretanh_value=True)
    torch.testing.assert_close(dist.log_prob(value, pre_tanh_value=z), dist.log_prob(value))
    # z = 20: tanh(z) rounds to 1, yet log(1 - tanh(z)^2) = log(4) - 2z + O(e^-2z)
    big = torch.full((4, 3), 20.0, dtype=torch.float64)
    lp = dist.log_prob(torch.tanh(big), pre_tanh_value=big)
    expected = base.log_prob(big) - 3 * (math.log(4.0) - 40.0)
    torch.testing.assert_close(lp, expected)


@pytest.mark.parametrize("bound", [1.0, 1.0 - 1e-7, 1.0 + 1e-6])
def test_log_prob_stays_finite_at_the_bounds(bound: float) -> None:
    base = D.Independent(D.Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
    dist = TanhWrappedDistribution(base)
    value = torch.tensor([[bound, -bound, 0.0], [bound, bound, -bound]])
    value.requires_grad_(True)
    lp = dist.log_prob(value)
    assert torch.isfinite(lp).all()
    lp.sum().backward()
    assert torch.isfinite(value.grad).all()


def test_log_prob_sums_the_jacobian_over_the_event_of_a_mixture() -> None:
    means = torch.randn(5, 2, 3, dtype=torch.float64)
    stds = torch.rand(5, 2, 3, dtype=torch.float64) + 0.3
    logits = torch.randn(5, 2, dtype=torch.float64)
    mixture = D.MixtureSameFamily(
        D.Categorical(logits=logits), D.Independent(D.Normal(means, stds), 1)
    )
    dist = TanhWrappedDistribution(mixture)
    value = torch.rand(5, 3, dtype=torch.float64) * 1.8 - 0.9
    z = torch.atanh(value)
    per_mode = D.Normal(means, stds).log_prob(z.unsqueeze(1)).sum(-1)
    expected = torch.logsumexp(per_mode + torch.log_softmax(logits, -1), -1) - torch.log1p(
        -value * value
    ).sum(-1)
    torch.testing.assert_close(dist.log_prob(value), expected)


def test_samples_lie_in_the_scaled_interval_and_rsample_is_differentiable() -> None:
    loc = torch.zeros(64, 2, requires_grad=True)
    dist = TanhWrappedDistribution(D.Independent(D.Normal(loc, torch.full((64, 2), 3.0)), 1), 2.0)
    torch.manual_seed(0)
    sample = dist.sample()
    assert not sample.requires_grad
    assert sample.abs().max() <= 2.0
    assert sample.abs().max() > 1.0  # a std of 3 reaches well past tanh's linear range
    dist.rsample().sum().backward()
    assert loc.grad is not None and torch.isfinite(loc.grad).all()


def test_mean_is_the_pre_tanh_mean_as_in_robomimic() -> None:
    loc = torch.tensor([[3.0, -2.0]])
    dist = TanhWrappedDistribution(D.Independent(D.Normal(loc, torch.ones(1, 2)), 1))
    torch.testing.assert_close(dist.mean, loc)


def test_wrong_action_width_is_an_error() -> None:
    dist = TanhWrappedDistribution(_gaussian(dim=3))
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4, 7\)"):
        dist.log_prob(torch.zeros(4, 7, dtype=torch.float64))
