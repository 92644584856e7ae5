"""Job timeline: a Gantt chart of trials per worker, and how busy each worker was.

A trial's ``worker`` is the coordinator that ran it (``host:pid:token``); a coordinator with
``n_workers > 1`` runs several trials at once, so each worker gets as many *lanes* as it ran trials
concurrently (trials are put greedily in the first free lane).  A lane is a row of the chart.

Busy fraction of a worker: trial time divided by ``lanes x (last end - first start)`` of that
worker — 1.0 means its slots never waited for the coordinator, the sampler or the queue.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tansaku.report._table import RUNNING, STATES, as_table

__all__ = ["Timeline", "timeline"]

MAX_BARS = 4000
MAX_ROWS = 64
PIXELS = 2000  # bars closer than span / PIXELS merge when there are too many to draw


@dataclass(frozen=True, eq=False)
class Timeline:
    """Bars in seconds since ``origin`` (the first start).  ``bar_state`` holds state codes
    (see ``STATES``); running trials end at the snapshot time.  When there are more than
    ``max_bars`` bars, each lane is drawn at pixel resolution instead: a pixel-wide bin shows
    the state that filled most of it (``merged=True``, ``bar_number`` -1); running bars are
    kept as they are.  ``state_counts`` and the busy fractions always come from the exact
    trials."""

    study: str
    message: str | None
    origin: float
    span: float
    rows: tuple[str, ...]
    row_worker: np.ndarray
    row_busy: np.ndarray
    workers: tuple[str, ...]
    worker_lanes: np.ndarray
    worker_busy: np.ndarray
    bar_row: np.ndarray
    bar_start: np.ndarray
    bar_end: np.ndarray
    bar_state: np.ndarray
    bar_number: np.ndarray
    busy: float = math.nan
    merged: bool = False
    hidden_rows: int = 0
    state_counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.message is not None


def _lanes(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Greedy interval partitioning: the lane of each interval (first free one)."""
    order = np.argsort(start, kind="stable")
    lane = np.empty(start.size, dtype=np.int64)
    free: list[int] = []  # free lanes (min-heap)
    busy: list[tuple[float, int]] = []  # (end, lane) of running intervals
    n_lanes = 0
    for i in order:
        s = start[i]
        while busy and busy[0][0] <= s:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            k = heapq.heappop(free)
        else:
            k, n_lanes = n_lanes, n_lanes + 1
        lane[i] = k
        heapq.heappush(busy, (end[i], k))
    return lane


