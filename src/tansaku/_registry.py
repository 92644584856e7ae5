"""Names -> classes, for every registry (samplers, executors, pruners): one way to read a spec
(``"tpe"`` or ``{name: tpe, seed: 0, ...}``), find and import the class lazily, check its
options and build it, with one-line ``ConfigError`` messages naming the field.

Each registry is a ``{name: "module:Class"}`` dict in its own package
(``samplers/_registry.py``, ``executors/_registry.py``, ``pruners/_registry.py``); those modules
keep only what is theirs (aliases, defaults, fixed arguments such as ``n_workers``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Collection, Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku._install import install_hint
from tansaku._space import plain_mapping

__all__ = ["build", "check_options", "load_class", "split_spec"]


def split_spec(spec: Any, kind: str) -> tuple[Any, dict[str, Any]]:
    """``(name, options)`` of a name or a ``{name: ..., **options}`` mapping (a string); ``ConfigError`` for anything else or a mapping without a name."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        options = plain_mapping(spec, f"a {kind} mapping", field=kind)
        name = options.pop("name", None)
        if name is None:
            raise ConfigError(f"a {kind} mapping needs a 'name' key", field=f"{kind}.name")
        if not isinstance(name, str):
            raise ConfigError(f"must be a string, got {name!r}", field=f"{kind}.name")
        return name, options
    raise ConfigError(f"expected a {kind} name or mapping, got {spec!r}", field=kind)


def load_class(
    registry: Mapping[str, str], key: str, name: str, kind: str, *, extra: str | None = None
) -> Any:
    """The class ``registry[key]`` names, imported now.  An unknown ``key`` is a ``ConfigError``
    listing the known names (``name`` as the user wrote it); a registered module missing from
    this version too; a missing third-party module an ``ImportError`` naming the extra to
    install when ``extra`` is given, else the original error."""
    target = registry.get(key)
    if target is None:
        raise ConfigError(f"unknown {kind} {name!r} (known: {', '.join(registry)})", field=kind)
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("tansaku"):
            raise ConfigError(
                f"{kind} {key!r} is not available in this version", field=kind
            ) from None
        if extra is None:
            raise
        raise ImportError(f"{kind} {key!r} needs {e.name}: {install_hint(extra)}") from None
    return getattr(module, cls_name)


def check_options(
    cls: type, options: Collection[str], kind: str, key: str, *, hidden: Collection[str] = ()
) -> None:
    """Each of ``options`` is a keyword of ``cls.__init__`` (any is, when it takes ``**kwargs``);
    ``hidden`` keywords are the caller's to pass, not the user's."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    own = {"self", *hidden}
    for opt in options:
        if opt not in params or opt in own:
            allowed = ", ".join(p for p in params if p not in own)
            raise ConfigError(
                f"unknown option for {kind} {key!r} (allowed: {allowed or 'none'})",
                field=f"{kind}.{opt}",
            )


def build(
    cls: type,
    options: Mapping[str, Any],
    kind: str,
    *,
    errors: tuple[type[Exception], ...] = (TypeError,),
    **fixed: Any,
) -> Any:
    """``cls(**fixed, **options)``; a ``ConfigError`` it raises gets the ``kind.`` prefix on its
    field, and any of ``errors`` becomes a ``ConfigError`` of ``kind``."""
    try:
        return cls(**fixed, **options)
    except ConfigError as e:
        raise ConfigError(e.reason, field=f"{kind}.{e.field}" if e.field else kind) from None
    except errors as e:
        raise ConfigError(str(e), field=kind) from None
