"""Tables: the best trials, and the newest failures with their messages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._progress import format_duration
from tansaku.report._table import STATES, as_table

__all__ = ["MAX_ATTR_COLUMNS", "TopTrials", "attr_keys", "attr_text", "duration_text", "top_trials"]


@dataclass(frozen=True)
class TopTrials:
    """Rows of plain strings, ready to print or escape into HTML.

    ``columns``: ``number, value, state, duration, worker``, one per parameter, then one per user
    attribute the rows have (``attr_columns``, at most :data:`MAX_ATTR_COLUMNS`, in order of first
    appearance; a key that is also a parameter's name is shown as ``attrs.key``);
    ``rows``: the ``k`` best COMPLETE trials, best first; ``failures``: ``(number, message)`` of
    the newest failed trials."""

    study: str
    direction: str
    message: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    failures: tuple[tuple[int, str], ...]
    counts: dict[str, int]
    attr_columns: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.message is not None

    @property
    def param_columns(self) -> tuple[str, ...]:
        """The parameter columns (between the five fixed ones and the attribute columns)."""
        return self.columns[5 : len(self.columns) - len(self.attr_columns)]


#: how many user-attribute columns a table shows at most (the first keys met)
MAX_ATTR_COLUMNS = 8


def attr_text(value: Any) -> str:
    """A user attribute as a table cell: numbers like values, text cut to 80 characters."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else ""
    if isinstance(value, (int, float)):
        return _value(float(value)) if isinstance(value, float) else str(value)
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def attr_keys(attrs: Any, params: Any = ()) -> list[tuple[str, str]]:
    """``(key, column name)`` of the user attributes in ``attrs`` (an iterable of mappings), in
    order of first appearance, at most :data:`MAX_ATTR_COLUMNS`; a key equal to a parameter
    name gets the column name ``attrs.key``."""
    seen: dict[str, str] = {}
    taken = set(params)
    for mapping in attrs:
        for key in mapping:
            if key not in seen and len(seen) < MAX_ATTR_COLUMNS:
                seen[key] = f"attrs.{key}" if key in taken else str(key)
    return list(seen.items())


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
    idx = np.flatnonzero(t.complete)
    order = idx[np.lexsort((t.number[idx], t.value[idx] * t.sign))][:k]
    attrs = [t.user_attrs.get(int(t.number[i]), {}) for i in order]
    keys = attr_keys(attrs, names)
    columns = ("number", "value", "state", "duration", "worker", *names, *(c for _, c in keys))
    rows = []
    for i, user in zip(order, attrs):
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
                *(attr_text(user[key]) if key in user else "" for key, _ in keys),
            )
        )
    failures = tuple(sorted(t.messages.items())[-n_failures:][::-1])
    counts = {s.value: t.count(i) for i, s in enumerate(STATES)}
    msg = None if rows else t.empty_message("complete trials")
    return TopTrials(
        t.study, t.direction, msg, columns, tuple(rows), failures, counts,
        tuple(c for _, c in keys),
    )
