"""In-memory storage: one process, thread-safe, nothing written to disk."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tansaku._errors import DuplicatedStudyError, StorageError, StudyNotFoundError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space
from tansaku.storage._base import (
    UNCOUNTED_ATTR,
    BaseStorage,
    StudyCounts,
    StudyInfo,
)
from tansaku.storage._requests import Finish, NewStudy, NewTrial, TrialQuery

__all__ = ["InMemoryStorage"]


@dataclass
class _Study:
    info: StudyInfo
    trials: list[int] = field(default_factory=list)  # trial ids by number
    finished: list[int] = field(default_factory=list)  # trial ids in finishing order
    counts: dict[TrialState, int] = field(default_factory=lambda: dict.fromkeys(TrialState, 0))
    best: FrozenTrial | None = None  # kept up to date on every COMPLETE, in the study's direction


@dataclass
class _Trial:
    trial: FrozenTrial
    study_id: int
    heartbeat: float = 0.0
    attempts: int = 0
    reports: dict[int, float] = field(default_factory=dict)


class InMemoryStorage(BaseStorage):
    url = "memory"
    _where = "in memory"  # for messages

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        """Forget every study (the state of a new instance)."""
        self._studies: dict[int, _Study] = {}
        self._names: dict[str, int] = {}
        self._trials: dict[int, _Trial] = {}
        self._last_study_id = 0  # ids are never reused, even after delete_study
        self._last_trial_id = 0

    def _now(self) -> float:
        """The time stamped on every change (a subclass that replays a log returns the
        logged time, so that every replay decides the same)."""
        return time.time()

    # ---------------------------------------------------------------- helpers
    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id} {self._where}") from None

    def _t(self, trial_id: int) -> _Trial:
        try:
            return self._trials[trial_id]
        except KeyError:
            raise StorageError(f"no trial with id {trial_id}") from None

    def _frozen(self, t: _Trial, with_intermediate: bool) -> FrozenTrial:
        if with_intermediate:
            return t.trial.replace(intermediate=dict(t.reports))
        return t.trial

    def _set_state(self, t: _Trial, state: TrialState, **changes: Any) -> FrozenTrial:
        s = self._studies[t.study_id]
        s.counts[t.trial.state] -= 1
        s.counts[state] += 1
        if state is TrialState.WAITING:  # re-queued: the next attempt reports afresh
            t.reports.clear()
            changes["last_step"] = None
        t.trial = t.trial.replace(state=state, **changes)
        if state.is_finished:
            s.finished.append(t.trial.trial_id)
        if state is TrialState.COMPLETE and t.trial.value is not None and t.trial.is_feasible:
            sign = -1.0 if s.info.direction == "maximize" else 1.0
            b = s.best
            if (
                b is None
                or b.value is None
                or sign * t.trial.value < sign * b.value
                or (t.trial.value == b.value and t.trial.number < b.number)
            ):
                s.best = t.trial
        return t.trial

    def _budget_ok(self, s: _Study, limit: int | None) -> bool:
        c = s.counts
        return (
            limit is None
            or c[TrialState.RUNNING] + c[TrialState.COMPLETE] + c[TrialState.PRUNED] < limit
        )

    # ---------------------------------------------------------------- studies
    def _create_study(self, new: NewStudy) -> StudyInfo:
        with self._lock:
            if new.name in self._names:
                raise DuplicatedStudyError(
                    f"a study named {new.name!r} already exists {self._where}"
                )
            self._last_study_id += 1
            sid = self._last_study_id
            info = StudyInfo(
                sid,
                new.name,
                new.direction,
                new.space,
                dict(new.sampler),
                self._now(),
                dict(new.user_attrs),
                {},
                new.directions,
                new.objective_names,
            )
            self._studies[sid] = _Study(info)
            self._names[new.name] = sid
            return info

    def get_study(self, name: str) -> StudyInfo:
        with self._lock:
            if name not in self._names:
                raise StudyNotFoundError(f"no study named {name!r} {self._where}")
            return self._studies[self._names[name]].info

    def list_studies(self) -> list[StudyInfo]:
        with self._lock:
            return [s.info for s in self._studies.values()]

    def delete_study(self, name: str) -> None:
        with self._lock:
            sid = self._names.pop(name, None)
            if sid is None:
                raise StudyNotFoundError(f"no study named {name!r} {self._where}")
            for tid in self._studies.pop(sid).trials:
                self._trials.pop(tid, None)

    def set_study_system_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        with self._lock:
            s = self._study(study_id)
            s.info = StudyInfo(
                **{**s.info.__dict__, "system_attrs": {**s.info.system_attrs, **attrs}}
            )

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        with self._lock:
            s = self._study(study_id)
            s.info = StudyInfo(**{**s.info.__dict__, "user_attrs": {**s.info.user_attrs, **attrs}})

    def set_study_space(
        self, study_id: int, space: Space, *, system_attrs: Mapping[str, Any] | None = None
    ) -> None:
        with self._lock:
            s = self._study(study_id)
            attrs = {**s.info.system_attrs, **(system_attrs or {})}
            s.info = StudyInfo(**{**s.info.__dict__, "space": space, "system_attrs": attrs})

    def counts(self, study_id: int) -> StudyCounts:
        with self._lock:
            c = self._study(study_id).counts
            return StudyCounts(**{k.value: v for k, v in c.items()})

    # ---------------------------------------------------------------- creating trials
    def _new(
        self,
        s: _Study,
        state: TrialState,
        params: Mapping[str, Any],
        worker: str | None,
        system_attrs: Mapping[str, Any] | None,
    ) -> FrozenTrial:
        self._last_trial_id += 1
        tid = self._last_trial_id
        now = self._now()
        trial = FrozenTrial(
            number=len(s.trials),
            state=state,
            params=dict(params),
            start_time=now if state is TrialState.RUNNING else None,
            worker=worker,
            system_attrs=dict(system_attrs or {}),
            trial_id=tid,
        )
        self._trials[tid] = _Trial(
            trial, s.info.study_id, heartbeat=now, attempts=1 if state is TrialState.RUNNING else 0
        )
        s.trials.append(tid)
        s.counts[state] += 1
        return trial

    def _new_trial(self, new: NewTrial) -> FrozenTrial | None:
        with self._lock:
            s = self._study(new.study_id)
            if new.state is TrialState.RUNNING and not self._budget_ok(s, new.limit):
                return None
            return self._new(s, new.state, new.params, new.worker, new.system_attrs)

    def add_trials(
        self, study_id: int, trials: Sequence[FrozenTrial], *, uncounted: int = 0
    ) -> list[FrozenTrial]:
        with self._lock:
            s = self._study(study_id)
            for t in trials:  # check first: all or nothing
                if not t.state.is_finished:
                    raise ValueError(f"add_trials needs finished trials, got {t.state}")
                if t.state is TrialState.COMPLETE and (
                    t.value is None or not math.isfinite(t.value)
                ):
                    raise ValueError("a COMPLETE trial needs a finite value")
            out: list[FrozenTrial] = []
            for t in trials:
                new = self._new(s, TrialState.RUNNING, t.params, None, t.system_attrs)
                rec = self._trials[new.trial_id]
                rec.reports = {int(k): float(v) for k, v in t.intermediate.items()}
                now = self._now()
                rec.trial = rec.trial.replace(
                    user_attrs=dict(t.user_attrs),
                    last_step=max(rec.reports) if rec.reports else None,
                    start_time=now if t.start_time is None else t.start_time,
                )
                out.append(
                    self._set_state(
                        rec,
                        t.state,
                        value=t.value,
                        values=t.values,
                        constraints={str(k): float(v) for k, v in t.constraints.items()},
                        message=t.message,
                        stderr=t.stderr,
                        end_time=now if t.end_time is None else t.end_time,
                    )
                )
            if uncounted:
                before = s.info.system_attrs.get(UNCOUNTED_ATTR, 0)
                total = (before if isinstance(before, int) else 0) + uncounted
                s.info = StudyInfo(
                    **{
                        **s.info.__dict__,
                        "system_attrs": {**s.info.system_attrs, UNCOUNTED_ATTR: total},
                    }
                )
            return out

    def claim_waiting(
        self, study_id: int, *, worker: str, limit: int | None = None
    ) -> FrozenTrial | None:
        with self._lock:
            s = self._study(study_id)
            if s.counts[TrialState.WAITING] == 0 or not self._budget_ok(s, limit):
                return None
            for tid in s.trials:
                t = self._trials[tid]
                if t.trial.state is TrialState.WAITING:
                    t.attempts += 1
                    t.heartbeat = self._now()
                    return self._set_state(
                        t, TrialState.RUNNING, worker=worker, start_time=t.heartbeat, end_time=None
                    )
            return None

    # ---------------------------------------------------------------- updating trials
    def _finish_trial(self, trial_id: int, worker: str | None, end: Finish) -> FrozenTrial | None:
        with self._lock:
            t = self._t(trial_id)
            if t.trial.state is not TrialState.RUNNING or (
                worker is not None and t.trial.worker != worker
            ):
                return None
            return self._set_state(
                t,
                end.state,
                value=end.value,
                values=end.values,
                constraints=dict(end.constraints or {}),
                message=end.message,
                stderr=end.stderr,
                end_time=self._now(),
                system_attrs={**t.trial.system_attrs, **(end.system_attrs or {})},
            )

    def release_trial(self, trial_id: int, *, worker: str, count_attempt: bool = False) -> bool:
        with self._lock:
            t = self._t(trial_id)
            if t.trial.state is not TrialState.RUNNING or t.trial.worker != worker:
                return False
            if not count_attempt:
                t.attempts = max(0, t.attempts - 1)
            self._set_state(t, TrialState.WAITING, worker=None, start_time=None)
            return True

    def report(self, trial_id: int, step: int, value: float) -> None:
        with self._lock:
            t = self._t(trial_id)
            t.reports[int(step)] = float(value)
            last = t.trial.last_step
            t.trial = t.trial.replace(last_step=int(step) if last is None else max(last, int(step)))

    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        with self._lock:
            t = self._t(trial_id)
            t.trial = t.trial.replace(user_attrs={**t.trial.user_attrs, **attrs})

    def set_trial_system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        with self._lock:
            t = self._t(trial_id)
            t.trial = t.trial.replace(system_attrs={**t.trial.system_attrs, **attrs})

    def set_trial_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        with self._lock:
            t = self._t(trial_id)
            t.trial = t.trial.replace(params=dict(params))

    def heartbeat(self, trial_ids: Iterable[int], *, worker: str) -> None:
        now = self._now()
        with self._lock:
            for tid in trial_ids:
                t = self._trials.get(tid)
                if t is not None and t.trial.worker == worker:
                    t.heartbeat = now

    def _reclaim(self, t: _Trial, requeue: bool, max_attempts: int, why: str) -> FrozenTrial:
        if requeue and t.attempts < max_attempts:
            return self._set_state(
                t,
                TrialState.WAITING,
                worker=None,
                start_time=None,
                system_attrs={**t.trial.system_attrs, "requeued": why},
            )
        return self._set_state(t, TrialState.FAILED, message=why, end_time=self._now())

    def reclaim_stale(
        self, study_id: int, *, grace: float, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        now = self._now()
        with self._lock:
            out = []
            for tid in self._study(study_id).trials:
                t = self._trials[tid]
                if t.trial.state is TrialState.RUNNING and now - t.heartbeat > grace:
                    why = f"lost: worker {t.trial.worker} sent no heartbeat for {now - t.heartbeat:.0f} s"
                    out.append(self._reclaim(t, requeue, max_attempts, why))
            return out

    def reclaim_worker_trials(
        self, study_id: int, workers: Sequence[str], *, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        dead = set(workers)
        with self._lock:
            out = []
            for tid in self._study(study_id).trials:
                t = self._trials[tid]
                if t.trial.state is TrialState.RUNNING and t.trial.worker in dead:
                    out.append(
                        self._reclaim(
                            t, requeue, max_attempts, f"lost: worker {t.trial.worker} died"
                        )
                    )
            return out

    # ---------------------------------------------------------------- reading
    def get_trial(self, trial_id: int, *, with_intermediate: bool = False) -> FrozenTrial:
        with self._lock:
            return self._frozen(self._t(trial_id), with_intermediate)

    def get_trial_by_number(
        self, study_id: int, number: int, *, with_intermediate: bool = False
    ) -> FrozenTrial:
        with self._lock:
            s = self._study(study_id)
            if not 0 <= number < len(s.trials):
                raise StorageError(f"study {s.info.name!r} has no trial number {number}")
            return self._frozen(self._trials[s.trials[number]], with_intermediate)

    def _get_trials(self, study_id: int, query: TrialQuery) -> list[FrozenTrial]:
        with self._lock:
            s = self._study(study_id)
            ids = s.finished if query.by_finish else s.trials
            wanted = query.states
            out = [
                self._frozen(self._trials[i], query.with_intermediate)
                for i in ids
                if wanted is None or self._trials[i].trial.state in wanted
            ]
            end = None if query.limit is None else query.offset + query.limit
            return out[query.offset : end]

    def finished_since(self, study_id: int, seq: int) -> tuple[list[FrozenTrial], int]:
        with self._lock:
            s = self._study(study_id)
            new = [self._trials[i].trial for i in s.finished[seq:]]
            # a re-queued trial that finished earlier is not in `finished` twice: ids are appended
            # only on a transition into a finished state
            return new, len(s.finished)

    def trials_from(self, study_id: int, number: int) -> list[FrozenTrial]:
        with self._lock:
            s = self._study(study_id)
            return [self._trials[i].trial for i in s.trials[max(0, int(number)) :]]

    def pending_trials(self, study_id: int) -> list[FrozenTrial]:
        with self._lock:
            s = self._study(study_id)
            if s.counts[TrialState.RUNNING] + s.counts[TrialState.WAITING] == 0:
                return []
            return [
                self._trials[i].trial
                for i in s.trials
                if self._trials[i].trial.state in (TrialState.RUNNING, TrialState.WAITING)
            ]

    def best_trial(self, study_id: int, direction: str) -> FrozenTrial | None:
        with self._lock:
            s = self._study(study_id)
            if direction == s.info.direction:
                return s.best
            best: FrozenTrial | None = None
            sign = -1.0 if direction == "maximize" else 1.0
            for i in s.finished:
                t = self._trials[i].trial
                if (
                    t.is_feasible
                    and t.value is not None
                    and (
                        best is None
                        or sign * t.value < sign * best.value  # type: ignore[operator]
                        or (t.value == best.value and t.number < best.number)
                    )
                ):
                    best = t
            return best

    def intermediate_values(
        self, study_id: int, step: int | None = None
    ) -> dict[int, dict[int, float]]:
        with self._lock:
            out: dict[int, dict[int, float]] = {}
            for i in self._study(study_id).trials:
                t = self._trials[i]
                if step is None:
                    if t.reports:
                        out[t.trial.number] = dict(t.reports)
                elif step in t.reports:
                    out[t.trial.number] = {step: t.reports[step]}
            return out
