"""Slices: the objective against each parameter, one panel per parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._space import Categorical
from tansaku.report._sample import subsample
from tansaku.report._table import FAILED, PRUNED, as_table, param_kind

__all__ = ["Slice", "Slices", "slices"]

MAX_POINTS = 3000


@dataclass(frozen=True, eq=False)
class Slice:
    """One panel.  ``x`` holds parameter values (for a categorical: the choice index, with
    ``categories`` its labels); ``y`` the objective of COMPLETE trials; ``pruned_*`` pruned trials
    with a value; ``failed_x`` parameter values of failed trials (drawn on the axis)."""

    name: str
    kind: str
    low: float
    high: float
    categories: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    number: np.ndarray
    pruned_x: np.ndarray
    pruned_y: np.ndarray
    failed_x: np.ndarray


@dataclass(frozen=True, eq=False)
class Slices:
    study: str
    direction: str
    message: str | None
    panels: tuple[Slice, ...]
    n_complete: int
    downsampled: bool = False

    @property
    def empty(self) -> bool:
        return self.message is not None


def slices(source: Any, *, params: list[str] | None = None, max_points: int = MAX_POINTS) -> Slices:
    """Objective vs each parameter of a Study / TrialTable (see :class:`Slice`)."""
    t = as_table(source)
    names = list(params) if params is not None else list(t.space.names)
    for n in names:
        if n not in t.space:
            raise ConfigError(f"no parameter {n!r} in study {t.study!r}", field="params")
    ok = np.flatnonzero(t.complete)
    pruned = np.flatnonzero((t.state == PRUNED) & np.isfinite(t.value))
    failed = np.flatnonzero((t.state == FAILED) | ((t.state == PRUNED) & ~np.isfinite(t.value)))
    if ok.size + pruned.size + failed.size == 0:
        return Slices(t.study, t.direction, t.empty_message(), (), 0)
    best = ok[np.argsort(t.value[ok] * t.sign, kind="stable")[:10]]
    shown = subsample(ok, max_points, keep=best)
    shown_p = subsample(pruned, max_points // 4, seed=1)
    shown_f = subsample(failed, max_points // 4, seed=2)
    panels = []
    for n in names:
        dist = t.space[n]
        col = t.params[n]
        cats = tuple(str(c) for c in dist.choices) if isinstance(dist, Categorical) else ()
        lo, hi = (
            (-0.5, len(cats) - 0.5)
            if isinstance(dist, Categorical)
            else (float(dist.low), float(dist.high))
        )
        panels.append(
            Slice(
                name=n,
                kind=param_kind(dist),
                low=lo,
                high=hi,
                categories=cats,
                x=col[shown],
                y=t.value[shown],
                number=t.number[shown],
                pruned_x=col[shown_p],
                pruned_y=t.value[shown_p],
                failed_x=col[shown_f],
            )
        )
    msg = None
    if ok.size == 0:
        msg = f"study {t.study!r} has no complete trial yet ({pruned.size} pruned, {failed.size} failed)"
    return Slices(
        study=t.study,
        direction=t.direction,
        message=msg,
        panels=tuple(panels),
        n_complete=int(ok.size),
        downsampled=shown.size < ok.size,
    )
