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
from tansaku._options import DEFAULTS
from tansaku._progress import Progress
from tansaku._records import FrozenTrial, TrialState
from tansaku.executors._base import Executor, Job, Outcome
from tansaku.executors._registry import make_executor
from tansaku.objectives._runner import Runner
from tansaku.study._optimize import Dispatch, executor_spec, workdir_root
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


class Reevaluation(Dispatch):
    """The jobs of one :func:`reevaluate` call, run by the optimize loop (``Dispatch``): each
    evaluation is stored in its trial's ``system_attrs["evaluations"]`` the moment it ends; on
    Ctrl-C the running ones are stopped and not recorded (a later call runs them again)."""

    def __init__(
        self,
        study: Study,
        objective: Any,
        holder: Mapping[int, FrozenTrial],
        work: Sequence[tuple[RankedPoint, int]],
        *,
        n_workers: int,
        executor: str | Mapping[str, Any] | Executor | None,
        workdir: str | Path | None,
        trial_timeout: float | None,
    ) -> None:
        super().__init__()
        self.study = study
        self.objective = objective
        self.holder = holder
        runner = Runner(objective)
        spec = executor_spec(executor, n_workers, runner=runner, trial_timeout=trial_timeout)
        self.executor = make_executor(spec, n_workers=n_workers)
        self.heartbeat_interval = float(DEFAULTS.heartbeat_interval)
        self.progress = Progress(
            enabled=False, study=study, total=None, count_study=False, n_workers=n_workers
        )
        root = workdir_root(study, workdir, runner=runner, executor=self.executor)
        setup_dir = recorded_setup_dir(study.system_attrs)
        base_seed = study.system_attrs.get("seed")
        self.evals = {n: [dict(e) for e in evaluation_records(t)] for n, t in holder.items()}
        self.queue: list[Job] = []
        for p, repeats in work:
            k0 = len(self.evals[p.trial])
            for k in range(k0, k0 + repeats):
                self.queue.append(
                    Job(
                        -(len(self.queue) + 1),  # not a stored trial: executors need a unique id
                        p.trial,
                        dict(p.params),
                        study_name=study.name,
                        timeout=trial_timeout,
                        workdir=None
                        if root is None
                        else _layout.reevaluation_dir(root, p.trial, k),
                        seed=trial_seed(base_seed, p.trial, k),
                        extra_env={"TANSAKU_SETUP_DIR": str(setup_dir)} if setup_dir else {},
                    )
                )
        self.queue.reverse()  # popped from the end: first made, first run
        self.started_at: dict[int, float] = {}

    def check_stop(self) -> None:
        if not self.queue and self.stop_reason is None:
            self.stop_reason = "every re-evaluation done"

    def fill(self) -> bool:
        while self.queue and self.stop_reason is None and self.executor.free_slots() > 0:
            job = self.queue.pop()
            self.running[job.trial_id] = job
            self.started_at[job.trial_id] = time.time()
            self.executor.submit(job)
        return True

    def finish(self, o: Outcome) -> None:
        job = self.running.pop(o.trial_id, None)
        if job is None or o.interrupted:
            return
        entry: dict[str, Any] = {
            "seed": job.seed,
            "value": o.value if o.state is TrialState.COMPLETE else None,
            "duration": time.time() - self.started_at.get(o.trial_id, time.time()),
            "kind": "reevaluation",
            "workdir": None if job.workdir is None else str(job.workdir),
        }
        if o.state is not TrialState.COMPLETE:
            entry["message"] = o.message
        evals = self.evals[job.number]
        evals.append(entry)
        self.study.storage.set_trial_system_attrs(
            self.holder[job.number].trial_id, {"evaluations": evals}
        )


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
    holder = {p.trial: study.storage.get_trial_by_number(study.study_id, p.trial) for p in chosen}
    Reevaluation(
        study,
        objective,
        holder,
        [(p, repeats) for p in chosen],
        n_workers=n_workers,
        executor=executor,
        workdir=workdir,
        trial_timeout=trial_timeout,
    ).drive()
    ranked = rank_by_mean(study)
    study.storage.set_study_system_attrs(
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
