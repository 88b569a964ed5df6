"""robomimic behaviours that obsnets' components fix by default, switched back on for migration.

obsnets' own components improve on a few of robomimic's behaviours: every crop corner is
reachable, Gaussian noise is Gaussian, no random numbers are drawn for zero noise, a
covariance output can be flattened. A network migrated from robomimic must instead behave as
robomimic's did, down to the random numbers a seeded training run draws, so the migration
turns on the explicit option each component has for robomimic's behaviour and names every
one it turned on in the build's :class:`~obsnets_robomimic.RobomimicMigrationWarning`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from obsnets.building import constructor_parameters
from obsnets.errors import ObsnetsError
from obsnets_robomimic.class_names import obsnets_name, resolve_robomimic_class

if TYPE_CHECKING:
    from obsnets_robomimic.kwargs_migration import DroppedKwargs

__all__ = ["ROBOMIMIC_QUIRKS", "Quirk", "reproduce_quirks"]


def _always(kwargs: Mapping[str, Any]) -> bool:
    return True


def _without_noise(kwargs: Mapping[str, Any]) -> bool:
    # With noise_std > 0 noise is drawn anyway: the option only matters at robomimic's default 0.
    return not kwargs.get("noise_std", 0.0)


def _with_variance(kwargs: Mapping[str, Any]) -> bool:
    return bool(kwargs.get("output_variance", False))


@dataclass(frozen=True)
class Quirk:
    """One robomimic behaviour and the obsnets constructor option that reproduces it.

    Attributes:
        component: The component's registry name (robomimic's class name).
        option: The constructor argument that switches robomimic's behaviour on.
        value: The value that does.
        behaviour: What robomimic does, for the migration warning.
        applies: Whether the option changes anything for the given (migrated) kwargs.
        standalone_only: Only for the component built on its own, not nested in a core
            (robomimic's tuple output crashed every core; there is nothing to reproduce).
    """

    component: str
    option: str
    value: Any
    behaviour: str
    applies: Callable[[Mapping[str, Any]], bool] = _always
    standalone_only: bool = False


ROBOMIMIC_QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        "CropRandomizer",
        "crop_sampling",
        "robomimic",
        "training crop corners drawn as robomimic draws them, floor(U[0, 1) * (H - h)) on the "
        "CPU, so the last corner H - h is never chosen",
    ),
    Quirk(
        "GaussianNoiseRandomizer",
        "noise_distribution",
        "robomimic_uniform",
        "the noise robomimic really adds: uniform, noise_std * U[0, 1) + noise_mean, not Gaussian",
    ),
    Quirk(
        "SpatialSoftmax",
        "always_draw_noise",
        True,
        "training keypoint noise drawn even at noise_std=0, advancing torch's random stream",
        applies=_without_noise,
    ),
    Quirk(
        "SpatialSoftmax",
        "variance_as_tuple",
        True,
        "output_variance returns the tuple (keypoints (B, K, 2), covariance (B, K, 2, 2))",
        applies=_with_variance,
        standalone_only=True,
    ),
)
"""Every robomimic behaviour the migration reproduces, by component."""


def _component(name: str | type) -> str:
    return name.__name__ if isinstance(name, type) else obsnets_name(name)[0]


def _takes(name: str | type, kind: str | None, option: str) -> bool | None:
    """Whether the class ``name`` resolves to takes ``option`` (None: it does not resolve)."""
    try:
        cls = name if isinstance(name, type) else resolve_robomimic_class(name, kind)
    except ObsnetsError:
        return None  # building will raise the registry's error, naming the missing plugin
    return option in constructor_parameters(cls)


def reproduce_quirks(
    name: str | type,
    kind: str | None,
    kwargs: Mapping[str, Any],
    path: str,
    log: DroppedKwargs,
    *,
    standalone: bool = False,
) -> OrderedDict[str, Any]:
    """Add the options that make component ``name`` behave as robomimic's, and log each.

    Args:
        name: robomimic class name (or dotted path, or class) of the component.
        kind: Its registry kind (``"randomizer"``, ``"pool"``), or ``None`` to infer it.
        kwargs: Its migrated constructor kwargs (not modified).
        path: Where the kwargs sit, for the warning (``"encoder_kwargs.rgb.core_kwargs"``).
        log: Receives one entry per behaviour reproduced.
        standalone: The component is built on its own, not nested in an encoder core.

    Returns:
        A copy of ``kwargs`` with the options added. An option the user set explicitly is
        kept as given.
    """
    migrated = OrderedDict(kwargs)
    component = _component(name)
    for quirk in ROBOMIMIC_QUIRKS:
        if quirk.component != component or quirk.option in migrated:
            continue
        if (quirk.standalone_only and not standalone) or not quirk.applies(migrated):
            continue
        takes = _takes(name, kind, quirk.option)
        if takes is None:
            continue
        if not takes:
            log.reproduce(
                path,
                f"NOT reproduced: {component} takes no {quirk.option!r} (robomimic's "
                f"{quirk.behaviour}); upgrade the plugin providing {component}",
            )
            continue
        migrated[quirk.option] = quirk.value
        log.reproduce(path, f"{component}({quirk.option}={quirk.value!r}): {quirk.behaviour}")
    return migrated
