"""Contours: the objective over pairs of parameters (the most important numeric ones), as a
smooth fit of the complete trials on a grid, with the trials themselves on top."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._space import Categorical
from tansaku.report._sample import subsample
from tansaku.report._table import as_table

__all__ = ["Contour", "ContourPair", "contour"]

GRID = 40
MAX_POINTS = 2000
#: kernel width of the fit, in the unit cube of the pair
BANDWIDTH = 0.08


@dataclass(frozen=True, eq=False)
class ContourPair:
    """One panel: ``grid_x`` / ``grid_y`` (parameter values, geometric for log parameters) and
    ``z[j, i]``, the fitted objective at ``(grid_x[i], grid_y[j])`` (nan far from every trial);
    ``x`` / ``y`` / ``value`` / ``number``: the complete trials drawn as points."""

    x_name: str
    y_name: str
    x_log: bool
    y_log: bool
    grid_x: np.ndarray
    grid_y: np.ndarray
    z: np.ndarray
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    number: np.ndarray


@dataclass(frozen=True, eq=False)
class Contour:
    study: str
    direction: str
    message: str | None
    pairs: tuple[ContourPair, ...]
    n_complete: int

    @property
    def empty(self) -> bool:
        return self.message is not None


def _axis(dist: Any) -> tuple[np.ndarray, bool]:
    lo, hi = float(dist.low), float(dist.high)
    log = bool(getattr(dist, "log", False))
    if log:
        return np.geomspace(lo, hi, GRID), True
    return np.linspace(lo, hi, GRID), False


def _fit(ux: np.ndarray, uy: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Gaussian-kernel (Nadaraya-Watson) mean of ``value`` on the GRID x GRID unit grid; nan
    where the kernel weight is negligible (no trial near)."""
    g = np.linspace(0.0, 1.0, GRID)
    wx = np.exp(-0.5 * ((g[:, None] - ux[None, :]) / BANDWIDTH) ** 2)  # (GRID, n)
    wy = np.exp(-0.5 * ((g[:, None] - uy[None, :]) / BANDWIDTH) ** 2)
    weight = wy @ wx.T  # (GRID_y, GRID_x): sum over trials of wy * wx
    total = (wy * value[None, :]) @ wx.T
    with np.errstate(invalid="ignore", divide="ignore"):
        z = total / weight
    z[weight < 1e-3] = math.nan
    return z


def contour(
    source: Any,
    *,
    params: list[str] | None = None,
    n_pairs: int = 3,
    max_points: int = MAX_POINTS,
    ranking: tuple[str, ...] | list[str] | None = None,
) -> Contour:
    """Contours of a Study / TrialTable over pairs of its numeric parameters: the pairs among
    ``params`` if given, else among the (up to three) most important ones (see
    :func:`tansaku.report.importance`; ``ranking``: that order when already computed), at most
    ``n_pairs`` panels."""
    from tansaku.report._importance import importance

    t = as_table(source)
    numeric = [n for n in t.space.names if not isinstance(t.space[n], Categorical)]
    ok = np.flatnonzero(t.complete)
    e = t.study
    if ok.size < 3:
        msg = t.empty_message("three complete trials")
        return Contour(e, t.direction, msg, (), int(ok.size))
    if params is not None:
        for n in params:
            if n not in t.space:
                raise ConfigError(f"no parameter {n!r} in study {t.study!r}", field="params")
            if isinstance(t.space[n], Categorical):
                raise ConfigError(
                    f"parameter {n!r} is categorical: a contour needs numeric ones", field="params"
                )
        chosen = list(params)
    else:
        if ranking is None:  # numpy's forest: no scikit-learn import for a ranking
            imp = importance(t, model="numpy")
            ranking = () if imp.empty else imp.names
        ranked = [n for n in ranking if n in numeric]
        chosen = (ranked + [n for n in numeric if n not in ranked])[:3]
    if len(chosen) < 2:
        return Contour(e, t.direction, "a contour needs two numeric parameters", (), int(ok.size))
    pairs = []
    value = t.value[ok]
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            if len(pairs) >= n_pairs:
                break
            xa, ya = t.params[a][ok], t.params[b][ok]
            have = np.isfinite(xa) & np.isfinite(ya)
            if have.sum() < 3:
                continue
            ux, uy = t.unit(a, xa[have]), t.unit(b, ya[have])
            gx, xlog = _axis(t.space[a])
            gy, ylog = _axis(t.space[b])
            idx = ok[have]
            best = idx[np.argsort(t.value[idx] * t.sign, kind="stable")[:10]]
            shown = subsample(idx, max_points, keep=best)
            pairs.append(
                ContourPair(
                    x_name=a,
                    y_name=b,
                    x_log=xlog,
                    y_log=ylog,
                    grid_x=gx,
                    grid_y=gy,
                    z=_fit(ux, uy, value[have]),
                    x=t.params[a][shown],
                    y=t.params[b][shown],
                    value=t.value[shown],
                    number=t.number[shown],
                )
            )
    if not pairs:
        msg = "no two numeric parameters were set together in three complete trials"
        return Contour(e, t.direction, msg, (), int(ok.size))
    return Contour(e, t.direction, None, tuple(pairs), int(ok.size))
