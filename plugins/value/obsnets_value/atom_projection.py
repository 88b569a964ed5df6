"""``project_values_onto_atoms``: the C51 projection of a distribution onto a value grid."""

from __future__ import annotations

import torch

from obsnets.errors import ShapeError, format_shape

__all__ = ["project_values_onto_atoms"]


def project_values_onto_atoms(
    values: torch.Tensor, probabilities: torch.Tensor, atoms: torch.Tensor
) -> torch.Tensor:
    """Project a discrete distribution onto a fixed, increasing grid of atoms.

    Each value is clamped to ``[atoms[0], atoms[-1]]``; its probability mass is split
    between the two neighbouring atoms in proportion to how close it lies to each (linear
    interpolation), as in C51 (Bellemare et al., 2017). Mass is conserved, and a distribution
    already supported on the grid is returned unchanged. The grid need not be uniform.

    Args:
        values: ``(..., M)`` support of the distribution to project, e.g. Bellman targets
            ``r + gamma * atoms``.
        probabilities: ``(..., M)`` their probabilities.
        atoms: ``(N,)`` (or ``(1, N)``) strictly increasing target grid.

    Returns:
        ``(..., N)`` probabilities on ``atoms``.

    Differences from robomimic: ``robomimic.utils.loss_utils.project_values_onto_atoms`` used
    ``atoms[1]`` as the upper end of the grid, so all mass above the second atom collapsed
    onto it; here the upper end is ``atoms[-1]``.
    """
    if values.shape != probabilities.shape:
        raise ShapeError(
            f"project_values_onto_atoms: values and probabilities must have one shape; got "
            f"{format_shape(values.shape)} and {format_shape(probabilities.shape)}."
        )
    grid = atoms.reshape(-1) if atoms.dim() == 2 and atoms.shape[0] == 1 else atoms
    if grid.dim() != 1 or grid.numel() == 0:
        raise ShapeError(
            f"project_values_onto_atoms: atoms must be (N,) or (1, N); got "
            f"{format_shape(atoms.shape)}."
        )
    num_atoms = grid.numel()
    out_shape = (*values.shape[:-1], num_atoms)
    if num_atoms == 1:
        return probabilities.sum(dim=-1, keepdim=True)
    if not bool((grid[1:] > grid[:-1]).all()):
        raise ShapeError("project_values_onto_atoms: atoms must be strictly increasing.")
    grid = grid.to(values.dtype)
    clamped = values.clamp(grid[0], grid[-1])
    # index of the first atom >= value, kept in [1, N-1] so (upper - 1, upper) brackets it
    upper = torch.searchsorted(grid, clamped.contiguous()).clamp(1, num_atoms - 1)
    lower = upper - 1
    low_atom, high_atom = grid[lower], grid[upper]
    weight_high = (clamped - low_atom) / (high_atom - low_atom)
    projected = probabilities.new_zeros(out_shape)
    projected.scatter_add_(-1, lower, probabilities * (1.0 - weight_high))
    projected.scatter_add_(-1, upper, probabilities * weight_high)
    return projected
