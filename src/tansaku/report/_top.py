"""Tables: the best trials, and the newest failures with their messages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._progress import format_duration
from tansaku.report._table import STATES, as_table

__all__ = ["TopTrials", "duration_text", "top_trials"]


@dataclass(frozen=True)
class TopTrials:
    """Rows of plain strings, ready to print or escape into HTML.

    ``columns``: ``number, value, state, duration, worker`` then one per parameter;
    ``rows``: the ``k`` best COMPLETE trials, best first; ``failures``: ``(number, message)`` of
    the newest failed trials."""

    study: str
    direction: str
    message: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    failures: tuple[tuple[int, str], ...]
    counts: dict[str, int]

    @property
    def empty(self) -> bool:
        return self.message is not None


def duration_text(seconds: float | None) -> str:
    """``0.042 s``, ``12.3 s``, then ``m:ss`` / ``h:mm:ss``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.1f} s"
    return format_duration(seconds)


def _value(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.6g}"


def top_trials(source: Any, *, k: int = 10, n_failures: int = 5) -> TopTrials:
    """The ``k`` best complete trials of a Study / TrialTable (ties: lower number first)."""
    t = as_table(source)
    names = list(t.space.names)
    columns = ("number", "value", "state", "duration", "worker", *names)
    idx = np.flatnonzero(t.complete)
    order = idx[np.lexsort((t.number[idx], t.value[idx] * t.sign))][:k]
    rows = []
    for i in order:
        dur = t.end[i] - t.start[i]
        w = int(t.worker[i])
        rows.append(
            (
                str(int(t.number[i])),
                _value(float(t.value[i])),
                STATES[int(t.state[i])].value,
                duration_text(float(dur)),
                t.workers[w] if w >= 0 else "",
                *(t.label(n, float(t.params[n][i])) for n in names),
            )
        )
    failures = tuple(sorted(t.messages.items())[-n_failures:][::-1])
    counts = {s.value: t.count(i) for i, s in enumerate(STATES)}
    msg = None if rows else t.empty_message("complete trials")
    return TopTrials(t.study, t.direction, msg, columns, tuple(rows), failures, counts)
