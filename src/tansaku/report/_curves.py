"""Learning curves: each trial's intermediate values by step, pruned trials told apart, and the
pruner's cut-off where the pruner has one threshold per step (median: the median of the complete
trials at that step; asha: the worst value a rung still keeps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._errors import TansakuError
from tansaku.report._sample import subsample
from tansaku.report._table import COMPLETE, PRUNED, STATES, as_table

__all__ = ["Curve", "LearningCurves", "cutoff_note", "learning_curves", "pruner_cutoff"]

#: curves drawn at most (the best complete ones and the pruned ones first)
MAX_CURVES = 200


@dataclass(frozen=True, eq=False)
class Curve:
    """One trial's reports, by step; ``state`` is a name of :class:`~tansaku.TrialState`."""

    number: int
    state: str
    step: np.ndarray
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class LearningCurves:
    """What a learning-curve plot draws.  ``curves``: at most ``MAX_CURVES`` trials with reports
    (every pruned one and the best complete ones are kept first); ``cutoff_step`` /
    ``cutoff_value``: the pruner's threshold by step (empty when the pruner has none), described
    by ``cutoff_label``; ``note``: the sentence a page shows under the chart (what the dashed
    line is, or why there is none; see :func:`cutoff_note`); ``n_with_reports``: trials that
    reported at all.  ``message`` is set (and ``curves`` empty) when no trial reported."""

    study: str
    direction: str
    message: str | None
    curves: tuple[Curve, ...]
    n_with_reports: int
    cutoff_label: str
    cutoff_step: np.ndarray
    cutoff_value: np.ndarray
    note: str = ""

    @property
    def empty(self) -> bool:
        return self.message is not None

    @property
    def downsampled(self) -> bool:
        return len(self.curves) < self.n_with_reports


def _finite_curve(points: Any) -> tuple[np.ndarray, np.ndarray]:
    items = sorted((int(s), float(v)) for s, v in points.items() if v is not None)
    step = np.array([s for s, _ in items], dtype=float)
    value = np.array([v for _, v in items], dtype=float)
    ok = np.isfinite(value)
    return step[ok], value[ok]


