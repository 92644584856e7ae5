"""The storage contract: the single source of truth of every study.

Every state change of a trial is written (committed) by the storage method that makes it, before
the method returns; callers act only after that.  So a coordinator killed at any instant loses
nothing that was finished: on resume the storage tells exactly which trials finished with what.

Concurrency: several processes (and threads) may use one study at once.  Methods that change
shared counters are atomic: :meth:`BaseStorage.start_trial` and :meth:`BaseStorage.claim_waiting`
check the study's trial budget and reserve a trial number in one transaction, so concurrent workers
never exceed ``limit`` and never get the same number.  Finishing a trial succeeds only if the trial
is still RUNNING under the caller's worker id (a trial reclaimed by heartbeat is not overwritten).

Counters: each study keeps per-state trial counts, updated in the same transaction as every
transition, so ``counts()`` and the budget checks cost O(1) however many trials exist.  Trials that
finish get an increasing ``finish_seq`` so readers can fetch only what is new
(:meth:`BaseStorage.finished_since`) — nothing on the hot path reads all trials.

Implementations: :class:`~tansaku.storage.InMemoryStorage` (one process) and
:class:`~tansaku.storage.SQLStorage` (SQLite, PostgreSQL).  Instances are thread-safe.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tansaku._errors import StorageError
from tansaku._records import IMPORTED_ATTR, FrozenTrial, TrialState
from tansaku._space import Distribution, Space, distribution_from_dict
from tansaku.storage._requests import Finish, NewStudy, NewTrial, TrialQuery

__all__ = [
    "IMPORTED_ATTR",
    "PRUNERS_ATTR",
    "SAMPLER_CHANGES_ATTR",
    "SPACE_CHANGES_ATTR",
    "TRIAL_SAMPLER_ATTR",
    "UNCOUNTED_ATTR",
    "BaseStorage",
    "ExportRow",
    "Finish",
    "NewStudy",
    "NewTrial",
    "StudyCounts",
    "StudyInfo",
    "TrialQuery",
    "dumps",
]


def dumps(obj: Any) -> str:
    """Compact JSON as every storage writes attributes and params (numpy scalars as numbers,
    sets and tuples as lists, anything else as its ``str``; NaN and infinities kept)."""
    import json

    return json.dumps(obj, separators=(",", ":"), allow_nan=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        return item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


class ExportRow(NamedTuple):
    """One trial as :meth:`BaseStorage.export_rows` streams it: params and attributes as JSON
    text, times as POSIX seconds."""

    number: int
    state: str
    value: float | None
    params: str
    start_time: float | None
    end_time: float | None
    worker: str | None
    message: str | None
    user_attrs: str
    system_attrs: str
    stderr: str | None = None  # the tail of a failed trial's stderr (or traceback)
    values: str | None = None  # JSON list of every objective (multi-objective studies), or None
    constraints: str = "{}"  # JSON object of the trial's constraint values


@dataclass(frozen=True)
class StudyCounts:
    waiting: int = 0
    running: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.complete + self.pruned + self.failed

    @property
    def total(self) -> int:
        return self.waiting + self.running + self.finished

    @property
    def done(self) -> int:
        """Trials that count toward ``n_trials``: COMPLETE and PRUNED."""
        return self.complete + self.pruned

    def as_dict(self) -> dict[str, int]:
        return {s.value: getattr(self, s.value) for s in TrialState}


@dataclass(frozen=True)
class StudyInfo:
    study_id: int
    name: str
    direction: str
    space: Space
    sampler: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    #: every objective's direction, in order (``(direction,)`` for a single objective)
    directions: tuple[str, ...] = ()
    #: the objectives' names (``()`` when the study named none)
    objective_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.directions:
            object.__setattr__(self, "directions", (self.direction,))
        else:
            object.__setattr__(self, "directions", tuple(self.directions))
        object.__setattr__(self, "objective_names", tuple(self.objective_names))

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def searched_space(self) -> Space:
        """The declared ``space`` plus the define-by-run parameters the study learned from
        ``trial.suggest_*`` calls (``system_attrs["define_by_run_space"]``, in the order first
        seen; :attr:`Space.free` names them): every parameter a trial of it may hold."""
        return self.space.learned(learned_space(self.system_attrs))

    @property
    def sampler_changes(self) -> list[Mapping[str, Any]]:
        """Each resume that changed the sampler: ``{"at_trial": N, "from": {...}, "to": {...}}``
        (descriptions as in ``sampler``), oldest first; kept in ``system_attrs["sampler_changes"]``."""
        raw = self.system_attrs.get(SAMPLER_CHANGES_ATTR)
        return [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []

    @property
    def current_sampler(self) -> Mapping[str, Any]:
        """The description of the sampler the study's newest trials come from: the one it was
        created with, or the last one a resume changed it to."""
        changes = self.sampler_changes
        to = changes[-1].get("to") if changes else None
        return to if isinstance(to, Mapping) else self.sampler

    @property
    def pruners(self) -> list[Mapping[str, Any]]:
        """The descriptions (``Pruner.describe()``: name and options) of the pruners the study's
        runs used, each once, the one the latest run started with last; kept in
        ``system_attrs["pruners"]`` (empty when no run named a pruner, or the runs
        predate this record)."""
        raw = self.system_attrs.get(PRUNERS_ATTR)
        return [p for p in raw if isinstance(p, Mapping)] if isinstance(raw, list) else []

    def sampler_text(self) -> str:
        """The sampler for a status line: ``tpe``, or ``gp (sampler changed at trial 12: tpe -> gp)``."""
        now = str(self.current_sampler.get("name", "?"))
        changes = self.sampler_changes
        if not changes:
            return now
        steps = "; ".join(
            f"sampler changed at trial {c.get('at_trial')}: "
            f"{_sampler_name(c.get('from'))} -> {_sampler_name(c.get('to'))}"
            for c in changes
        )
        return f"{now} ({steps})"


#: study system attribute: the define-by-run parameters learned so far, ``[[name, spec], ...]``
#: in the order they were first used (see ``StudyInfo.searched_space``)
LEARNED_ATTR = "define_by_run_space"


def learned_space(system_attrs: Mapping[str, Any]) -> dict[str, Distribution]:
    """The define-by-run parameters a study learned (empty for a declared-only study)."""
    out: dict[str, Distribution] = {}
    for name, spec in system_attrs.get(LEARNED_ATTR) or ():
        out[str(name)] = distribution_from_dict(spec)
    return out


#: study system attribute listing the sampler changes (see ``StudyInfo.sampler_changes``)
SAMPLER_CHANGES_ATTR = "sampler_changes"
#: study system attribute listing the pruners the study's runs used (see ``StudyInfo.pruners``)
PRUNERS_ATTR = "pruners"
#: study system attribute listing the accepted space changes of resumes (``set_study_space``)
SPACE_CHANGES_ATTR = "space_changes"
#: study system attribute: how many COMPLETE/PRUNED trials count toward no budget (imported ones)
UNCOUNTED_ATTR = "uncounted_trials"


def uncounted_trials(system_attrs: Mapping[str, Any]) -> int:
    """How many of a study's finished trials count toward no budget (imported ones):
    ``system_attrs[UNCOUNTED_ATTR]`` when it is a positive int, else 0."""
    n = system_attrs.get(UNCOUNTED_ATTR, 0)
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0


#: trial system attribute naming the sampler that proposed the trial (absent for enqueued trials)
TRIAL_SAMPLER_ATTR = "sampler_name"


def _sampler_name(desc: Any) -> str:
    return str(desc.get("name", "?")) if isinstance(desc, Mapping) else "?"


class BaseStorage(ABC):
    """Abstract storage; see the module docstring for the guarantees every implementation keeps."""

    #: a printable location with any password removed
    url: str = ""

    # ---------------------------------------------------------------- studies
    def create_study(
        self,
        name: str,
        *,
        space: Space,
        direction: str,
        sampler: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        directions: Sequence[str] | None = None,
        objective_names: Sequence[str] | None = None,
    ) -> StudyInfo:
        """Create a study; raise DuplicatedStudyError if the name is taken.  ``directions``
        (several objectives) starts with ``direction``; ``objective_names`` names them."""
        several = directions is not None and len(directions) > 1
        new = NewStudy(
            name,
            space,
            direction,
            dict(sampler or {}),
            dict(user_attrs or {}),
            tuple(directions or ()) if several else (),
            tuple(objective_names or ()),
        )
        return self._create_study(new)

    @abstractmethod
    def _create_study(self, new: NewStudy) -> StudyInfo:
        """Store ``new`` (:meth:`create_study`'s arguments, normalised)."""

    @abstractmethod
    def get_study(self, name: str) -> StudyInfo:
        """Raise StudyNotFoundError if there is none."""

    @abstractmethod
    def list_studies(self) -> list[StudyInfo]: ...

    @abstractmethod
    def delete_study(self, name: str) -> None: ...

    @abstractmethod
    def set_study_system_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        """Merge ``attrs`` into the study's system attributes."""

    @abstractmethod
    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def counts(self, study_id: int) -> StudyCounts: ...

    # ---------------------------------------------------------------- creating / claiming trials
    def enqueue_trial(
        self,
        study_id: int,
        params: Mapping[str, Any],
        *,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Add a WAITING trial with fixed params (run before the sampler is asked)."""
        trial = self._new_trial(NewTrial(study_id, TrialState.WAITING, params, system_attrs))
        if trial is None:  # no budget applies to a waiting trial
            raise StorageError(f"{self.url or type(self).__name__} did not add the trial")
        return trial

    def start_trial(
        self,
        study_id: int,
        params: Mapping[str, Any],
        *,
        worker: str,
        system_attrs: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> FrozenTrial | None:
        """Create a RUNNING trial owned by ``worker``.

        With ``limit``, only if ``running + complete + pruned < limit`` (checked atomically);
        returns None when the budget is used up.
        """
        new = NewTrial(study_id, TrialState.RUNNING, params, system_attrs, worker, limit)
        return self._new_trial(new)

    @abstractmethod
    def _new_trial(self, new: NewTrial) -> FrozenTrial | None:
        """Add ``new`` with the study's next number (a RUNNING one within ``new.limit``, checked
        in the same transaction); None when the budget is used up."""

    @abstractmethod
    def claim_waiting(
        self, study_id: int, *, worker: str, limit: int | None = None
    ) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING under ``worker`` (budget as in
        :meth:`start_trial`); None if there is none or the budget is used up."""

    # ---------------------------------------------------------------- updating trials
    def finish_trial(
        self,
        trial_id: int,
        *,
        worker: str | None,
        state: TrialState,
        value: float | None = None,
        message: str | None = None,
        stderr: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        values: Sequence[float] | None = None,
        constraints: Mapping[str, float] | None = None,
    ) -> FrozenTrial | None:
        """RUNNING -> COMPLETE/PRUNED/FAILED.  Returns None (and changes nothing) if the trial is no
        longer RUNNING under ``worker`` (``worker=None``: under any worker, for ask/tell).
        ``values`` (several objectives) replaces ``value`` (see :func:`tansaku.storage._requests.finish_values`);
        ``constraints`` are kept whatever the state.  Bad arguments raise ValueError before
        anything is written."""
        end = Finish(state, value, values, constraints, message, stderr, system_attrs)
        return self._finish_trial(trial_id, worker, end)

    @abstractmethod
    def _finish_trial(self, trial_id: int, worker: str | None, end: Finish) -> FrozenTrial | None:
        """Apply ``end`` (checked) if the trial is still RUNNING under ``worker`` (any worker when
        None); merge ``end.system_attrs`` into the trial's."""

    @abstractmethod
    def release_trial(self, trial_id: int, *, worker: str, count_attempt: bool = False) -> bool:
        """RUNNING -> WAITING (same number and params), e.g. on Ctrl-C; False if not ours."""

    @abstractmethod
    def report(self, trial_id: int, step: int, value: float) -> None:
        """Store an intermediate value (a later report at the same step replaces it)."""

    @abstractmethod
    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def set_trial_system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def set_trial_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """Replace a trial's params with exactly the ones it used (define-by-run: the study
        calls it before finishing a trial whose objective called ``trial.suggest_*``)."""

    @abstractmethod
    def heartbeat(self, trial_ids: Iterable[int], *, worker: str) -> None:
        """Record that ``worker`` is alive and still running these trials."""

    @abstractmethod
    def reclaim_stale(
        self, study_id: int, *, grace: float, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        """RUNNING trials whose heartbeat is older than ``grace`` seconds (ask/tell trials too:
        their process beats for them while it holds them): re-queued (WAITING) when
        ``requeue`` and they have had fewer than ``max_attempts`` attempts, else FAILED.  Returns
        the trials as they are afterwards."""

    @abstractmethod
    def reclaim_worker_trials(
        self, study_id: int, workers: Sequence[str], *, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        """Like :meth:`reclaim_stale` for the RUNNING trials of workers known to be dead."""

    # ---------------------------------------------------------------- reading
    @abstractmethod
    def get_trial(self, trial_id: int, *, with_intermediate: bool = False) -> FrozenTrial: ...

    @abstractmethod
    def get_trial_by_number(
        self, study_id: int, number: int, *, with_intermediate: bool = False
    ) -> FrozenTrial: ...

    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        with_intermediate: bool = False,
        order: str = "number",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[FrozenTrial]:
        """All trials (not for the hot path).  ``order`` is "number" or "finish" (finished trials
        only, in finishing order)."""
        query = TrialQuery(states, with_intermediate, order == "finish", limit, offset)
        if query.states is not None and not query.states:
            return []
        return self._get_trials(study_id, query)

    @abstractmethod
    def _get_trials(self, study_id: int, query: TrialQuery) -> list[FrozenTrial]:
        """The study's trials that ``query`` selects (``query.states`` is None or not empty)."""

    @abstractmethod
    def finished_since(self, study_id: int, seq: int) -> tuple[list[FrozenTrial], int]:
        """Trials finished after ``seq``, in finishing order, and the new ``seq`` to pass next."""

    @abstractmethod
    def pending_trials(self, study_id: int) -> list[FrozenTrial]:
        """RUNNING and WAITING trials."""

    def trials_from(self, study_id: int, number: int) -> list[FrozenTrial]:
        """Trials numbered ``number`` or more, by number (any state): how a reader that keeps its
        own view of the study (``study/_proposals.py``) learns of new trials cheaply.  The default
        relies on numbers being 0, 1, 2 ... per study; storages override it with a keyed read."""
        return self.get_trials(study_id, order="number", offset=max(0, int(number)))

    @abstractmethod
    def best_trial(self, study_id: int, direction: str) -> FrozenTrial | None:
        """The COMPLETE trial that satisfies its constraints with the lowest (minimize) or highest
        value; ties -> lowest number."""

    @abstractmethod
    def intermediate_values(
        self, study_id: int, step: int | None = None
    ) -> dict[int, dict[int, float]]:
        """``{trial_number: {step: value}}`` of reports (only ``step`` when given), for pruners."""

    @contextmanager
    def ask_lock(self, study_id: int) -> Iterator[None]:
        """Held by a worker while it picks its next trial (claims an enqueued one, or asks the
        sampler and starts the proposal), so that concurrent workers of a study take turns and
        each sees the trials the others just started.  Without it two workers whose samplers are
        in the same state (a seeded sampler, a grid, a Sobol sequence) propose the same point and
        both evaluate it.  The default serialises the threads of this process only; storages
        shared between processes (SQL) lock across processes."""
        locks = self.__dict__.setdefault("_ask_locks", {})
        with locks.setdefault(study_id, threading.Lock()):
            yield

    def export_rows(self, study_id: int, *, page: int = 5000) -> Iterator[ExportRow]:
        """Every trial of the study by number, streamed ``page`` at a time (memory does not grow
        with the study) and without building :class:`FrozenTrial` records -- for exports."""
        import json

        offset = 0
        while True:
            trials = self.get_trials(study_id, limit=page, offset=offset)
            for t in trials:
                yield ExportRow(
                    t.number,
                    t.state.value,
                    t.value,
                    json.dumps(dict(t.params), default=str),
                    t.start_time,
                    t.end_time,
                    t.worker,
                    t.message,
                    json.dumps(dict(t.user_attrs), default=str),
                    json.dumps(dict(t.system_attrs), default=str),
                    t.stderr,
                    json.dumps(list(t.values)) if t.values and len(t.values) > 1 else None,
                    json.dumps(dict(t.constraints)),
                )
            if len(trials) < page:
                return
            offset += page

    def add_trials(
        self, study_id: int, trials: Sequence[FrozenTrial], *, uncounted: int = 0
    ) -> list[FrozenTrial]:
        """Store already finished trials (warm start) all at once or not at all.

        Each record's ``state`` (COMPLETE, PRUNED or FAILED), params, value, message, stderr,
        times (now when None), intermediate values, user and system attrs are kept; its number,
        trial id and worker are the storage's (numbers follow the study's, ``finish_seq`` in the
        given order, so samplers are told them in that order).  ``uncounted`` is added to the
        study's ``system_attrs[UNCOUNTED_ATTR]`` in the same transaction.  Callers validate the
        records first (``Study.add_trials``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot add finished trials")

    def set_study_space(
        self, study_id: int, space: Space, *, system_attrs: Mapping[str, Any] | None = None
    ) -> None:
        """Replace the study's space (a resume whose config only widened it, see
        ``tansaku._space.space_widening``) and merge ``system_attrs``, in one transaction."""
        raise NotImplementedError(f"{type(self).__name__} cannot change a study's space")

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""
