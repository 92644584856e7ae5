"""Re-evaluating the best points under noise, and ranking points by their mean.

With a noisy objective the best single value is biased: among many points, the one that got the
luckiest draw looks best.  ``reevaluate`` runs the ``top`` best points ``repeats`` more times with
new seeds and ranks them by the mean of all their evaluations, with a standard error.

Evaluations are appended to each trial's ``system_attrs["evaluations"]`` (kind
``"reevaluation"``) the moment they end, so an interrupted re-evaluation keeps what it measured,
and each call adds ``repeats`` more.  The trial's own ``value`` (what the sampler saw) is left
unchanged; the ranking is stored in the study's ``system_attrs["reevaluation"]``.  Trials with
identical parameters are one point: their evaluations are pooled.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tansaku import _layout
from tansaku._check import check_number
from tansaku._errors import TansakuError
from tansaku._records import FrozenTrial, TrialState
from tansaku.executors._base import Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._registry import make_executor
from tansaku.objectives._runner import Runner
from tansaku.study._repeats import PointStats, evaluation_records, trial_seed
from tansaku.study._setup import recorded_setup_dir
from tansaku.study._study import Study

__all__ = ["RankedPoint", "format_ranking", "rank_by_mean", "reevaluate"]


@dataclass(frozen=True)
class RankedPoint:
    """One point's evaluations summarised (``trial``: the lowest trial number holding it)."""

    rank: int
    trial: int
    params: Mapping[str, Any]
    n: int
    mean: float
    std: float | None
    sem: float | None
    first_value: float | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = dict(self.params)
        return out


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True, default=str)


def _points(trials: Sequence[FrozenTrial]) -> dict[str, list[FrozenTrial]]:
    points: dict[str, list[FrozenTrial]] = {}
    for t in trials:
        if t.state is TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
            points.setdefault(_key(t.params), []).append(t)
    return points


def _rank(
    points: Mapping[str, list[FrozenTrial]], direction: str, min_evaluations: int
) -> list[RankedPoint]:
    sign = -1.0 if direction == "maximize" else 1.0
    rows = []
    for group in points.values():
        values = [
            float(e["value"])
            for t in group
            for e in evaluation_records(t)
            if isinstance(e.get("value"), (int, float))
        ]
        s = PointStats.of(values)
        if s.n < min_evaluations or s.n == 0:
            continue
        first = min(group, key=lambda t: t.number)
        rows.append((sign * s.mean, first.number, first, s))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [
        RankedPoint(i + 1, t.number, dict(t.params), s.n, s.mean, s.std, s.sem, t.value)
        for i, (_, _, t, s) in enumerate(rows)
    ]


def rank_by_mean(study: Study, *, min_evaluations: int | None = None) -> list[RankedPoint]:
    """COMPLETE points ranked by the mean of their evaluations (best first).

    ``min_evaluations`` defaults to 2 when any point has been evaluated more than once (so a
    point measured once cannot win on a lucky draw against re-evaluated ones), else 1.
    """
    points = _points(study.get_trials(states=[TrialState.COMPLETE]))
    if min_evaluations is None:
        most = max((sum(len(evaluation_records(t)) for t in g) for g in points.values()), default=0)
        min_evaluations = 2 if most >= 2 else 1
    return _rank(points, study.direction, min_evaluations)


