"""Pure numpy optimisation cores over the unit cube (``ask() -> ndarray`` / ``tell(x, y)``).

Nothing here imports study, storage or executors; every core minimises and can be tested alone on
the functions in :mod:`tansaku.testing.functions`.  Cores load lazily (they pull in scipy) so
``import tansaku`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from tansaku.algorithms._types import Dim, DimKind

_LAZY = {
    "TPE": "tansaku.algorithms._tpe",
    "GPOptimizer": "tansaku.algorithms._gp",
    "DNGOOptimizer": "tansaku.algorithms._dngo",
    "CoordinateSearch": "tansaku.algorithms._coordinate",
    "NelderMead": "tansaku.algorithms._nelder_mead",
    "OneAxisSearch": "tansaku.algorithms._one_axis",
    "SimpleGP": "tansaku.algorithms._surrogate",
    "Speculation": "tansaku.algorithms._trajectory",
    "TrajectoryCore": "tansaku.algorithms._trajectory",
}

__all__ = ["Dim", "DimKind", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tansaku.algorithms' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
