"""Parallel coordinates: one polyline per trial across the parameters and the objective."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._space import Categorical, Int
from tansaku.report._sample import subsample
from tansaku.report._table import FAILED, PRUNED, TrialTable, as_table, param_kind

__all__ = ["Axis", "ParallelCoordinates", "axis_ticks", "parallel_coordinates"]

MAX_LINES = 1000
MAX_CATEGORY_LABELS = 24


@dataclass(frozen=True)
class Axis:
    """One vertical axis: ``ticks`` are positions in [0, 1] and ``labels`` what they mean."""

    name: str
    kind: str  # float | log | int | categorical | objective
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class ParallelCoordinates:
    """``lines`` is ``(n_lines, n_axes)`` in [0, 1] (nan: no value on that axis, e.g. the
    objective of a failed trial); ``state`` gives each line's state code and ``value`` its
    objective (nan if none); the objective axis spans ``objective_range``.  Complete lines come first, worst to best, so the best are drawn on
    top; ``n_trials`` counts every finished trial, ``lines`` may be a sample of them."""

    study: str
    direction: str
    message: str | None
    axes: tuple[Axis, ...]
    lines: np.ndarray
    value: np.ndarray
    state: np.ndarray
    number: np.ndarray
    n_trials: int
    objective_range: tuple[float, float] = (0.0, 1.0)

    @property
    def empty(self) -> bool:
        return self.message is not None


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def axis_ticks(t: TrialTable, name: str, n: int = 5) -> Axis:
    """Ticks for parameter ``name`` in unit coordinates (see :meth:`TrialTable.unit`)."""
    dist = t.space[name]
    kind = param_kind(dist)
    if isinstance(dist, Categorical):
        k = len(dist.choices)
        step = max(1, math.ceil(k / MAX_CATEGORY_LABELS))
        cpos = [(i + 0.5) / k for i in range(0, k, step)]
        labels = [_short(str(dist.choices[i])) for i in range(0, k, step)]
        return Axis(name, kind, tuple(cpos), tuple(labels))
    lo, hi = float(dist.low), float(dist.high)
    if kind == "log":
        vals = np.exp(np.linspace(math.log(lo), math.log(hi), n))
    else:
        vals = np.linspace(lo, hi, n)
    if isinstance(dist, Int):
        vals = np.unique(np.round(vals))
    pos = t.unit(name, vals)
    labels = [str(int(v)) if isinstance(dist, Int) else _fmt(float(v)) for v in vals]
    return Axis(name, kind, tuple(float(p) for p in pos), tuple(labels))


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def objective_scale(values: np.ndarray) -> tuple[float, float]:
    """Range for an objective axis: min..max, unless outliers would squash everything, then the
    1st..99th percentile (values outside are clipped to the ends)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if v.size >= 50:
        plo, phi = np.percentile(v, [1, 99])
        if (hi - lo) > 20 * max(phi - plo, 1e-300):
            lo, hi = float(plo), float(phi)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def parallel_coordinates(
    source: Any, *, params: list[str] | None = None, max_lines: int = MAX_LINES
) -> ParallelCoordinates:
    """Polylines of finished trials over ``params`` (default: all) and the objective."""
    t = as_table(source)
    names = list(params) if params is not None else list(t.space.names)
    for n in names:
        if n not in t.space:
            raise ConfigError(f"no parameter {n!r} in study {t.study!r}", field="params")
    ok = t.complete
    pruned = np.flatnonzero(t.state == PRUNED)
    failed = np.flatnonzero(t.state == FAILED)
    n_finished = int(ok.sum()) + pruned.size + failed.size
    if n_finished == 0:
        return ParallelCoordinates(
            t.study,
            t.direction,
            t.empty_message(),
            (),
            np.empty((0, len(names) + 1)),
            np.empty(0),
            np.empty(0, dtype=np.int8),
            np.empty(0, dtype=np.int64),
            0,
        )
    idx = np.flatnonzero(ok)
    # keep the best 10% of the budget for sure: they are what people look for
    order = idx[np.argsort(t.value[idx] * t.sign, kind="stable")]
    best = order[: max(1, max_lines // 10)]
    shown = subsample(idx, max_lines, keep=best)
    extra = max(1, max_lines // 5)
    shown_p = subsample(pruned, extra, seed=1)
    shown_f = subsample(failed, extra, seed=2)
    # complete lines worst -> best so the best are on top; then pruned, failed
    shown = shown[np.argsort(-t.value[shown] * t.sign, kind="stable")]
    rows = np.concatenate([shown, shown_p, shown_f])
    cols = [np.clip(t.unit(n, t.params[n][rows]), 0.0, 1.0) for n in names]
    lo, hi = objective_scale(t.value[idx])
    obj = np.clip((t.value[rows] - lo) / (hi - lo), 0.0, 1.0)
    obj[~np.isfinite(t.value[rows])] = np.nan
    lines = np.column_stack([*cols, obj]) if rows.size else np.empty((0, len(names) + 1))
    ticks = np.linspace(lo, hi, 5)
    axes = (
        *(axis_ticks(t, n) for n in names),
        Axis(
            "objective",
            "objective",
            tuple(float(x) for x in np.linspace(0, 1, 5)),
            tuple(_fmt(float(x)) for x in ticks),
        ),
    )
    return ParallelCoordinates(
        study=t.study,
        direction=t.direction,
        message=None,
        axes=axes,
        lines=lines,
        value=t.value[rows],
        state=t.state[rows],
        number=t.number[rows],
        n_trials=n_finished,
        objective_range=(lo, hi),
    )
