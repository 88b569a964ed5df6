"""Naming ``torch.nn`` classes in configs: ``"ReLU"``, ``"torch.nn.ReLU"`` or ``"relu"``."""

from __future__ import annotations

from torch import nn

from obsnets.errors import ConfigError, suggestion

__all__ = ["torch_module_class"]


def _module_classes() -> dict[str, type[nn.Module]]:
    return {
        name: obj
        for name, obj in vars(nn).items()
        if isinstance(obj, type) and issubclass(obj, nn.Module)
    }


def torch_module_class(value: str | type[nn.Module] | None, *, what: str) -> type[nn.Module] | None:
    """Return the ``torch.nn`` module class a config names (looked up, never evaluated).

    Args:
        value: A class (returned unchanged), ``None``, or a name: ``"ReLU"``,
            ``"torch.nn.ReLU"``, ``"nn.ReLU"`` or a case-insensitive ``"relu"``.
        what: How to name the argument in messages, e.g. ``"MLP activation"``.

    Raises:
        ConfigError: the name is not a ``torch.nn`` module class (close matches suggested).
    """
    if value is None or isinstance(value, type):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a torch.nn module class or its name; got {value!r}.")
    classes = _module_classes()
    name = value.removeprefix("torch.").removeprefix("nn.")
    found = classes.get(name) or {k.lower(): c for k, c in classes.items()}.get(name.lower())
    if found is None:
        raise ConfigError(
            f"{what}: {value!r} is not a torch.nn module class.{suggestion(name, classes)}"
        )
    return found
