"""What an algorithm core knows about its search space: nothing but the unit cube.

Cores live in ``tansaku.algorithms`` and never import study, storage or executors.  A core sees
points in ``[0, 1]^d``; the sampler adapter maps the user's space to that cube.  ``Dim`` tells a
core how a coordinate will be decoded so model-based cores can treat it natively:

* ``continuous``: any value in ``[0, 1]`` is distinct.
* ``discrete``: ``levels`` ordered values (ints, stepped floats); the adapter rounds.
* ``categorical``: ``levels`` unordered choices; choice ``i`` is encoded at ``(i + 0.5) / levels``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Dim", "DimKind"]

DimKind = Literal["continuous", "discrete", "categorical"]


@dataclass(frozen=True)
class Dim:
    """One coordinate of the unit cube as a core sees it."""

    kind: DimKind = "continuous"
    levels: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "discrete", "categorical"):
            raise ValueError(
                f"Dim.kind must be continuous, discrete or categorical, got {self.kind!r}"
            )
        if self.kind == "continuous":
            if self.levels is not None:
                raise ValueError("Dim.levels must be None for a continuous dimension")
        elif self.levels is None or self.levels < 1:
            raise ValueError(
                f"Dim.levels must be a positive int for {self.kind}, got {self.levels!r}"
            )
