"""Study: the user's handle on one optimisation — ask/tell, optimize, results."""

from __future__ import annotations

import copy
import json
import logging
import numbers
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tansaku._blas import blas_limit
from tansaku._check import check_number
from tansaku._errors import ConfigError, DuplicatedStudyError, StudyNotFoundError, TansakuError
from tansaku._names import check_name
from tansaku._options import DEFAULTS, RunOptions
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space, as_space, distribution_from_dict, space_widening
from tansaku._trial import Trial, describe_distribution
from tansaku.executors._base import Executor
from tansaku.objectives._callable import as_values
from tansaku.pruners import Pruner, make_pruner
from tansaku.samplers._base import Proposal, Sampler, check_objectives
from tansaku.samplers._registry import MULTI_OBJECTIVE_DEFAULT, make_sampler
from tansaku.storage._base import (
    LEARNED_ATTR,
    PRUNERS_ATTR,
    SAMPLER_CHANGES_ATTR,
    SPACE_CHANGES_ATTR,
    TRIAL_SAMPLER_ATTR,
    BaseStorage,
    StudyCounts,
    StudyInfo,
    learned_space,
)
from tansaku.storage._url import get_storage
from tansaku.study._liveness import MANUAL, Heartbeat, new_worker_id
from tansaku.study._proposals import PendingView, ProposalBuffer

log = logging.getLogger("tansaku.study")

#: system attribute of an enqueued trial: its values for names the study did not know yet
#: (define-by-run), taken by the objective's ``suggest_*`` (see ``Study.enqueue``)
ENQUEUED_ATTR = "enqueued_params"

__all__ = ["EXHAUSTED", "Study", "create_study", "load_study", "new_worker_id"]

_DIRECTIONS = ("minimize", "maximize")


class _Exhausted:
    def __repr__(self) -> str:
        return "EXHAUSTED"


#: returned by ``Study.next_trial`` when the sampler has nothing more to propose
EXHAUSTED = _Exhausted()


class _StorageChannel:
    """A trial channel for ask/tell: reports go straight to storage; the pruner is asked in place."""

    def __init__(self, study: Study) -> None:
        self.study = study

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.study.report_step(trial_id, step, value)

    def should_prune(self, trial_id: int) -> bool:
        return self.study._should_prune(trial_id)

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.study.storage.set_trial_user_attrs(trial_id, {key: value})


