"""Behaviour of the value networks, the value distribution and the atom projection."""

from __future__ import annotations

import pytest
import torch

from obsnets.errors import ConfigError, InvalidKwargsError, ShapeError
from obsnets_value import (
    ActionValueNetwork,
    DiscreteValueDistribution,
    DistributionalActionValueNetwork,
    ValueNetwork,
    project_values_onto_atoms,
)

OBS = {"robot0_eef_pos": (3,), "object": (5,)}
MODALITIES = {"low_dim": ["robot0_eef_pos", "object", "goal_pos"]}


def obs_batch(batch: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(batch, *s, generator=g) for k, s in OBS.items()}


def distributional(num_atoms: int = 11) -> DistributionalActionValueNetwork:
    torch.manual_seed(0)
    return DistributionalActionValueNetwork(
        obs_shapes=OBS,
        ac_dim=2,
        mlp_layer_dims=[16],
        value_bounds=(-5.0, 5.0),
        num_atoms=num_atoms,
        obs_modalities=MODALITIES,
    )


# -- networks ----------------------------------------------------------------------------------


def test_value_bounds_rescale_tanh_of_the_head_output() -> None:
    net = ValueNetwork(OBS, [8], value_bounds=(-2.0, 3.0), obs_modalities=MODALITIES)
    head = net.nets["decoder"].nets["value"]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(0.7)
    values = net(obs_batch())
    expected = 0.5 + 2.5 * torch.tanh(torch.tensor(0.7))  # offset (hi+lo)/2, scale (hi-lo)/2
    assert values.shape == (4, 1)
    torch.testing.assert_close(values, expected.expand(4, 1))


def test_unbounded_value_is_the_raw_head_output() -> None:
    net = ValueNetwork(OBS, [8], obs_modalities=MODALITIES)
    head = net.nets["decoder"].nets["value"]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-40.0)
    torch.testing.assert_close(net(obs_batch()), torch.full((4, 1), -40.0))
    assert net.output_shape() == [1]


def test_action_value_depends_on_the_action_appended_last() -> None:
    torch.manual_seed(0)
    net = ActionValueNetwork(OBS, ac_dim=2, mlp_layer_dims=[8], obs_modalities=MODALITIES)
    assert net.nets["mlp"]._model[0].in_features == 3 + 5 + 2
    obs = obs_batch()
    q1 = net(obs, torch.zeros(4, 2))
    q2 = net(obs, torch.ones(4, 2))
    assert q1.shape == (4, 1)
    assert not torch.allclose(q1, q2)


def test_goal_conditioned_value_uses_the_goal() -> None:
    torch.manual_seed(0)
    net = ValueNetwork(OBS, [8], goal_shapes={"goal_pos": (3,)}, obs_modalities=MODALITIES)
    obs = obs_batch()
    v1 = net(obs, goal_dict={"goal_pos": torch.zeros(4, 3)})
    v2 = net(obs, goal_dict={"goal_pos": torch.ones(4, 3)})
    assert not torch.allclose(v1, v2)


def test_distributional_mean_is_atoms_times_probabilities() -> None:
    net = distributional()
    obs, acts = obs_batch(), torch.rand(4, 2) * 2 - 1
    dist = net.forward_train(obs, acts)
    atoms = torch.linspace(-5.0, 5.0, 11)
    torch.testing.assert_close(dist.values, atoms.unsqueeze(0))
    torch.testing.assert_close(dist.probs.sum(-1), torch.ones(4))
    manual_mean = (dist.probs * atoms).sum(-1)
    torch.testing.assert_close(dist.mean(), manual_mean)
    torch.testing.assert_close(net(obs, acts), manual_mean)
    manual_var = (dist.probs * (atoms - manual_mean[:, None]) ** 2).sum(-1)
    torch.testing.assert_close(dist.variance(), manual_var)
    assert net.output_shape() == list(net(obs, acts).shape[1:])


def test_distributional_logits_are_normalised_log_probs() -> None:
    net = distributional()
    dist = net.forward_train(obs_batch(), torch.zeros(4, 2))
    torch.testing.assert_close(dist.logits.exp(), dist.probs)
    torch.testing.assert_close(torch.logsumexp(dist.logits, -1), torch.zeros(4))


def test_atoms_follow_dtype_and_stay_out_of_the_state_dict() -> None:
    net = distributional().double()
    assert "value_atoms" not in net.state_dict()
    obs = {k: v.double() for k, v in obs_batch().items()}
    dist = net.forward_train(obs, torch.zeros(4, 2, dtype=torch.float64))
    assert dist.values.dtype == torch.float64 and dist.mean().dtype == torch.float64


# -- DiscreteValueDistribution ------------------------------------------------------------------


def test_sample_draws_atoms_with_their_probabilities() -> None:
    values = torch.tensor([[-1.0, 0.0, 2.0, 7.0]])
    probs = torch.tensor([[0.1, 0.6, 0.3, 0.0], [0.5, 0.0, 0.0, 0.5]])
    dist = DiscreteValueDistribution(values, probs=probs)
    torch.manual_seed(0)
    draws = dist.sample((20000,))
    assert draws.shape == (20000, 2)
    for row in range(2):
        freq = torch.stack([(draws[:, row] == v).float().mean() for v in values[0]])
        torch.testing.assert_close(freq, probs[row], atol=0.015, rtol=0)
    assert dist.sample().shape == (2,)


