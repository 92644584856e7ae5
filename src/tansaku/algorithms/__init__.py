"""Pure numpy optimisation cores over the unit cube (``ask() -> ndarray`` / ``tell(x, y)``).

Nothing here imports study, storage or executors; every core minimises and can be tested alone on
the functions in :mod:`tansaku.testing.functions`.
"""

from __future__ import annotations

from tansaku.algorithms._types import Dim, DimKind

__all__ = ["Dim", "DimKind"]
