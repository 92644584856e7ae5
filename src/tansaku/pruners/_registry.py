"""Pruner names -> classes (see :mod:`tansaku._registry`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tansaku._registry import build, load_class, split_spec
from tansaku.pruners._base import Pruner

__all__ = ["PRUNERS", "make_pruner"]

PRUNERS: dict[str, str] = {
    "none": "tansaku.pruners._base:NopPruner",
    "median": "tansaku.pruners._median:MedianPruner",
    "asha": "tansaku.pruners._asha:ASHAPruner",
    "hyperband": "tansaku.pruners._hyperband:HyperbandPruner",
}


def make_pruner(spec: str | Mapping[str, Any] | Pruner | None) -> Pruner | None:
    """A pruner from a name or ``{name: ..., **options}``; a Pruner or None passes through."""
    if spec is None or isinstance(spec, Pruner):
        return spec
    name, options = split_spec(spec, "pruner")
    cls = load_class(PRUNERS, name.strip().lower(), name, "pruner")
    return build(cls, options, "pruner")