def reevaluate(
    study: Study,
    objective: Any,
    *,
    top: int,
    repeats: int,
    n_workers: int = 1,
    executor: str | Mapping[str, Any] | Executor | None = None,
    workdir: str | Path | None = None,
    trial_timeout: float | None = None,
) -> list[RankedPoint]:
    """Evaluate the ``top`` best points ``repeats`` more times each; return :func:`rank_by_mean`
    afterwards (so every point evaluated more than once, best first; see the module docstring).

    "Best" is by the mean of what each point has so far: on a first call that is the trial value;
    on a later call a point measured once competes with the re-evaluated ones, and is re-evaluated
    in turn if its single value beats their means."""
    for name, v in (("top", top), ("repeats", repeats), ("n_workers", n_workers)):
        check_number(v, name, integer=True)
    points = _points(study.get_trials(states=[TrialState.COMPLETE]))
    chosen = _rank(points, study.direction, 1)  # by mean of what each point has so far
    if not chosen:
        raise TansakuError(f"study {study.name!r} has no complete trial to re-evaluate")
    chosen = chosen[:top]
    storage = study.storage
    holder = {p.trial: storage.get_trial_by_number(study.study_id, p.trial) for p in chosen}
    base_seed = study.system_attrs.get("seed")
    ex = make_executor(executor, n_workers=n_workers)
    root: Path | None = None  # as in optimize: Python objectives get a directory only if asked
    if workdir is not None:
        root = Path(workdir).resolve()
    elif Runner(objective).external or ex.needs_workdir:
        root = _layout.default_study_dir(study)
    setup_dir = recorded_setup_dir(study.system_attrs)
    evals = {n: [dict(e) for e in evaluation_records(t)] for n, t in holder.items()}
    queue: list[Job] = []
    for p in chosen:
        k0 = len(evals[p.trial])
        for i in range(repeats):
            k = k0 + i
            queue.append(
                Job(
                    -(len(queue) + 1),  # not a stored trial: executors only need a unique id
                    p.trial,
                    dict(p.params),
                    study_name=study.name,
                    timeout=trial_timeout,
                    workdir=None if root is None else _layout.reevaluation_dir(root, p.trial, k),
                    seed=trial_seed(base_seed, p.trial, k),
                    extra_env={"TANSAKU_SETUP_DIR": str(setup_dir)} if setup_dir else {},
                )
            )
    jobs = {j.trial_id: j for j in queue}
    started: dict[int, float] = {}
    ex.start(objective, ExecutorHooks())  # reports of re-evaluations are not stored

    def record(o: Outcome) -> None:
        job = jobs[o.trial_id]
        entry: dict[str, Any] = {
            "seed": job.seed,
            "value": o.value if o.state is TrialState.COMPLETE else None,
            "duration": time.time() - started.get(o.trial_id, time.time()),
            "kind": "reevaluation",
            "workdir": None if job.workdir is None else str(job.workdir),
        }
        if o.state is not TrialState.COMPLETE:
            entry["message"] = o.message
        evals[job.number].append(entry)
        storage.set_trial_system_attrs(
            holder[job.number].trial_id, {"evaluations": evals[job.number]}
        )

    try:
        pending = len(queue)
        while pending:
            while queue and ex.free_slots() > 0:
                job = queue.pop(0)
                started[job.trial_id] = time.time()
                ex.submit(job)
            for o in ex.wait(timeout=1.0):
                if not o.interrupted:
                    record(o)
                pending -= 1
    finally:
        ex.shutdown(cancel=True)
    ranked = rank_by_mean(study)
    storage.set_study_system_attrs(
        study.study_id,
        {
            "reevaluation": {
                "top": top,
                "repeats": repeats,
                "finished_at": time.time(),
                "ranking": [p.as_dict() for p in ranked],
            }
        },
    )
    return ranked


def format_ranking(points: Sequence[RankedPoint], direction: str, *, limit: int = 100) -> str:
    """A plain text table: rank, trial, n, mean, standard error, first value, params."""
    lines = [
        f"{'rank':>4}  {'trial':>6}  {'n':>3}  {'mean':>12}  {'std err':>10}  "
        f"{'first value':>12}  params"
    ]
    for p in points[:limit]:
        sem = "-" if p.sem is None else f"{p.sem:.4g}"
        first = "-" if p.first_value is None else f"{p.first_value:.6g}"
        params = ", ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.params.items()
        )
        lines.append(
            f"{p.rank:>4}  {p.trial:>6}  {p.n:>3}  {p.mean:>12.6g}  {sem:>10}  {first:>12}  {params}"
        )
    lines.append(f"({direction}; mean over all evaluations of each point)")
    return "\n".join(lines)
