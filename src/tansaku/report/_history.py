"""Best-so-far history, by trial number and by wall-clock time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku.report._sample import subsample
from tansaku.report._table import FAILED, PRUNED, as_table

__all__ = ["History", "history"]

#: complete trials drawn as points (the best-so-far steps are always exact)
MAX_POINTS = 4000


@dataclass(frozen=True, eq=False)
class History:
    """What a history plot draws.

    ``number`` / ``value`` / ``time``: the COMPLETE trials shown as points (at most
    ``MAX_POINTS``, always including every trial that improved the best); ``pruned_*``: pruned
    trials with a value (their last report); ``failed_*``: failed trials and pruned ones without a
    value (drawn as marks on the axis).  ``best_number`` / ``best_value``: the best-so-far step
    function by trial number (exact: one point per improvement, plus the last trial number);
    ``best_time`` / ``best_time_value``: the same by finishing time.  Times are seconds since the
    first trial started.  ``message`` is set (and the arrays empty) when there is nothing to draw.
    """

    study: str
    direction: str
    message: str | None
    n_complete: int
    n_pruned: int
    n_failed: int
    number: np.ndarray
    value: np.ndarray
    time: np.ndarray
    pruned_number: np.ndarray
    pruned_value: np.ndarray
    pruned_time: np.ndarray
    failed_number: np.ndarray
    failed_time: np.ndarray
    best_number: np.ndarray
    best_value: np.ndarray
    best_time: np.ndarray
    best_time_value: np.ndarray
    downsampled: bool = False

    @property
    def empty(self) -> bool:
        return self.message is not None


def _steps(
    key: np.ndarray, value: np.ndarray, sign: float, last: float
) -> tuple[np.ndarray, np.ndarray]:
    """Best-so-far of ``value`` in order of ``key``: the improvement points, then ``last``."""
    if key.size == 0:
        return key[:0].astype(float), value[:0]
    order = np.argsort(key, kind="stable")
    k, v = key[order].astype(float), value[order] * sign
    run = np.minimum.accumulate(v)
    improved = np.ones(v.size, dtype=bool)
    improved[1:] = run[1:] < run[:-1]
    bk, bv = k[improved], run[improved] * sign
    if last > bk[-1]:
        bk, bv = np.append(bk, last), np.append(bv, bv[-1])
    return bk, bv


def history(source: Any, *, max_points: int = MAX_POINTS) -> History:
    """The best-so-far history of a Study / TrialTable (see :class:`History`)."""
    t = as_table(source)
    sign = t.sign
    ok = t.complete
    pruned = (t.state == PRUNED) & np.isfinite(t.value)
    failed = (t.state == FAILED) | ((t.state == PRUNED) & ~np.isfinite(t.value))
    n_c, n_p = int(ok.sum()), t.count(PRUNED)
    n_f = t.count(FAILED)
    origin = t.origin
    elapsed = t.end - origin
    empty = np.empty(0)
    finished_any = n_c + n_p + n_f > 0
    if n_c == 0:
        msg = (
            t.empty_message("finished trials")
            if not finished_any
            else f"study {t.study!r} has no complete trial yet ({n_p} pruned, {n_f} failed)"
        )
        e = empty
        return History(t.study, t.direction, msg, n_c, n_p, n_f, e, e, e, e, e, e, e, e, e, e, e, e)
    idx = np.flatnonzero(ok)
    last_number = float(t.number[t.state <= FAILED].max())
    best_number, best_value = _steps(t.number[idx], t.value[idx], sign, last_number)
    fin_el = elapsed[np.isfinite(elapsed) & (t.state <= FAILED)]
    t_idx = idx[np.isfinite(elapsed[idx])]
    best_time, best_time_value = _steps(
        elapsed[t_idx], t.value[t_idx], sign, float(fin_el.max()) if fin_el.size else 0.0
    )
    # keep the improving trials visible whatever the downsampling picks
    improving = idx[np.isin(t.number[idx], best_number)]
    shown = subsample(idx, max_points, keep=improving)
    p_idx = subsample(np.flatnonzero(pruned), max_points // 4)
    f_idx = subsample(np.flatnonzero(failed), max_points // 4)
    return History(
        study=t.study,
        direction=t.direction,
        message=None,
        n_complete=n_c,
        n_pruned=n_p,
        n_failed=n_f,
        number=t.number[shown],
        value=t.value[shown],
        time=elapsed[shown],
        pruned_number=t.number[p_idx],
        pruned_value=t.value[p_idx],
        pruned_time=elapsed[p_idx],
        failed_number=t.number[f_idx],
        failed_time=elapsed[f_idx],
        best_number=best_number,
        best_value=best_value,
        best_time=best_time,
        best_time_value=best_time_value,
        downsampled=shown.size < idx.size or p_idx.size < pruned.sum() or f_idx.size < failed.sum(),
    )