class Study:
    """One named optimisation in a storage.  Create with :func:`create_study` or :func:`load_study`.

    Only one thread should drive a Study object (its sampler is not thread-safe); several
    processes may drive Study objects of the same stored study at once.
    """

    def __init__(
        self,
        *,
        storage: BaseStorage,
        info: StudyInfo,
        sampler: Sampler,
        pruner: Pruner | None = None,
        n_workers: int = 1,
    ) -> None:
        self.storage = storage
        self._info = info
        self.sampler = sampler
        self.pruner = pruner
        self._pruner_recorded: Pruner | None = None  # the pruner record_pruner last stored
        self._seq = 0  # finish_seq up to which the sampler has been told
        #: the pending trials the sampler is shown, kept by incremental reads
        self._view = PendingView(storage, info.study_id)
        #: while an ``optimize`` call buffers proposals: their source (its thread owns the sampler)
        self._proposals: ProposalBuffer | None = None
        self._ask_seconds = 0.0  # the last synchronous proposal's time in the sampler
        self._stop = False
        #: why the last ``optimize`` call stopped, and the error that stopped it (e.g. every trial failing)
        self.stop_reason: str | None = None
        self.run_error: str | None = None
        #: set by a resume that changed the sampler: the one-line notice to show the user
        self.resume_notice: str | None = None
        self._manual_worker = new_worker_id(MANUAL)
        #: seconds between the heartbeats this process sends for its ask() trials (see ``ask``)
        self.heartbeat_interval: float = DEFAULTS.heartbeat_interval
        self._asked: Heartbeat | None = None
        self._asked_ids: set[int] = set()  # trials this object's ask() started
        self._defaults = [n for n in info.space.names if info.space[n].default is not None]
        #: the declared space plus the define-by-run parameters learned so far (see ``space``)
        self._space = info.searched_space
        self._known: dict[str, dict[str, Any]] = self._space.to_dict()
        self._n_workers = n_workers
        self._bound = False
        self._plan: tuple[int | None, int] | None = None
        try:  # an unbound copy: a grown space binds a fresh one (see _bind_sampler)
            self._pristine: Sampler | None = copy.deepcopy(sampler)
        except Exception:
            self._pristine = None
        self._bind_sampler()

    def _bind_sampler(self) -> None:
        """Bind the sampler to :attr:`space` (a study with no parameter known yet has nothing
        to bind: every parameter of its first trials is drawn by ``trial.suggest_*``)."""
        if not len(self._space):
            return
        if self._bound and self._pristine is not None:
            # the space grew: a fresh sampler (as on a resume), told every trial again (see _read_finished)
            self.sampler = copy.deepcopy(self._pristine)
        if self._bound and self._pristine is None:
            self.sampler.rebind(self._space)
        else:
            self.sampler.bind(
                self._space,
                direction=self._info.direction,
                n_workers=self._n_workers,
                seed=self._info.system_attrs.get("seed"),
                **(
                    {"directions": self._info.directions}
                    if self._info.n_objectives > 1
                    else {}
                ),
            )
            if self._bound and self._plan is not None:  # what the running optimize said
                self.sampler.plan(n_trials=self._plan[0], n_workers=self._plan[1])
        self._bound = True

    # ---------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        return self._info.name

    @property
    def study_id(self) -> int:
        return self._info.study_id

    @property
    def direction(self) -> str:
        return self._info.direction

    @property
    def directions(self) -> tuple[str, ...]:
        """Every objective's direction (``(direction,)`` for a single objective)."""
        return self._info.directions

    @property
    def objective_names(self) -> tuple[str, ...]:
        """The objectives' names as created (``()`` when none were given)."""
        return self._info.objective_names

    @property
    def n_objectives(self) -> int:
        return self._info.n_objectives

    @property
    def space(self) -> Space:
        """The declared space plus every define-by-run parameter learned from ``suggest_*``
        calls so far (:attr:`Space.free`: active in a trial exactly when it holds them)."""
        return self._space

    @property
    def user_attrs(self) -> Mapping[str, Any]:
        return self.storage.get_study(self.name).user_attrs

    @property
    def system_attrs(self) -> Mapping[str, Any]:
        return self.storage.get_study(self.name).system_attrs

    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_study_user_attrs(self.study_id, {key: value})

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, direction={self.direction!r}, storage={self.storage.url!r})"
        )

    # ---------------------------------------------------------------- results
    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, by number (reads them all: not for hot loops)."""
        return self.storage.get_trials(self.study_id)

    def get_trials(
        self, states: Iterable[TrialState] | None = None, *, with_intermediate: bool = False
    ) -> list[FrozenTrial]:
        return self.storage.get_trials(
            self.study_id, states=states, with_intermediate=with_intermediate
        )

    def counts(self) -> StudyCounts:
        return self.storage.counts(self.study_id)

    @property
    def best_trial(self) -> FrozenTrial:
        """The feasible COMPLETE trial with the best value (single objective; ties -> the lowest
        number).  Raises TansakuError when there is none, saying whether no trial completed or
        none of the complete ones satisfies its constraints."""
        if self.n_objectives > 1:
            raise TansakuError(
                f"study {self.name!r} has {self.n_objectives} objectives: it has no single best "
                "trial; use study.best_trials (the Pareto front)"
            )
        best = self.storage.best_trial(self.study_id, self.direction)
        if best is None:
            raise TansakuError(self._no_best())
        return best

    def _no_best(self) -> str:
        complete = self.counts().complete
        if complete == 0:
            return f"study {self.name!r} has no complete trial yet"
        return (
            f"study {self.name!r} has no feasible trial: each of its {complete} complete "
            "trials violates a constraint (a constraint holds when its value is <= 0)"
        )

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front: the feasible COMPLETE trials that no other feasible COMPLETE trial
        dominates (no worse in every objective and better in one), by number; duplicates of a
        front point are all in it.  For a single objective, the trials sharing the best value.
        Empty when no trial is feasible (reads every complete trial: not for hot loops)."""
        from tansaku.study._front import pareto_front

        done = self.storage.get_trials(self.study_id, states=[TrialState.COMPLETE])
        return pareto_front(done, self.directions)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    # ---------------------------------------------------------------- sampler plumbing
    def _read_finished(self) -> list[FrozenTrial]:
        """Trials finished since the last call, in finishing order (not told yet).  When one (of
        any worker) used a define-by-run parameter this object has not seen, the grown space is
        learned, a fresh sampler bound to it, and every finished trial is returned again."""
        new, self._seq = self.storage.finished_since(self.study_id, self._seq)
        if any(n not in self._space for t in new for n in t.params):
            self._reload_space()
            new, self._seq = self.storage.finished_since(self.study_id, 0)
        return new

    def _tell_finished(self, new: Sequence[FrozenTrial]) -> set[int]:
        """Tell the sampler ``new`` (from :meth:`_read_finished`), in that order; their ids."""
        for trial in new:
            self.sampler.tell(self._filled(trial))
        told = {t.trial_id for t in new}
        self._view.drop(told)
        return told

    def _filled(self, trial: FrozenTrial) -> FrozenTrial:
        """``trial`` as the sampler sees it: a trial from before a parameter with a ``default``
        was added to the space (a widened resume) gets that default; stored params are kept."""
        if self._defaults and any(n not in trial.params for n in self._defaults):
            from tansaku.study._warm import fill_defaults

            return trial.replace(params=fill_defaults(self.space, trial.params))
        return trial

    def trial_inputs(self, trial: FrozenTrial) -> dict[str, Any]:
        """The params a run of ``trial`` starts from: its stored ones plus the values it was
        enqueued with for names the study had not learned then (see :meth:`enqueue`), which
        its objective takes only if it suggests them."""
        extra = trial.system_attrs.get(ENQUEUED_ATTR)
        if not isinstance(extra, Mapping):
            return dict(trial.params)
        return {**{n: v for n, v in extra.items() if n not in trial.params}, **trial.params}

    def learned_names(self, trial: FrozenTrial) -> tuple[str, ...]:
        """The names in :meth:`trial_inputs` that are taken only if suggested: the learned
        (define-by-run) ones and the enqueued values for names not known yet."""
        return tuple(
            n for n in self.trial_inputs(trial) if n in self._space.free or n not in self._space
        )

    def draw_seed(self, number: int) -> str:
        """What seeds trial ``number``'s draws of parameters first seen by ``suggest_*``: the
        study's seed, else the sampler's own, else the study's name (a seeded study reproduces
        them under any name)."""
        seed = self._info.system_attrs.get("seed")
        if seed is None:
            seed = getattr(self._pristine or self.sampler, "seed", None)
        return f"seed {seed}/{number}" if seed is not None else f"{self.name}/{number}"

    def _reload_space(self) -> None:
        learned = learned_space(self.storage.get_study(self.name).system_attrs)
        grown = self._info.space.learned(learned)
        if grown != self._space:
            self._space = grown
            self._known = grown.to_dict()
            self._bind_sampler()

    @property
    def known_distributions(self) -> Mapping[str, Mapping[str, Any]]:
        """The JSON form of every distribution the study knows, declared and learned from
        define-by-run trials (what a :class:`~tansaku.executors.Job` carries as ``known``, so a
        trial's ``suggest_*`` of a known name draws from the study's distribution).  For loops
        that run trials themselves (the optimize Coordinator); do not change it."""
        return self._known

    @property
    def ask_seconds(self) -> float:
        """Seconds the sampler took for the last proposal made in the caller's thread (0 before
        any): what tells a loop with several workers that proposals are worth making while
        trials run (``Coordinator.maybe_buffer``)."""
        return self._ask_seconds

    @property
    def proposal_buffer(self) -> ProposalBuffer | None:
        """The buffer (``study/_proposals.py``) that makes this study's proposals while trials
        run, if one is attached: then :meth:`next_trial` starts its proposals, and its thread
        alone asks the sampler."""
        return self._proposals

    def attach_proposals(self, buffer: ProposalBuffer) -> bool:
        """Make ``buffer`` the source of :meth:`next_trial`'s proposals; False (nothing changed)
        when another buffer is attached already (an optimize call nested in another's)."""
        if self._proposals is not None:
            return False
        self._proposals = buffer
        return True

    def detach_proposals(self, buffer: ProposalBuffer) -> None:
        """Stop taking proposals from ``buffer`` (if it is the one attached): the sampler is the
        caller's again.  Its proposals not started are not trials and are dropped with it."""
        if self._proposals is buffer:
            self._proposals = None

    def record_used(
        self, trial_id: int, params: Mapping[str, Any], suggested: Mapping[str, Any]
    ) -> str | None:
        """Store what a define-by-run trial used (``Outcome.params``/``suggested``, before its
        result is stored): its ``params`` (replacing the proposed ones) and, in the study, each
        ``suggested`` distribution it is the first to use.  Returns the
        trial's failure message when a suggested distribution differs from the one the study
        learned meanwhile (another worker's trial), which is then left out of its params."""
        params = dict(params)
        problems: list[str] = []
        with self.storage.ask_lock(self.study_id):
            attrs = self.storage.get_study(self.name).system_attrs
            learned = learned_space(attrs)
            added = False
            for name, spec in suggested.items():
                if name in self._info.space:
                    continue  # checked against the declared one by the trial itself
                dist = distribution_from_dict(spec)
                known = learned.get(name)
                if known is None:
                    learned[name] = dist
                    added = True
                elif known != dist:
                    problems.append(
                        f"{name}: suggested as {describe_distribution(dist)}, but the study "
                        f"knows it as {describe_distribution(known)}"
                    )
                    params.pop(name, None)
            if added:
                self.storage.set_study_system_attrs(
                    self.study_id,
                    {LEARNED_ATTR: [[n, d.to_dict()] for n, d in learned.items()]},
                )
            self.storage.set_trial_params(trial_id, params)
        return "; ".join(problems) or None

    def _ask_sampler(
        self, finished: Sequence[FrozenTrial], *, extra: Sequence[FrozenTrial] = ()
    ) -> Proposal | None:
        """Tell ``finished``, then ask for a proposal with the pending view (plus ``extra``:
        proposals made but not started yet, see ``study/_proposals.py``); checked params."""
        self._tell_finished(finished)
        # nothing known yet (define-by-run): the trial's suggest_* calls draw everything
        out = (
            self.sampler.ask([*(self._filled(t) for t in self._view.trials()), *extra])
            if self._bound
            else {}
        )
        if out is None:
            return None
        proposal = out if isinstance(out, Proposal) else Proposal(dict(out))
        try:
            params = self.space.validate_params(proposal.params)
        except ConfigError as e:
            raise TansakuError(
                f"sampler {self.sampler.name!r} proposed invalid params: {e}"
            ) from None
        return Proposal(params, proposal.meta, proposal.system_attrs)

    def _propose(self, counts: StudyCounts | None = None) -> Proposal | None:
        # Pending first, then finished: a trial of another worker that finishes between the two
        # reads is then seen once (as finished), never missed, so with the ask lock held every
        # proposal sees all trials, e.g. a seeded sampler's i-th draw is never made twice.
        # The pending trials are a view kept by incremental reads (``study/_proposals.py``);
        # ``counts``, read just before under the same lock, saying that nothing is running or
        # waiting lets even that read be skipped: trials are started only under the ask lock,
        # so none can appear before the sampler is asked (an enqueue meanwhile is the same race
        # as an enqueue just after the read).
        self._view.refresh(counts)
        finished = self._read_finished()
        t0 = time.perf_counter()
        try:
            with blas_limit():  # see tansaku._blas: small dense algebra is faster on one thread
                return self._ask_sampler(finished)
        finally:
            self._ask_seconds = time.perf_counter() - t0

    def next_trial(self, worker: str, limit: int | None) -> FrozenTrial | _Exhausted | None:
        """The next trial to run, started (RUNNING) for ``worker``: an enqueued one first, else a
        new proposal.  None when the budget ``limit`` (trials running + done) is used up;
        EXHAUSTED when the sampler has nothing more.  Runs under the storage's ask lock, so
        concurrent workers never propose from the same state.  For loops that run trials
        themselves (the optimize Coordinator); a user's loop calls :meth:`ask`."""
        with self.storage.ask_lock(self.study_id):
            return self._next_trial_locked(worker, limit)

    _next_trial = next_trial  # the name used before it was documented

    def _next_trial_locked(self, worker: str, limit: int | None) -> FrozenTrial | _Exhausted | None:
        # One O(1) read of the counters decides whether to claim an enqueued trial (a write
        # transaction, so only when one waits), whether the budget is used up, and whether the
        # sampler's pending trials need reading at all.
        c = self.storage.counts(self.study_id)
        if c.waiting:
            trial = self.storage.claim_waiting(self.study_id, worker=worker, limit=limit)
            if trial is not None:
                return trial
            c = self.storage.counts(self.study_id)
        if limit is not None and c.running + c.done >= limit:
            return None
        if self._proposals is not None:  # made while trials ran, by the buffer's thread
            return self._proposals.start(worker, limit)
        proposal = self._propose(c)
        if proposal is None:
            return EXHAUSTED
        return self._start_proposal(proposal, worker, limit)

    def _start_proposal(
        self, proposal: Proposal, worker: str, limit: int | None
    ) -> FrozenTrial | None:
        """Start ``proposal`` as a RUNNING trial of ``worker``; None when the budget is used up."""
        attrs: dict[str, Any] = {TRIAL_SAMPLER_ATTR: self.sampler.name}
        attrs.update(proposal.stored_attrs())  # the sampler's meta ("sampler") and own attrs
        return self.storage.start_trial(
            self.study_id, proposal.params, worker=worker, system_attrs=attrs, limit=limit
        )

    def report_step(self, trial_id: int, step: int, value: float) -> bool:
        """Store trial ``trial_id``'s intermediate ``value`` at ``step``; True when the pruner
        says stop.  What a running trial's ``trial.report`` (or a command's report line) comes
        to, for loops that run trials themselves."""
        self.storage.report(trial_id, step, value)
        return self._should_prune(trial_id)

    def record_pruner(self) -> None:
        """Store this object's pruner's description in the study (``StudyInfo.pruners``) so that
        read-only views (``tansaku report``, the dashboard) draw its cut-off.  Each description is
        kept once, the latest run's last: when workers of one study run with different pruners,
        the views draw the cut-off of the one that started last and say that others were used.
        Called when ``optimize`` starts and at an ask/tell trial's first report; a no-op without
        a pruner or when it is already recorded by this object."""
        p = self.pruner
        if p is None or p is self._pruner_recorded:
            return
        desc = dict(p.describe())
        with self.storage.ask_lock(self.study_id):
            known = self.storage.get_study(self.name).pruners
            if not known or dict(known[-1]) != desc:
                kept = [dict(k) for k in known if dict(k) != desc]
                self.storage.set_study_system_attrs(self.study_id, {PRUNERS_ATTR: [*kept, desc]})
        self._pruner_recorded = p

    _report = report_step  # the name used before it was documented

    def _should_prune(self, trial_id: int) -> bool:
        if self.pruner is None:
            return False
        self.record_pruner()  # ask/tell loops never call optimize
        trial = self.storage.get_trial(trial_id, with_intermediate=True)
        return bool(self.pruner.should_prune(self, trial))

    # ---------------------------------------------------------------- ask / tell
    def enqueue(
        self,
        params: Mapping[str, Any],
        *,
        user_attrs: Mapping[str, Any] | None = None,
        from_trial: int | None = None,
    ) -> int:
        """Queue fixed params to be evaluated before the sampler is asked; returns the trial number.

        ``from_trial=N``: the trial starts from finished trial N's directory (a checkpoint it left
        there), passed as ``{parent_dir}`` / ``TANSAKU_PARENT_DIR`` / ``trial.parent_dir``; the
        parameters ``params`` leaves out are trial N's.

        Define-by-run: a name the study does not know yet (neither declared nor learned) is kept
        with the trial (``system_attrs["enqueued_params"]``) and is the value the objective's
        ``trial.suggest_*`` for that name returns, checked against the suggested distribution
        then (a value outside it fails the trial naming the parameter).  A name the objective
        never suggests is not among the trial's params."""
        attrs: dict[str, Any] = {"enqueued": True}
        if from_trial is not None:
            parent = self._check_parent(from_trial)
            attrs["from_trial"] = parent.number
            if isinstance(params, Mapping):
                params = {**parent.params, **params}
        self._reload_space()  # names another process's trials taught the study
        known, unknown = self.space.split_enqueued(params)
        checked = self.space.validate_params(known)
        if unknown:
            attrs[ENQUEUED_ATTR] = unknown
            # a typo would otherwise vanish without a word: say which names wait for a suggest
            log.warning(
                "enqueue: %s not in the study's space yet; kept for the objective's "
                "trial.suggest_* (dropped if it never suggests them)",
                ", ".join(f"params.{n}" for n in sorted(unknown)),
            )
        uattrs = None
        if user_attrs is not None:
            if not isinstance(user_attrs, Mapping):
                raise ConfigError("must be a mapping", field="user_attrs")
            try:
                uattrs = {str(k): v for k, v in user_attrs.items()}
            except Exception:
                raise ConfigError("must be a readable mapping", field="user_attrs") from None
        trial = self.storage.enqueue_trial(self.study_id, checked, system_attrs=attrs)
        if uattrs:
            self.storage.set_trial_user_attrs(trial.trial_id, uattrs)
        return trial.number

    def add_trial(
        self,
        params: Mapping[str, Any],
        value: float | None = None,
        *,
        values: Sequence[float] | None = None,
        constraints: Mapping[str, float] | None = None,
        state: TrialState | str | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        intermediate: Mapping[int, float] | None = None,
        message: str | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
        count: bool = False,
    ) -> FrozenTrial:
        """Add a trial evaluated elsewhere (warm start): ``add_trial({"x": 0.2}, 0.41)``,
        ``add_trial(params, state="failed", message=...)``, ``state="pruned"`` with its
        ``intermediate`` values.  It is checked against the space (a one-line ConfigError naming
        the field), marked ``system_attrs["imported"]``, told to the sampler like any finished
        trial and, unless ``count=True``, counted toward no budget.  A study of several
        objectives takes ``values=[...]`` instead of ``value``; ``constraints={"name": v}`` are
        kept as ``trial.set_constraint`` keeps them.  See ``tansaku.study._warm``."""
        spec: dict[str, Any] = {"params": params, "value": value, "values": values,
                                "constraints": constraints, "state": state,
                                "user_attrs": user_attrs, "intermediate": intermediate,
                                "message": message, "start_time": start_time,
                                "end_time": end_time}
        from tansaku.study._warm import add_checked, check_trial

        record = check_trial(
            self.space, spec, field=lambda k: k or "trial", imported={"source": "add_trial"},
            n_objectives=len(self.directions),
        )
        return add_checked(self, [record], count=count)[0]

    def add_trials(
        self,
        trials: Iterable[Mapping[str, Any] | FrozenTrial],
        *,
        count: bool = False,
        skip_invalid: bool = False,
    ) -> list[FrozenTrial]:
        """Add many finished trials at once, all or none: each a mapping with ``params`` and
        ``value`` or ``values`` (and optionally ``constraints``, ``state``, ``user_attrs``, ``intermediate``, ``message``,
        ``start_time``, ``end_time``) or a finished :class:`FrozenTrial` of another study.  A bad
        record is a ConfigError naming it (``trials[3].params.lr: ...``) and nothing is stored;
        ``skip_invalid=True`` stores the others instead.  Returns the stored trials."""
        from tansaku.study._warm import add_trials

        added, _ = add_trials(self, trials, count=count, skip_invalid=skip_invalid)
        return added

    @property
    def uncounted_trials(self) -> int:
        """Finished trials that count toward no budget (imported without ``count=True``)."""
        from tansaku.study._warm import uncounted

        return uncounted(self.system_attrs)

    def _check_parent(self, number: Any) -> FrozenTrial:
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(
                f"must be a trial number, got {type(number).__name__}", field="from_trial"
            )
        try:
            parent = self.storage.get_trial_by_number(self.study_id, number)
        except TansakuError:
            raise ConfigError(
                f"study {self.name!r} has no trial {number}", field="from_trial"
            ) from None
        if parent.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            raise ConfigError(
                f"trial {number} is {parent.state.value}; a trial can start only from a complete "
                "or pruned one",
                field="from_trial",
            )
        return parent

    def ask(self, *, lease: float | None = None) -> Trial:
        """Start a trial for a loop you drive yourself; finish it with :meth:`tell`.

        The trial is held by a lease, like a worker's trials: this process sends its heartbeat
        (every :attr:`heartbeat_interval` seconds, from a thread) until it is told, so once the
        process dies or goes silent for a coordinator's ``stale_after`` the trial is re-queued
        (a trial lost twice fails) and an ``optimize`` waiting on it goes on.  ``lease``: also
        give it back (re-queue it) ``lease`` seconds after this call if it is not told by then.
        ``tell`` (here, or ``tell(number)`` from any process) and ``tansaku trial fail N``
        finish it meanwhile."""
        if lease is not None:
            lease = float(check_number(lease, "lease"))
        trial = self.next_trial(self._manual_worker, None)
        if trial is None or trial is EXHAUSTED:
            raise TansakuError(f"sampler {self.sampler.name!r} has nothing more to propose")
        assert isinstance(trial, FrozenTrial)
        self._asked_ids.add(trial.trial_id)
        self._lease_keeper().hold(self._manual_worker, trial.trial_id, lease=lease)
        return Trial(
            number=trial.number,
            trial_id=trial.trial_id,
            params=self.trial_inputs(trial),
            study_name=self.name,
            channel=_StorageChannel(self),
            known=self._known,
            learned=self.learned_names(trial),
            draw_seed=self.draw_seed(trial.number),
        )

    def _lease_keeper(self) -> Heartbeat:
        if self._asked is None:
            st = self.storage
            self._asked = Heartbeat(
                lambda w, ids: st.heartbeat(ids, worker=w),
                self.heartbeat_interval,
                expire=lambda w, tid: st.release_trial(tid, worker=w, count_attempt=True),
                name=f"tansaku-ask-heartbeat-{self.name}",
            )
        self._asked.interval = float(self.heartbeat_interval)
        return self._asked

    def tell(
        self,
        trial: Trial | FrozenTrial | int,
        value: float | Sequence[float] | None = None,
        *,
        state: TrialState | str | None = None,
        message: str | None = None,
        constraints: Mapping[str, float] | None = None,
    ) -> FrozenTrial:
        """Finish a trial: ``tell(trial, 0.42)``; ``tell(trial, [0.1, 35.0])`` for several
        objectives; ``tell(trial, state="failed", message=...)``; ``tell(trial, state="pruned")``.
        A nan/inf value records a FAILED trial.  ``constraints`` (and any the trial object set
        with ``set_constraint``) are stored with it; the wrong number of values is a
        ConfigError."""
        if isinstance(trial, int) and not isinstance(trial, bool):
            record = self.storage.get_trial_by_number(self.study_id, trial)
            trial_id, number = record.trial_id, record.number
        elif isinstance(trial, (Trial, FrozenTrial)):
            trial_id, number = trial.trial_id, trial.number
            try:
                owner = self.storage.get_trial_by_number(self.study_id, number).trial_id
            except TansakuError:
                owner = None
            if owner != trial_id:  # a trial of another study (or another storage)
                raise ConfigError(
                    f"trial {number} does not belong to study {self.name!r}", field="trial"
                )
        else:
            raise ConfigError(
                f"expected a Trial or a trial number, got {type(trial).__name__}", field="trial"
            )
        try:
            st = (
                TrialState(state)
                if state is not None
                else (TrialState.COMPLETE if value is not None else TrialState.FAILED)
            )
        except ValueError:
            raise ConfigError(
                f"must be complete, pruned or failed, got {state!r:.40}", field="state"
            ) from None
        if st in (TrialState.WAITING, TrialState.RUNNING):
            raise ConfigError(
                f"state must be complete, pruned or failed, got {st.value}", field="state"
            )
        values: tuple[float, ...] | None = None
        if st is TrialState.COMPLETE:
            if value is None:
                raise ConfigError("a complete trial needs a value", field="value")
            number_value, values, reason = as_values(value, "value is")
            if number_value is None and reason is not None:
                if isinstance(value, float) or reason.endswith(("nan", "inf")):
                    st, message, value = TrialState.FAILED, message or reason, None
                else:  # not a number at all (or an int too large for a float): a misuse
                    raise ConfigError(reason, field="value")
            else:
                value = number_value
                given = 1 if values is None else len(values)
                if given != self.n_objectives:
                    raise ConfigError(
                        f"study {self.name!r} has {self.n_objectives} objective"
                        f"{'s' if self.n_objectives > 1 else ''}, got {given} value"
                        f"{'s' if given > 1 else ''}",
                        field="value",
                    )
                if self.n_objectives == 1:
                    values = None
        if st is TrialState.PRUNED and value is None:
            full = self.storage.get_trial(trial_id, with_intermediate=True)
            if full.last_step is not None:
                value = full.intermediate.get(full.last_step)
        # finish_trial changes nothing unless the trial is still RUNNING, so no read is needed
        # first; the record is read only to explain a refusal.
        # a trial asked here is finished only while it is still ours: once its lease ran out it
        # may be running again under another worker, whose result that is
        mine = trial_id in self._asked_ids
        used = trial.used() if isinstance(trial, Trial) else None
        if used is not None:  # define-by-run: store what the trial suggested
            problem = self.record_used(trial_id, *used)
            if problem is not None:
                st, value, message = TrialState.FAILED, None, problem
        cons = dict(trial.constraints) if isinstance(trial, Trial) else {}
        cons.update(_check_constraints(constraints))
        done = self.storage.finish_trial(
            trial_id, worker=self._manual_worker if mine else None, state=st, value=value,
            message=message, values=values, constraints=cons or None,
        )
        if self._asked is not None:
            self._asked.release(self._manual_worker, trial_id)
        if done is None:
            current = self.storage.get_trial(trial_id)
            self._asked_ids.discard(trial_id)
            if mine and current.worker != self._manual_worker:
                raise TansakuError(
                    f"trial {number} of study {self.name!r} was re-queued (its lease ran out, "
                    f"or its heartbeat stopped) and is {current.state.value} now; this result "
                    "was not stored"
                )
            if current.state is not TrialState.RUNNING:
                raise TansakuError(
                    f"trial {number} of study {self.name!r} is {current.state.value}, "
                    "not running; it cannot be told again"
                )
            raise TansakuError(f"trial {number} was finished by someone else meanwhile")
        self._asked_ids.discard(trial_id)
        return done

    def stop(self) -> None:
        """Ask the running :meth:`optimize` call to start no new trials (running ones finish).

        It ends that call only: the next ``optimize`` starts afresh (a ``stop()`` while no call
        runs is forgotten when the next one starts)."""
        self._stop = True

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called during the running :meth:`optimize` call."""
        return self._stop

    # ---------------------------------------------------------------- optimize
    def optimize(
        self,
        objective: Callable[[Trial], Any] | Any,
        n_trials: int | None = DEFAULTS.n_trials,
        timeout: float | None = DEFAULTS.timeout,
        n_workers: int | None = DEFAULTS.n_workers,
        callbacks: Sequence[Callable[[Study, FrozenTrial], Any] | str | Mapping[str, Any]]
        | None = DEFAULTS.callbacks,
        *,
        executor: str | Mapping[str, Any] | Executor | None = DEFAULTS.executor,
        total_trials: int | None = DEFAULTS.total_trials,
        trial_timeout: float | None = DEFAULTS.trial_timeout,
        workdir: str | Path | None = DEFAULTS.workdir,
        max_failures: int | None = DEFAULTS.max_failures,
        show_progress: bool = DEFAULTS.show_progress,
        heartbeat_interval: float = DEFAULTS.heartbeat_interval,
        stale_after: float | None = DEFAULTS.stale_after,
        repeats: int = DEFAULTS.repeats,
        setup: Any = DEFAULTS.setup,
        max_trial_hours: float | None = DEFAULTS.max_trial_hours,
        patience: int | None = DEFAULTS.patience,
        lost_trials: str = DEFAULTS.lost_trials,
        gpus: Sequence[int | str] | str | None = DEFAULTS.gpus,
        gpus_per_trial: int | None = DEFAULTS.gpus_per_trial,
    ) -> None:
        """Run trials until a stop condition holds.

        * ``n_trials``: finished trials (COMPLETE or PRUNED) to add in this call; failed trials do
          not count (a trial that crashes is not an evaluation), but ``max_failures`` failures in a
          row stop the run; before any trial of the call succeeded, so does a command that cannot
          start or the first 3 trials failing with one message (``Coordinator.stop_if_cannot_start``).
        * ``total_trials``: stop when the *study* has that many COMPLETE+PRUNED trials, counting
          every worker's (this is how ``tansaku run`` resumes to exactly ``n_trials``).
        * ``timeout``: seconds of wall time for starting new trials; ``trial_timeout``: per trial.
        * ``n_workers`` trials run at once on ``executor`` (default: inline for one worker, else
          local processes; default 1, or with ``gpus`` one per GPU slot).  Callbacks get ``(study, finished_trial)`` and may call ``study.stop()``;
          a name or ``{"name": ..., **options}`` builds a named one (``"mlflow"``:
          :class:`tansaku.integration.mlflow.MLflowCallback`, see ``integration/_callbacks.py``).
        * ``max_trial_hours``: stop starting trials once the study's trials (finished plus running)
          have used this many hours in total; ``patience``: stop after that many finished trials in
          a row did not improve the best value.  Both count the whole study.
        * ``repeats``: evaluate each point that many times with different seeds (``trial.seed``,
          ``{seed}``); the trial's value is the mean, each evaluation is kept in
          ``system_attrs["evaluations"]`` (see ``tansaku.study._repeats``).
        * ``setup``: a :class:`~tansaku.Command`, a function of a directory, or a
          ``tansaku.study.Setup``: run once per study before any trial, its directory passed to
          every trial (``trial.setup_dir``, ``{setup_dir}``); recorded, so resuming reuses it.
        * Lost trials: every ``heartbeat_interval`` seconds this call records that its running
          trials are alive; a RUNNING trial of another worker that is dead (a gone pid on this
          host) or silent for ``stale_after`` seconds (None: never) is re-queued
          (``lost_trials="requeue"``, the default; a trial lost twice fails) or failed
          (``lost_trials="fail"``).
        * ``gpus``: device ids (``[0, 1, 2, 3]``) or ``"auto"``, with ``gpus_per_trial`` each (default
          1): every running trial gets its own set in ``CUDA_VISIBLE_DEVICES``/``TANSAKU_GPU_IDS``
          and ``trial.gpu_ids``, never another running trial's (``executors/_gpus.py``).
        """
        from tansaku.study._optimize import Coordinator

        self._stop = False  # a stop() ends the call it was made in, never a later one
        options = RunOptions(  # checks every option (one-line ConfigError naming it)
            n_trials=n_trials,
            timeout=timeout,
            n_workers=n_workers,
            executor=executor,
            total_trials=total_trials,
            trial_timeout=trial_timeout,
            workdir=workdir,
            max_failures=max_failures,
            show_progress=show_progress,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
            repeats=repeats,
            setup=setup,
            max_trial_hours=max_trial_hours,
            patience=patience,
            lost_trials=lost_trials,
            gpus=gpus,
            gpus_per_trial=gpus_per_trial,
            callbacks=callbacks,
        )
        run = Coordinator(self, objective, options, callbacks=list(options.callbacks or ()))
        self.record_pruner()
        target = run.total_trials
        if target is None and run.n_trials is not None:
            target = self.counts().done + run.n_trials
        self._plan = (target, run.n_workers)
        self.sampler.plan(n_trials=target, n_workers=run.n_workers)
        try:
            run.run()
        finally:
            self.stop_reason, self.run_error = run.stop_reason, run.error


def _check_direction(direction: str) -> str:
    if not isinstance(direction, str) or direction not in _DIRECTIONS:
        got = repr(direction) if isinstance(direction, str) else type(direction).__name__
        raise ConfigError(f"must be minimize or maximize, got {got}", field="direction")
    return direction


def _check_constraints(constraints: Any) -> dict[str, float]:
    """``tell(..., constraints=...)``: a mapping of names to numbers (ConfigError otherwise)."""
    if constraints is None:
        return {}
    if not isinstance(constraints, Mapping):
        raise ConfigError(
            f"expected a mapping of names to numbers, got {type(constraints).__name__}",
            field="constraints",
        )
    holder = Trial(number=-1, params={})
    for name, v in constraints.items():
        holder.set_constraint(name, v)
    return dict(holder.constraints)


def check_directions(
    direction: str, directions: Any, objective_names: Any
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The study's directions and objective names from ``create_study``'s arguments."""
    if directions is None:
        dirs: tuple[str, ...] = (_check_direction(direction),)
    else:
        if isinstance(directions, str) or not isinstance(directions, Sequence) or not directions:
            raise ConfigError(
                "expected a non-empty list of minimize/maximize, one per objective",
                field="directions",
            )
        for i, d in enumerate(directions):
            if not isinstance(d, str) or d not in _DIRECTIONS:
                got = repr(d) if isinstance(d, str) else type(d).__name__
                raise ConfigError(f"must be minimize or maximize, got {got}", field=f"directions[{i}]")
        dirs = tuple(directions)
        if direction != "minimize" and direction != dirs[0]:
            raise ConfigError(
                f"give directions or direction, not both ({direction} vs {dirs[0]})",
                field="direction",
            )
    if objective_names is None:
        return dirs, ()
    if isinstance(objective_names, str) or not isinstance(objective_names, Sequence):
        raise ConfigError("expected a list of names, one per objective", field="objective_names")
    names = tuple(objective_names)
    if len(names) != len(dirs):
        raise ConfigError(
            f"{len(names)} names for {len(dirs)} objective{'s' if len(dirs) > 1 else ''}",
            field="objective_names",
        )
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise ConfigError(f"names must be non-empty strings, got {n!r:.40}", field="objective_names")
    if len(set(names)) != len(names):
        raise ConfigError("names must differ from each other", field="objective_names")
    return dirs, names


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) < 2**63
    ):
        got = repr(seed)[:40] if isinstance(seed, (int, float)) else type(seed).__name__
        raise ConfigError(f"must be an integer in [0, 2**63), got {got}", field="seed")
    return int(seed)