def pruner_cutoff(
    pruner: Any, curves: dict[int, dict[int, float]], complete: set[int], sign: float
) -> tuple[str, np.ndarray, np.ndarray]:
    """``(label, steps, values)`` of ``pruner``'s threshold given the study's reports
    (``{number: {step: value}}``; ``complete``: the numbers of the complete trials; ``sign`` 1
    when minimising).  A trial whose best report so far is worse than the value at a step is
    pruned there (median) or not promoted past that rung (asha).  Empty for other pruners
    (hyperband's rungs differ per bracket) and before the pruner may prune."""
    from tansaku.pruners import make_pruner
    from tansaku.pruners._asha import ASHAPruner, SuccessiveHalving
    from tansaku.pruners._history import SortedValues
    from tansaku.pruners._median import MedianPruner

    nothing = ("", np.zeros(0), np.zeros(0))
    p = make_pruner(pruner) if pruner is not None else None
    signed = {
        n: {int(s): sign * float(v) for s, v in c.items() if v is not None and np.isfinite(v)}
        for n, c in curves.items()
    }
    if isinstance(p, MedianPruner):
        done = [signed[n] for n in sorted(complete) if n in signed]
        if len(done) < max(1, p.n_startup_trials):
            return nothing
        by_step: dict[int, SortedValues] = {}
        for i, c in enumerate(done):
            for s, v in c.items():
                by_step.setdefault(s, SortedValues()).set(i, v)
        steps = sorted(
            s
            for s, vals in by_step.items()
            if s >= p.n_warmup_steps and len(vals) >= p.n_min_trials
        )
        if not steps:
            return nothing
        value = np.array([sign * by_step[s].median() for s in steps])
        return "median of the complete trials (median pruner)", np.array(steps, float), value
    if isinstance(p, ASHAPruner):
        sh = SuccessiveHalving(
            min_resource=p.min_resource,
            reduction_factor=p.reduction_factor,
            min_early_stopping_rate=p.min_early_stopping_rate,
            n_rungs=p.n_rungs,
            max_resource=p.max_resource,
            min_trials=p.min_trials,
        )
        for n in sorted(signed):
            sh.add(n, signed[n])
        top = max((max(c) for c in signed.values() if c), default=0)
        steps, value = [], []
        for k, r in sh.resources(top):
            if k >= len(sh.rungs) or len(sh.rungs[k]) < max(1, p.min_trials):
                continue
            rung = sh.rungs[k]
            keep = max(1, len(rung) // p.reduction_factor)
            steps.append(float(r))
            value.append(sign * rung.values[keep - 1])
        if not steps:
            return nothing
        label = f"worst value each rung keeps (asha, best 1/{p.reduction_factor})"
        return label, np.array(steps), np.array(value)
    return nothing


def _name(pruner: Any) -> str:
    if isinstance(pruner, str):
        return pruner.strip().lower()
    if isinstance(pruner, Mapping):
        return str(pruner.get("name", "")).strip().lower()
    return str(getattr(pruner, "name", "") or type(pruner).__name__)


def cutoff_note(pruner: Any, label: str, used: Sequence[Mapping[str, Any]] = ()) -> str:
    """The sentence under a learning-curve chart: what its dashed line is (``label`` from
    :func:`pruner_cutoff`), or why it has none; ``used``: the pruners the study's runs recorded
    (``StudyInfo.pruners``), named when there were several."""
    name = "" if pruner is None else _name(pruner)
    if label:
        text = f"Dashed line: the pruner's cut-off, {label}."
    elif pruner is None:
        text = (
            "No cut-off line: the pruner is unknown (the study's runs recorded none; "
            "pass pruner=, or a config file naming it)."
        )
    elif name == "none":
        text = "No cut-off line: the study ran without pruning (pruner none)."
    elif name == "hyperband":
        text = (
            "No cut-off line: hyperband's rungs differ per bracket, so it has no single "
            "threshold per step."
        )
    elif name in ("median", "asha"):
        text = f"No cut-off line yet: the {name} pruner may not prune with the reports so far."
    else:
        text = f"No cut-off line: tansaku cannot draw pruner {name or '?'}'s threshold."
    names = [_name(p) for p in used]
    if len(names) > 1:
        text += (
            f" The study's runs used {len(names)} pruners ({', '.join(names)}, the latest "
            f"last); shown: {name or '?'}."
        )
    return text


def learning_curves(
    source: Any, *, pruner: Any = None, max_curves: int = MAX_CURVES
) -> LearningCurves:
    """The learning curves of a Study / TrialTable (see :class:`LearningCurves`).  ``pruner``:
    whose cut-off to draw (a Pruner, its name or its options mapping); by default a Study's own
    pruner, else the one the study's latest run recorded (``StudyInfo.pruners``), so the report
    and the dashboard of a stored study draw the same line."""
    if pruner is None:
        pruner = getattr(source, "pruner", None)
    t = as_table(source)
    if pruner is None and t.pruners:
        pruner = dict(t.pruners[-1])
    state_of = dict(zip(t.number.tolist(), t.state.tolist()))
    raw = {int(n): dict(c) for n, c in t.intermediate.items() if n in state_of}
    parsed = {n: _finite_curve(c) for n, c in raw.items()}
    parsed = {n: c for n, c in parsed.items() if c[0].size}
    e = np.zeros(0)
    if not parsed:
        return LearningCurves(
            t.study, t.direction, t.empty_message("reported values"), (), 0, "", e, e
        )
    numbers = np.array(sorted(parsed), dtype=int)
    codes = np.array([state_of[n] for n in numbers])
    last = np.array([parsed[n][1][-1] for n in numbers]) * t.sign
    complete = numbers[codes == COMPLETE]
    best = numbers[codes == COMPLETE][np.argsort(last[codes == COMPLETE], kind="stable")[:10]]
    keep = np.concatenate([best, numbers[codes == PRUNED]])
    shown = subsample(numbers, max_curves, keep=keep[: max_curves // 2 + 10])
    curves = tuple(Curve(int(n), STATES[state_of[int(n)]].value, *parsed[int(n)]) for n in shown)
    try:
        label, cut_step, cut_value = pruner_cutoff(pruner, raw, set(complete.tolist()), t.sign)
    except TansakuError:  # a recorded pruner this version cannot build (e.g. a user's class)
        label, cut_step, cut_value = "", e, e
    return LearningCurves(
        study=t.study,
        direction=t.direction,
        message=None,
        curves=curves,
        n_with_reports=int(numbers.size),
        cutoff_label=label,
        cutoff_step=cut_step,
        cutoff_value=cut_value,
        note=cutoff_note(pruner, label, t.pruners),
    )