def test_sample_accepts_a_per_row_support() -> None:
    values = torch.tensor([[0.0, 1.0], [10.0, 20.0]])
    dist = DiscreteValueDistribution(values, probs=torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    torch.testing.assert_close(dist.sample((3,)), torch.tensor([[1.0, 10.0]] * 3))


def test_distribution_rejects_bad_arguments() -> None:
    values = torch.zeros(1, 3)
    with pytest.raises(ConfigError, match="exactly one of probs and logits"):
        DiscreteValueDistribution(values)
    with pytest.raises(ConfigError, match="exactly one"):
        DiscreteValueDistribution(values, probs=torch.ones(1, 3) / 3, logits=torch.zeros(1, 3))
    with pytest.raises(ShapeError, match=r"number of atoms 4.*\(1, 3\)"):
        DiscreteValueDistribution(values, logits=torch.zeros(2, 4))


# -- project_values_onto_atoms ------------------------------------------------------------------


@pytest.mark.parametrize(
    "atoms", [torch.linspace(-10, 10, 51), torch.tensor([-3.0, -1.0, 0.0, 0.5, 4.0])]
)
def test_projection_onto_its_own_grid_is_the_identity(atoms: torch.Tensor) -> None:
    probs = torch.softmax(
        torch.randn(6, atoms.numel(), generator=torch.Generator().manual_seed(1)), -1
    )
    probs[0] = 0.0
    probs[0, -1] = 1.0  # all mass on the top atom (robomimic moved it to atom 1)
    projected = project_values_onto_atoms(atoms.expand(6, -1), probs, atoms)
    assert torch.equal(projected, probs)


def test_projection_splits_mass_between_neighbours_and_clamps() -> None:
    atoms = torch.tensor([0.0, 1.0, 2.0])
    values = torch.tensor([[0.25, 1.5, 9.0, -4.0]])
    probs = torch.tensor([[0.4, 0.2, 0.3, 0.1]])
    projected = project_values_onto_atoms(values, probs, atoms)
    expected = torch.tensor([[0.4 * 0.75 + 0.1, 0.4 * 0.25 + 0.2 * 0.5, 0.2 * 0.5 + 0.3]])
    torch.testing.assert_close(projected, expected)
    torch.testing.assert_close(projected.sum(-1), probs.sum(-1))


def test_projection_of_shifted_targets_conserves_mass_and_mean_inside_the_grid() -> None:
    atoms = torch.linspace(-10, 10, 51)
    probs = torch.softmax(torch.randn(3, 51, generator=torch.Generator().manual_seed(2)), -1)
    targets = 0.5 + 0.9 * atoms.expand(3, -1)  # a Bellman update, stays inside [-10, 10]
    projected = project_values_onto_atoms(targets, probs, atoms.unsqueeze(0))
    torch.testing.assert_close(projected.sum(-1), torch.ones(3))
    torch.testing.assert_close((projected * atoms).sum(-1), (probs * targets).sum(-1))


def test_projection_rejects_unsorted_atoms_and_mismatched_shapes() -> None:
    with pytest.raises(ShapeError, match="strictly increasing"):
        project_values_onto_atoms(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([1.0, 0.0]))
    with pytest.raises(ShapeError, match="one shape"):
        project_values_onto_atoms(torch.zeros(1, 2), torch.ones(1, 3), torch.tensor([0.0, 1.0]))


# -- errors ------------------------------------------------------------------------------------


def test_missing_goal_dict_is_a_clear_error() -> None:
    net = ActionValueNetwork(OBS, 2, [8], goal_shapes={"goal_pos": (3,)}, obs_modalities=MODALITIES)
    with pytest.raises(InvalidKwargsError, match=r"ActionValueNetwork.*goal_pos.*goal_dict=None"):
        net(obs_batch(), torch.zeros(4, 2))


@pytest.mark.parametrize("acts", [torch.zeros(4, 3), torch.zeros(4), torch.zeros(4, 2, 1)])
def test_actions_of_the_wrong_shape_are_a_shape_error(acts: torch.Tensor) -> None:
    net = distributional()
    with pytest.raises(
        ShapeError, match=r"DistributionalActionValueNetwork expects actions of shape \(B, 2\)"
    ):
        net.forward_train(obs_batch(), acts)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value_bounds": (3.0, -2.0)}, "low < high"),
        ({"value_bounds": (1.0,)}, "pair"),
        ({"value_bounds": None}, "'value_bounds' is required and cannot be None"),
        ({"num_atoms": 1}, "num_atoms must be an int >= 2"),
        ({"ac_dim": 0}, r"'ac_dim' must be an int in \[1, 65536\]; got 0"),
        ({"obs_modalities": {"rgb": ["action"]}}, "'action' under 'rgb'"),
    ],
)
def test_invalid_construction_is_a_config_error(kwargs: dict, match: str) -> None:
    arguments = {
        "obs_shapes": OBS,
        "ac_dim": 2,
        "mlp_layer_dims": [8],
        "value_bounds": (-1.0, 1.0),
        "num_atoms": 5,
        "obs_modalities": MODALITIES,
    }
    arguments.update(kwargs)
    # a missing or mistyped argument is an InvalidKwargsError (a TypeError), a bad value a
    # ConfigError
    with pytest.raises((ConfigError, InvalidKwargsError), match=match):
        DistributionalActionValueNetwork(**arguments)


def test_an_observation_named_action_is_refused() -> None:
    with pytest.raises(ConfigError, match="'action' itself"):
        ActionValueNetwork({"action": (2,)}, 2, [8])