def create_study(
    space: Space | Mapping[str, Any] | None = None,
    *,
    sampler: str | Mapping[str, Any] | Sampler | None = None,
    storage: str | BaseStorage | None = None,
    name: str | None = None,
    direction: str = "minimize",
    seed: int | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
    load_if_exists: bool = False,
    n_workers: int = 1,
    directions: Sequence[str] | None = None,
    objective_names: Sequence[str] | None = None,
) -> Study:
    """Create a study (or, with ``load_if_exists=True``, resume the stored one of that name).

    ``storage``: None for in-memory, ``"sqlite:///file.db"`` or ``"postgresql://..."``.
    ``sampler``: a registry name (``"tpe"``), ``{"name": "nelder-mead", **options}`` or an instance.
    Resuming checks that the stored space and direction are the ones given, so a changed config
    cannot silently mix incompatible trials (the error names each difference).  A resume with
    another sampler is allowed: the change is recorded in the study (``info.sampler_changes``),
    every proposed trial names its sampler (``system_attrs["sampler_name"]``) and
    ``study.resume_notice`` holds a one-line notice.

    Several objectives: ``directions=["minimize", "maximize"]`` (and optionally
    ``objective_names=["error", "throughput"]``); the objective then returns one value per
    objective, ``study.best_trials`` is the Pareto front, and the sampler must be one that
    handles several objectives (without one named, ``mo-tpe``).
    """
    dirs, names = check_directions(direction, directions, objective_names)
    direction = dirs[0]
    if sampler is None and len(dirs) > 1:
        sampler = MULTI_OBJECTIVE_DEFAULT
    seed = _check_seed(seed)
    if name is None:
        name = f"study-{uuid.uuid4().hex[:8]}"
    check_name(name)
    st = get_storage(storage)
    smp = make_sampler(sampler)
    check_objectives(smp, len(dirs))  # before anything is stored
    prn = make_pruner(pruner)
    try:
        existing = st.get_study(name)
    except StudyNotFoundError:
        existing = None
    if existing is not None:
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"study {name!r} already exists in {st.url}; pass load_if_exists=True to resume it"
            )
        widened: list[str] = []
        if space is not None and as_space(space) != existing.space:
            refused, widened = space_widening(existing.space, as_space(space))
            if refused:
                raise ConfigError(
                    f"study {name!r} in {st.url} was created with a different search space, "
                    f"which this one does not contain ({'; '.join(refused)}); restore the "
                    "stored space, or use a "
                    f"new name (`tansaku run --seed-from {name}` starts it from the trials "
                    "that fit)",
                    field="space",
                )
        if existing.directions != dirs:
            was, now = ", ".join(existing.directions), ", ".join(dirs)
            raise ConfigError(
                f"study {name!r} was created to {was}, not {now}",
                field="direction" if len(dirs) == len(existing.directions) == 1 else "directions",
            )
        notices = []
        if space is not None and as_space(space) != existing.space:
            notices.append(_record_space_change(st, existing, as_space(space), widened))
        sampler_notice = _record_sampler_change(st, existing, _describe(smp))
        if sampler_notice:
            notices.append(sampler_notice)
        if notices:
            existing = st.get_study(name)
        study = Study(storage=st, info=existing, sampler=smp, pruner=prn, n_workers=n_workers)
        study.resume_notice = "\n".join(notices) or None
        return study
    # no space: define-by-run only (the objective's trial.suggest_* calls make the space)
    sp = Space.empty() if space is None else as_space(space)
    try:
        info = st.create_study(
            name,
            space=sp,
            direction=direction,
            sampler=_describe(smp),
            directions=dirs,
            objective_names=names,
        )
    except DuplicatedStudyError:
        if not load_if_exists:  # created by another process a moment ago
            raise
        info = st.get_study(name)
    if seed is not None:
        st.set_study_system_attrs(info.study_id, {"seed": int(seed)})
        info = st.get_study(name)
    return Study(storage=st, info=info, sampler=smp, pruner=prn, n_workers=n_workers)


