"""What the dashboard's JSON endpoints return, computed from the report data objects.

A :class:`StudyCache` keeps one study's finished trials in memory and asks the storage only for
what finished since the last poll (``finished_since``) plus the running ones, so polling a 100k-trial
study costs a small query; the payload itself is rebuilt at most once per ``min_age`` seconds
however many browsers poll.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial, TrialState
from tansaku.report._contour import contour
from tansaku.report._curves import learning_curves
from tansaku.report._ecdf import ecdf
from tansaku.report._history import history
from tansaku.report._pareto import pareto
from tansaku.report._table import STATES, TrialTable, param_kind
from tansaku.report._timeline import timeline
from tansaku.report._top import attr_keys, attr_text, duration_text, top_trials
from tansaku.storage._base import BaseStorage, StudyInfo

__all__ = ["StudyCache", "studies_payload"]

HISTORY_POINTS = 1500
TIMELINE_BARS = 2500
RECENT_TRIALS = 50
CURVES = 100
ECDF_POINTS = 500
CONTOUR_POINTS = 800
#: the slow views (contour needs an importance fit) are rebuilt at most this often, seconds
SLOW_VIEWS_AGE = 10.0
#: past this many trials to read reports of, one query for the whole study is cheaper
MAX_TRIAL_READS = 64


def _floats(a: Iterable[float], digits: int = 7) -> list[float | None]:
    """Rounded to ``digits`` significant digits (the page has a few hundred pixels; JSON of full
    doubles was half the payload); JSON has no nan/inf: they become null."""
    return [
        float(f"{x:.{digits}g}") if math.isfinite(x) else None
        for x in np.asarray(a, dtype=float).tolist()
    ]


def _ints(a: Iterable[int]) -> list[int]:
    return [int(x) for x in np.asarray(a).tolist()]


def _value_text(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:.6g}"


def _param_text(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def studies_payload(storage: BaseStorage) -> dict[str, Any]:
    out = []
    for info in storage.list_studies():
        c = storage.counts(info.study_id)
        best = storage.best_trial(info.study_id, info.direction)
        out.append(
            {
                "name": info.name,
                "direction": info.direction,
                "sampler": info.sampler_text(),
                "counts": c.as_dict(),
                "best": None if best is None else best.value,
                "created_at": info.created_at,
            }
        )
    return {"storage": storage.url, "studies": out}


class StudyCache:
    """One study's trials, refreshed incrementally; thread-safe."""

    def __init__(self, storage: BaseStorage, name: str, *, min_age: float = 0.5) -> None:
        self.storage = storage
        self.name = name
        self.min_age = min_age
        self._lock = threading.Lock()
        self._info: StudyInfo | None = None
        self._seq = 0
        self._finished: dict[int, FrozenTrial] = {}
        self._payload: dict[str, Any] | None = None
        self._built_at = 0.0
        self._build_seconds = 0.0
        self._key: tuple[Any, ...] = ()
        self._slow: dict[str, Any] = {}
        self._slow_at = -math.inf
        self._slow_n = -1
        # learning curves: finished trials' reports never change, so they are read once
        self._reports: dict[int, dict[int, float]] | None = None
        self._unread: dict[int, int] = {}  # number -> trial_id of finished trials not read yet

    def payload(self) -> dict[str, Any]:
        """The study's current view; raises StudyNotFoundError if it does not exist (any more)."""
        with self._lock:
            now = time.time()
            # a big study may take a second to summarise: then rebuild at most every 4 builds'
            # time, so polling browsers never keep a core busy
            max_age = max(self.min_age, 4 * self._build_seconds)
            if self._payload is not None and now - self._built_at < max_age:
                return self._payload
            info = self.storage.get_study(self.name)
            if self._info is None or info.study_id != self._info.study_id:
                self._seq, self._finished = 0, {}  # new (or re-created) study
                self._reports, self._unread = None, {}
            self._info = info
            new, self._seq = self.storage.finished_since(info.study_id, self._seq)
            for t in new:
                self._finished[t.number] = t
                self._unread[t.number] = t.trial_id
            pending = self.storage.pending_trials(info.study_id)
            key = (self._seq, tuple((t.number, t.state.value) for t in pending))
            if self._payload is None or key != self._key or pending:
                # running bars grow with time, so a study with running trials is redrawn each poll
                t0 = time.perf_counter()
                self._payload = self._build(info, pending, now)
                self._build_seconds = time.perf_counter() - t0
                self._key = key
            self._built_at = now
            return self._payload

    def _read_reports(
        self, info: StudyInfo, pending: Sequence[FrozenTrial]
    ) -> dict[int, dict[int, float]]:
        """Every trial's reports: all of them in one query the first time (or when many trials
        finished since), then only those of the trials that finished since and of the running
        ones (whose curves grow), one small read each."""
        need = {**self._unread, **{p.number: p.trial_id for p in pending}}
        if self._reports is None or len(need) > MAX_TRIAL_READS:
            self._reports = {
                n: dict(c) for n, c in self.storage.intermediate_values(info.study_id).items()
            }
        else:
            for number, trial_id in need.items():
                curve = self.storage.get_trial(trial_id, with_intermediate=True).intermediate
                if curve:
                    self._reports[number] = dict(curve)
                else:
                    self._reports.pop(number, None)
        self._unread = {}
        return self._reports

    def _build(self, info: StudyInfo, pending: Sequence[FrozenTrial], now: float) -> dict[str, Any]:
        running = {p.number for p in pending}
        finished = [t for n, t in self._finished.items() if n not in running]
        trials = [*finished, *pending]
        reports = self._read_reports(info, pending)
        table = TrialTable.of_study(info, trials, intermediate=reports, now=now)
        n_complete = int(table.complete.sum())
        if n_complete != self._slow_n and (
            n_complete < 50 or now - self._slow_at >= SLOW_VIEWS_AGE
        ):
            self._slow = {"contour": _contour_view(table)}
            self._slow_at, self._slow_n = now, n_complete
        counts = self.storage.counts(info.study_id)
        best = self.storage.best_trial(info.study_id, info.direction)
        h = history(table, max_points=HISTORY_POINTS)
        tl = timeline(table, max_bars=TIMELINE_BARS)
        top = top_trials(table, k=10, n_failures=10)
        names = list(info.searched_space.names)
        return {
            "name": info.name,
            "direction": info.direction,
            "sampler": table.sampler,
            "storage": self.storage.url,
            "generated_at": now,
            "space": [
                {"name": n, "kind": param_kind(d), "spec": _spec(d.to_dict())}
                for n, d in info.searched_space.items()
            ],
            "counts": counts.as_dict(),
            "best": None
            if best is None
            else {
                "number": best.number,
                "value": best.value,
                "params": {k: _param_text(v) for k, v in best.params.items()},
            },
            "history": {
                "message": h.message,
                "number": _ints(h.number),
                "value": _floats(h.value),
                "pruned_number": _ints(h.pruned_number),
                "pruned_value": _floats(h.pruned_value),
                "failed_number": _ints(h.failed_number),
                "best_number": _floats(h.best_number),
                "best_value": _floats(h.best_value),
            },
            "timeline": {
                "message": tl.message,
                "span": tl.span,
                "busy": None if math.isnan(tl.busy) else tl.busy,
                "rows": list(tl.rows),
                "row_busy": _floats(tl.row_busy),
                "bar_row": _ints(tl.bar_row),
                "bar_start": _floats(tl.bar_start, 5),
                "bar_end": _floats(tl.bar_end, 5),
                "bar_state": _state_names(tl.bar_state),
                "merged": tl.merged,
            },
            "labels": _labels(table, h),
            "curves": _curves_view(table),
            "ecdf": _ecdf_view(table),
            **self._slow,
            "objectives": {
                "names": list(info.objective_names)
                or [f"value{i}" for i in range(info.n_objectives)],
                "directions": list(info.directions),
            },
            "pareto": _pareto_view(info, trials),
            "top": {"columns": list(top.columns), "rows": [list(r) for r in top.rows]},
            "recent": _recent(trials, names, now),
            "failures": [[n, m[:1000]] for n, m in top.failures],
        }


