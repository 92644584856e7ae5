"""The empirical distribution (ECDF) of the complete trials' values: which share of the trials
reached each value or better."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku.report._table import as_table

__all__ = ["ECDF", "ecdf"]

MAX_POINTS = 2000


@dataclass(frozen=True, eq=False)
class ECDF:
    """``value`` ascending and ``fraction[i]``: the share of complete trials whose value is at
    most ``value[i]`` (when minimising; at least it, read from the right, when maximising —
    ``fraction`` is always the plain ECDF, P(value <= v)).  At most ``MAX_POINTS`` steps are
    kept (evenly by rank, both ends always)."""

    study: str
    direction: str
    message: str | None
    value: np.ndarray
    fraction: np.ndarray
    n_complete: int

    @property
    def empty(self) -> bool:
        return self.message is not None


def ecdf(source: Any, *, max_points: int = MAX_POINTS) -> ECDF:
    """The ECDF of a Study / TrialTable's complete values (see :class:`ECDF`)."""
    t = as_table(source)
    v = np.sort(t.value[t.complete])
    n = int(v.size)
    if n == 0:
        e = np.zeros(0)
        return ECDF(t.study, t.direction, t.empty_message("complete trials"), e, e, 0)
    frac = np.arange(1, n + 1) / n
    if n > max_points:
        cut = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
        v, frac = v[cut], frac[cut]
    return ECDF(t.study, t.direction, None, v, frac, n)
