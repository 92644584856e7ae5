"""Pruners: stop unpromising trials early from their intermediate reports."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku._space import plain_mapping
from tansaku.pruners._asha import ASHAPruner
from tansaku.pruners._base import NopPruner, Pruner
from tansaku.pruners._hyperband import HyperbandPruner
from tansaku.pruners._median import MedianPruner

__all__ = [
    "PRUNERS",
    "ASHAPruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "Pruner",
    "make_pruner",
]

PRUNERS: dict[str, str] = {
    "none": "tansaku.pruners._base:NopPruner",
    "median": "tansaku.pruners._median:MedianPruner",
    "asha": "tansaku.pruners._asha:ASHAPruner",
    "hyperband": "tansaku.pruners._hyperband:HyperbandPruner",
}


def make_pruner(spec: str | Mapping[str, Any] | Pruner | None) -> Pruner | None:
    if spec is None or isinstance(spec, Pruner):
        return spec
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping):
        options = plain_mapping(spec, "a pruner mapping", field="pruner")
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError("a pruner mapping needs a 'name' key", field="pruner.name")
    else:
        raise ConfigError(f"expected a pruner name or mapping, got {spec!r}", field="pruner")
    target = PRUNERS.get(name.strip().lower())
    if target is None:
        raise ConfigError(f"unknown pruner {name!r} (known: {', '.join(PRUNERS)})", field="pruner")
    module_name, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ModuleNotFoundError:
        raise ConfigError(
            f"pruner {name!r} is not available in this version", field="pruner"
        ) from None
    try:
        return cls(**options)
    except ConfigError as e:
        raise ConfigError(e.reason, field=f"pruner.{e.field}" if e.field else "pruner") from None
    except TypeError as e:
        raise ConfigError(str(e), field="pruner") from None