def _spec(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items() if k != "type")


def _state_names(codes: np.ndarray) -> list[str]:
    return [STATES[int(c)].value for c in codes.tolist()]


def _recent(trials: list[FrozenTrial], names: list[str], now: float) -> dict[str, Any]:
    """Running trials first, then the latest finished, newest first."""
    running = sorted(
        (t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)),
        key=lambda t: t.number,
    )
    done = [t for t in trials if t.state.is_finished]
    done.sort(key=lambda t: (t.end_time or 0.0, t.number), reverse=True)
    shown = [*running, *done][:RECENT_TRIALS]
    keys = attr_keys((t.user_attrs for t in shown), names)
    rows = []
    for t in shown:
        dur = t.duration
        if dur is None and t.start_time is not None and t.state is TrialState.RUNNING:
            dur = now - t.start_time
        rows.append(
            [
                str(t.number),
                t.state.value,
                _value_text(t.value),
                duration_text(dur),
                t.worker or "",
                *(_param_text(t.params[n]) if n in t.params else "" for n in names),
                *(attr_text(t.user_attrs[k]) if k in t.user_attrs else "" for k, _ in keys),
                (t.message or "")[:300],
            ]
        )
    return {
        "columns": [
            "number", "state", "value", "duration", "worker", *names, *(c for _, c in keys),
            "message",
        ],
        "rows": rows,
    }


