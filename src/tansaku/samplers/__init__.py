"""Samplers: turn an algorithm core into proposals over the user's space.

Each is available by name through :func:`make_sampler` (``"auto"``, the default, ``"random"``,
``"grid"``, ``"sobol"``, ``"nelder-mead"``, ``"coordinate"``, ``"one-axis"``, ``"tpe"``, ``"gp"``,
``"dngo"``, ``"cmaes"``).
The classes are imported lazily on first attribute access so ``import tansaku`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from tansaku.samplers._base import Proposal, Sampler
from tansaku.samplers._registry import SAMPLERS, available_samplers, make_sampler, sampler_class

_LAZY = {target.partition(":")[2]: target.partition(":")[0] for target in SAMPLERS.values()}

__all__ = [
    "SAMPLERS",
    "Proposal",
    "Sampler",
    "available_samplers",
    "make_sampler",
    "sampler_class",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tansaku.samplers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
