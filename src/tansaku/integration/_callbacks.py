"""Study callbacks named in a config: ``callbacks: [mlflow]`` or
``callbacks: [{name: mlflow, tracking_uri: ..., experiment: ...}]`` (the ``callbacks`` run
option, ``tansaku._options``).  Each name maps to a class whose keyword arguments are the
entry's other keys; the class is imported only when named."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tansaku._errors import ConfigError

__all__ = ["CALLBACKS", "make_callbacks"]

#: name -> "module:Class"
CALLBACKS: dict[str, str] = {
    "mlflow": "tansaku.integration.mlflow:MLflowCallback",
}


def make_callbacks(value: Any, field: str = "callbacks") -> list[Callable[..., Any]] | None:
    """``value`` as a list of callbacks: None stays None; each entry is a function
    ``(study, trial)`` (kept), a name or a ``{name: ..., **options}`` mapping (built).  Anything
    else raises a one-line ConfigError naming the entry."""
    if value is None:
        return None
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        raise ConfigError(
            f"must be a list (e.g. [mlflow] or [{{name: mlflow, tracking_uri: ...}}]), "
            f"got {type(value).__name__}",
            field=field,
        )
    return [_make(entry, f"{field}[{i}]") for i, entry in enumerate(value)]


def _make(entry: Any, field: str) -> Callable[..., Any]:
    if isinstance(entry, Mapping):
        options = dict(entry)
        name = options.pop("name", None)
        if name is None:
            raise ConfigError("needs a name (e.g. {name: mlflow, ...})", field=f"{field}.name")
    elif isinstance(entry, str):
        name, options = entry, {}
    elif callable(entry):
        return entry  # type: ignore[no-any-return]
    else:
        raise ConfigError(
            f"must be a callback name, {{name: ..., options...}} or a function (study, trial), "
            f"got {type(entry).__name__}",
            field=field,
        )
    if not isinstance(name, str) or name not in CALLBACKS:
        raise ConfigError(
            f"unknown callback {_shown(name)} (known: {', '.join(CALLBACKS)})",
            field=f"{field}.name",
        )
    module, _, attr = CALLBACKS[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    known = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    for key in options:
        if key not in known:
            raise ConfigError(f"unknown option (known: {', '.join(known)})", field=f"{field}.{key}")
    try:
        return cls(**options)  # type: ignore[no-any-return]
    except ConfigError as e:  # name the entry, not the class
        option = e.field.rsplit(".", 1)[-1] if e.field else ""
        raise ConfigError(e.reason, field=f"{field}.{option}" if option else field) from None


def _shown(value: Any) -> str:
    """A name from a config, quoted and on one line, whatever it is."""
    return repr(value)[:60] if isinstance(value, str) else type(value).__name__
