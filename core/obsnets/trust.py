"""What resolving a component name may import: the one place that decides trust.

A name read from a config or a saved model is data. Resolving it imports a module only when

- an installed plugin declared the component (its lazy import string), or the module belongs
  to the package of such a plugin (``"obsnets_visual:VisualCore"``, a re-export);
- the running program already imported the module (a class in the user's script registers
  itself when defined, so it needs no import at all);
- the caller opted in with ``trust_code=True`` (CLI: ``--trust-code``), which makes any
  other ``"package.module:Class"`` importable, as ``trust_remote_code`` does elsewhere.

Every other name is an error saying how to opt in, and nothing is imported. obsnets never
adds a folder to ``sys.path``; while a saved model loads (:func:`refusing_imports_from` its
folder), no module is imported from inside that folder, even with trust on, so code shipped
with a downloaded model never runs. The trust setting lives in a context variable, so every
nested resolution (a ``core_class`` inside an encoder inside a network) honours the caller's
choice, per thread or task.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

from obsnets.errors import PluginLoadError, UnknownComponentError

__all__ = [
    "code_trusted",
    "import_class",
    "refusing_imports_from",
    "split_qualified_name",
    "top_level_package",
    "trusting_code",
]

_trusted: ContextVar[bool] = ContextVar("obsnets_trust_code", default=False)
_refused_folders: ContextVar[tuple[Path, ...]] = ContextVar("obsnets_refused_folders", default=())

TRUST_HINT = "pass trust_code=True (CLI: --trust-code)"


@contextmanager
def trusting_code(enabled: bool = True) -> Iterator[None]:
    """Within the block, names may import modules nobody declared (when ``enabled``).

    Args:
        enabled: ``True`` trusts the names resolved in the block; ``False`` leaves the
            current setting as it is (so a function given ``trust_code=False`` inside a
            trusted block stays trusted: the outermost caller decides).
    """
    token = _trusted.set(True) if enabled else None
    try:
        yield
    finally:
        if token is not None:
            _trusted.reset(token)


def code_trusted() -> bool:
    """Whether the current thread or task is inside :func:`trusting_code`."""
    return _trusted.get()


@contextmanager
def refusing_imports_from(folder: str | Path) -> Iterator[None]:
    """Within the block, never import a module whose files lie inside ``folder``.

    Args:
        folder: A folder of untrusted files, e.g. a downloaded model's folder.
    """
    token = _refused_folders.set((*_refused_folders.get(), Path(folder).resolve()))
    try:
        yield
    finally:
        _refused_folders.reset(token)


def split_qualified_name(name: str) -> tuple[str, str]:
    """Split ``"package.module:Qual.Name"`` into module and attribute path, checking both.

    Raises:
        UnknownComponentError: a relative module (``".x:Y"``), an empty part (``":Y"``,
            ``"x:"``, ``"a..b:Y"``) or a part that is not a Python identifier.
    """
    module_name, _, attr_path = name.partition(":")
    parts = [*module_name.split("."), *attr_path.split(".")]
    if not all(part.isidentifier() for part in parts):
        raise UnknownComponentError(
            f"{name!r} is not a valid qualified component name: expected "
            f"'package.module:ClassName' with an absolute module path (no leading dot) and "
            f"Python identifiers on both sides of the one ':'."
        )
    return module_name, attr_path


def top_level_package(name: str) -> str:
    """The top-level package of a module or qualified name.

    Args:
        name: A module (``"pkg.sub.module"``), a qualified name (``"pkg.sub:Class"``) or an
            entry-point value (``"pkg.plugin:obj"``).

    Returns:
        ``"pkg"`` for each of those.
    """
    return name.split(":", 1)[0].split(".", 1)[0]


def import_class(target: str, *, declared: bool, owner: str = "") -> type:
    """Return the class ``target`` (``"package.module:Class"``) names, importing if allowed.

    Args:
        target: A qualified name.
        declared: Whether an installed plugin vouches for the module (its own import string,
            or a module of its package); otherwise only an imported module or trust lets it
            be imported.
        owner: Who declared it, for messages (e.g. ``" (declared by plugin 'visual' ...)"``).

    Raises:
        UnknownComponentError: the name is malformed, or importing it needs trust.
        PluginLoadError: the import failed (whatever it raised, ``SystemExit`` included),
            the module lies in a refused folder, or the attribute is missing or not a class.
    """
    module_name, attr_path = split_qualified_name(target)
    module = sys.modules.get(module_name)
    if module is None:
        if not (declared or code_trusted()):
            raise UnknownComponentError(
                f"{target!r} names module {module_name!r}, which no installed plugin declares "
                f"and this program has not imported; obsnets never imports a module because a "
                f"name in a config or saved model asks for it. If it is your own code, import "
                f"{module_name!r} before building (its classes register themselves); if it "
                f"is a plugin, install it; if you trust where this name came from, "
                f"{TRUST_HINT}."
            )
        module = _import(module_name, target, owner)
    obj: Any = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except Exception as exc:  # a module __getattr__ may raise anything
            raise PluginLoadError(
                f"Module {module_name!r} has no attribute {attr_path!r}, so component "
                f"{target!r}{owner} cannot be loaded ({type(exc).__name__}: {exc})."
            ) from exc
    if not isinstance(obj, type):
        raise PluginLoadError(f"{target!r}{owner} is not a class but {type(obj).__name__}.")
    return obj


def _import(module_name: str, target: str, owner: str) -> ModuleType:
    _refuse_if_local(module_name, target)
    try:
        return importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt still stops the program
        raise PluginLoadError(
            f"Cannot import module {module_name!r} for component {target!r}{owner}: "
            f"{type(exc).__name__}: {exc}. Check that the package providing it is installed "
            f"and imports cleanly."
        ) from exc


def _refuse_if_local(module_name: str, target: str) -> None:
    refused = _refused_folders.get()
    top = top_level_package(module_name)
    if not refused or top in sys.modules:
        return  # submodules of an imported package come from that package's own folder
    try:
        spec = importlib.util.find_spec(top)  # locates, runs nothing
    except (ImportError, ValueError):
        return  # the import itself will report it
    if spec is None:
        return
    origin = spec.origin if spec.has_location else None  # "built-in", "frozen": no file
    locations = [origin, *(spec.submodule_search_locations or [])]
    for folder in refused:
        for location in filter(None, locations):
            if Path(location).resolve().is_relative_to(folder):
                raise PluginLoadError(
                    f"{target!r} would import module {top!r} from {location!r}, inside the "
                    f"folder being loaded ({str(folder)!r}). Code shipped with a model is "
                    f"never run, even with trust_code; install the package that provides "
                    f"{top!r} instead."
                )
