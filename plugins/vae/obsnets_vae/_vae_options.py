"""Validation of the VAE's constructor options (each contradiction is a ConfigError)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from obsnets.errors import ConfigError
from obsnets.validation import check_bounds

__all__ = ["check_vae_options"]


def check_vae_options(
    *,
    input_shapes: Mapping[str, Sequence[int]],
    output_shapes: Mapping[str, Sequence[int]],
    is_cvae: bool,
    goal_conditioned: bool,
    decoder_is_conditioned: bool,
    output_squash: Collection[str],
    output_scales: Mapping[str, float] | None,
    output_ranges: Mapping[str, Sequence[float]] | None,
    prior_learn: bool,
    prior_is_conditioned: bool,
    prior_use_gmm: bool,
    prior_use_categorical: bool,
) -> None:
    """Raise :class:`ConfigError` for a VAE option combination that cannot work."""
    if not input_shapes:
        raise ConfigError("VAE: input_shapes must name at least one input.")
    if not output_shapes:
        raise ConfigError("VAE: output_shapes must name at least one output to reconstruct.")
    if goal_conditioned and not is_cvae:
        raise ConfigError(
            "VAE: goal_shapes make goals extra conditioning inputs, so the VAE must be "
            "conditional; give condition_shapes too."
        )
    if prior_is_conditioned and not is_cvae:
        raise ConfigError(
            "VAE: prior_is_conditioned=True needs conditioning inputs; give condition_shapes "
            "or set prior_is_conditioned=False."
        )
    if is_cvae and not (decoder_is_conditioned or prior_is_conditioned):
        raise ConfigError(
            "VAE: a conditional VAE must condition the decoder and/or the prior; set "
            "decoder_is_conditioned=True or prior_is_conditioned=True."
        )
    if prior_is_conditioned and not prior_learn:
        raise ConfigError("VAE: a conditioned prior must be learned; set prior_learn=True.")
    if prior_use_gmm and prior_use_categorical:
        raise ConfigError(
            "VAE: prior_use_gmm and prior_use_categorical exclude each other; choose one."
        )
    if prior_use_gmm and not prior_learn:
        raise ConfigError("VAE: a GMM prior must be learned; set prior_learn=True.")
    if output_scales is not None and output_ranges is not None:
        raise ConfigError(
            "VAE: give output_scales (with output_squash) or output_ranges, not both."
        )
    if isinstance(output_squash, str):
        raise ConfigError(
            f"VAE: output_squash must be a list of output keys, e.g. [{output_squash!r}]; got "
            f"the string {output_squash!r}."
        )
    squash = set(output_squash)
    if squash != set(output_scales or {}):
        raise ConfigError(
            f"VAE: output_squash {sorted(squash)} and the keys of output_scales "
            f"{sorted(output_scales or {})} must be the same set (one scale per squashed output)."
        )
    for what, keys in (("output_squash", squash), ("output_ranges", set(output_ranges or {}))):
        unknown = sorted(keys - set(output_shapes))
        if unknown:
            raise ConfigError(
                f"VAE: {what} names {unknown}, which are not in output_shapes "
                f"{sorted(output_shapes)}."
            )
    for key, bounds in (output_ranges or {}).items():
        check_bounds("VAE", f"output_ranges[{key!r}]", bounds, expected="(low, high)")