def _record_space_change(
    storage: BaseStorage, info: StudyInfo, space: Space, changes: list[str]
) -> str:
    """On resume with a space that only widens the stored one (``space_widening``): store it,
    append ``{"at_trial": N, "changes": [...]}`` to the study's ``space_changes`` and return a
    one-line notice."""
    at = storage.counts(info.study_id).total
    raw = info.system_attrs.get(SPACE_CHANGES_ATTR)
    before = [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []
    record = {"at_trial": at, "changes": list(changes)}
    storage.set_study_space(
        info.study_id, space, system_attrs={SPACE_CHANGES_ATTR: [*map(dict, before), record]}
    )
    return (
        f"note: study {info.name!r}: search space widened at trial {at}: "
        f"{'; '.join(changes) or 'no change to the stored trials'}; the stored trials are kept"
    )


def _record_sampler_change(
    storage: BaseStorage, info: StudyInfo, now: Mapping[str, Any]
) -> str | None:
    """On resume: when ``now`` (the sampler's description) differs from the study's current
    sampler, append the change to the study's ``sampler_changes`` and return a one-line notice."""
    now = json.loads(json.dumps(dict(now)))  # as stored: tuples are lists
    before = info.current_sampler
    if not before or dict(before) == now:
        return None
    at = storage.counts(info.study_id).total  # the number the next new trial gets
    change = {"at_trial": at, "from": dict(before), "to": dict(now)}
    storage.set_study_system_attrs(
        info.study_id, {SAMPLER_CHANGES_ATTR: [*map(dict, info.sampler_changes), change]}
    )
    old, new = before.get("name", "?"), now.get("name", "?")
    what = f"{old} -> {new}" if old != new else f"{new} (options changed)"
    return (
        f"note: study {info.name!r}: sampler changed at trial {at}: {what}; "
        "trials from here on are proposed by the new one"
    )


def _describe(sampler: Sampler) -> dict[str, Any]:
    try:
        return dict(sampler.describe())
    except Exception:
        return {"name": sampler.name}


def load_study(
    name: str,
    *,
    storage: str | BaseStorage,
    sampler: str | Mapping[str, Any] | Sampler | None = None,
    pruner: str | Mapping[str, Any] | Pruner | None = None,
    n_workers: int = 1,
) -> Study:
    """Open a stored study.  Without ``sampler``, the one its newest trials came from (the one
    it was created with unless a resume changed it; by name and options)."""
    st = get_storage(storage)
    info = st.get_study(name)
    smp = make_sampler(sampler if sampler is not None else (dict(info.current_sampler) or None))
    return Study(
        storage=st, info=info, sampler=smp, pruner=make_pruner(pruner), n_workers=n_workers
    )