def _labels(table: TrialTable, h: Any) -> dict[str, str]:
    """``{number: "name=value, ..."}`` of the trials the history chart draws (its hover text)."""
    shown = np.concatenate([h.number, h.pruned_number, h.failed_number]).astype(int)
    row = {int(n): i for i, n in enumerate(table.number.tolist())}
    names = list(table.space.names)
    out = {}
    for n in shown.tolist():
        i = row.get(n)
        if i is None:
            continue
        parts = (f"{k}={table.label(k, float(table.params[k][i]))}" for k in names)
        out[str(n)] = ", ".join(p for p in parts if not p.endswith("="))
    return out


def _curves_view(table: TrialTable) -> dict[str, Any]:
    lc = learning_curves(table, max_curves=CURVES)
    return {
        "message": lc.message,
        "n_with_reports": lc.n_with_reports,
        "cutoff_label": lc.cutoff_label,
        "note": lc.note,
        "cutoff_step": _floats(lc.cutoff_step),
        "cutoff_value": _floats(lc.cutoff_value),
        "curves": [
            {"number": c.number, "state": c.state, "step": _ints(c.step), "value": _floats(c.value)}
            for c in lc.curves
        ],
    }


def _ecdf_view(table: TrialTable) -> dict[str, Any]:
    e = ecdf(table, max_points=ECDF_POINTS)
    return {"message": e.message, "value": _floats(e.value), "fraction": _floats(e.fraction, 5)}


def _contour_view(table: TrialTable) -> dict[str, Any]:
    c = contour(table, n_pairs=1, max_points=CONTOUR_POINTS)  # ranked by the numpy forest
    return {
        "message": c.message,
        "pairs": [
            {
                "x_name": p.x_name,
                "y_name": p.y_name,
                "x_log": p.x_log,
                "y_log": p.y_log,
                "grid_x": _floats(p.grid_x, 5),
                "grid_y": _floats(p.grid_y, 5),
                "z": [_floats(r, 5) for r in p.z],
                "x": _floats(p.x),
                "y": _floats(p.y),
                "value": _floats(p.value),
                "number": _ints(p.number),
            }
            for p in c.pairs
        ],
    }


def _pareto_view(info: StudyInfo, trials: Sequence[FrozenTrial]) -> dict[str, Any] | None:
    """The trade-off view of a study with several objectives (None for one)."""
    if info.n_objectives <= 1:
        return None
    p = pareto(trials, info.directions, info.objective_names, study=info.name)
    return {
        "names": list(p.names),
        "directions": list(p.directions),
        "number": _ints(p.number),
        "values": [_floats(p.values[:, i]) for i in range(p.values.shape[1])],
        "on_front": [bool(x) for x in p.on_front.tolist()],
        "feasible": [bool(x) for x in p.feasible.tolist()],
        "hv_number": _ints(p.hv_number),
        "hypervolume": _floats(p.hypervolume),
    }