def _coverage(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Busy time of intervals in ``[0, e]`` for each edge ``e`` (O((n + bins) log n))."""
    s, e = np.sort(start), np.sort(end)
    cs = np.concatenate([[0.0], np.cumsum(s)])
    ce = np.concatenate([[0.0], np.cumsum(e)])
    ks = np.searchsorted(s, edges, side="right")
    ke = np.searchsorted(e, edges, side="right")
    return (edges * ks - cs[ks]) - (edges * ke - ce[ke])


def _rasterize(
    row: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    state: np.ndarray,
    number: np.ndarray,
    *,
    span: float,
    max_bars: int,
) -> tuple[np.ndarray, ...]:
    """Too many bars to draw: cut each row into pixel-wide bins, give a bin the state that
    filled most of it (nothing if it was busy less than half the time), and join equal
    neighbours into bars; halve the bins until at most ``max_bars`` bars remain.  Running bars
    are kept as they are; the other bars get number -1."""
    keep = state == RUNNING
    parts0 = (row[keep], start[keep], end[keep], state[keep], number[keep])
    n_bins = PIXELS
    while True:
        edges = np.linspace(0.0, span, n_bins + 1)
        width = span / n_bins
        parts = [parts0]
        for r in np.unique(row[~keep]):
            in_row = (row == r) & ~keep
            codes = np.unique(state[in_row])
            occ = np.stack(
                [
                    np.diff(
                        _coverage(start[in_row & (state == c)], end[in_row & (state == c)], edges)
                    )
                    for c in codes
                ]
            )
            label = np.where(occ.sum(axis=0) >= 0.5 * width, codes[np.argmax(occ, axis=0)], -1)
            cut = np.flatnonzero(np.diff(label)) + 1
            first = np.concatenate([[0], cut])
            last = np.concatenate([cut, [n_bins]])
            vals = label[first]
            on = vals >= 0
            n = int(on.sum())
            parts.append(
                (
                    np.full(n, r),
                    edges[first[on]],
                    edges[last[on]],
                    vals[on].astype(np.int8),
                    np.full(n, -1),
                )
            )
        out = tuple(np.concatenate(p) for p in zip(*parts))
        if out[0].size <= max_bars or n_bins <= 64:
            return out
        n_bins //= 2


def _short_worker(w: str) -> str:
    return w if len(w) <= 40 else w[:39] + "…"


def timeline(source: Any, *, max_bars: int = MAX_BARS, max_rows: int = MAX_ROWS) -> Timeline:
    """The Gantt chart data of a Study / TrialTable (see :class:`Timeline`)."""
    t = as_table(source)
    started = np.flatnonzero(np.isfinite(t.start) & (t.state <= RUNNING))
    e0 = np.empty(0)
    i0 = np.empty(0, dtype=np.int64)
    if started.size == 0:
        return Timeline(
            t.study,
            t.empty_message("started trials"),
            math.nan,
            0.0,
            (),
            i0,
            e0,
            (),
            i0,
            e0,
            i0,
            e0,
            e0,
            np.empty(0, dtype=np.int8),
            i0,
        )
    origin = float(t.start[started].min())
    start = t.start[started] - origin
    end = np.where(np.isfinite(t.end[started]), t.end[started], max(t.now, origin)) - origin
    end = np.maximum(end, start)
    state = t.state[started]
    wid = t.worker[started]
    names = [*t.workers, "(no worker)"]
    wid = np.where(wid < 0, len(names) - 1, wid)

    rows: list[str] = []
    row_worker: list[int] = []
    row_busy: list[float] = []
    bar_row = np.empty(started.size, dtype=np.int64)
    workers: list[str] = []
    lanes_of: list[int] = []
    busy_of: list[float] = []
    total_busy = total_cap = 0.0
    # workers in order of their first start
    present = np.unique(wid)
    first = [float(start[wid == w].min()) for w in present]
    for w in present[np.argsort(first, kind="stable")]:
        sel = np.flatnonzero(wid == w)
        lane = _lanes(start[sel], end[sel])
        n_lanes = int(lane.max()) + 1
        window = float(end[sel].max() - start[sel].min())
        dur = end[sel] - start[sel]
        wi = len(workers)
        workers.append(names[int(w)])
        lanes_of.append(n_lanes)
        cap = n_lanes * window
        busy_of.append(float(dur.sum() / cap) if cap > 0 else 1.0)
        total_busy += float(dur.sum())
        total_cap += cap
        for k in range(n_lanes):
            in_lane = lane == k
            bar_row[sel[in_lane]] = len(rows)
            label = _short_worker(names[int(w)])
            rows.append(label if n_lanes == 1 else f"{label} #{k + 1}")
            row_worker.append(wi)
            row_busy.append(float(dur[in_lane].sum() / window) if window > 0 else 1.0)

    hidden = max(0, len(rows) - max_rows)
    visible = bar_row < max_rows
    b_row, b_start, b_end = bar_row[visible], start[visible], end[visible]
    b_state, b_num = state[visible], t.number[started][visible]
    span = float(end.max())
    merged = False
    if b_row.size > max_bars:
        merged = True
        b_row, b_start, b_end, b_state, b_num = _rasterize(
            b_row, b_start, b_end, b_state, b_num, span=span, max_bars=max_bars
        )
    return Timeline(
        study=t.study,
        message=None,
        origin=origin,
        span=span,
        rows=tuple(rows[:max_rows]),
        row_worker=np.asarray(row_worker[:max_rows], dtype=np.int64),
        row_busy=np.asarray(row_busy[:max_rows]),
        workers=tuple(workers),
        worker_lanes=np.asarray(lanes_of, dtype=np.int64),
        worker_busy=np.asarray(busy_of),
        bar_row=b_row,
        bar_start=b_start,
        bar_end=b_end,
        bar_state=b_state,
        bar_number=b_num,
        busy=total_busy / total_cap if total_cap > 0 else 1.0,
        merged=merged,
        hidden_rows=hidden,
        state_counts={STATES[c].value: int(np.count_nonzero(state == c)) for c in np.unique(state)},
    )
