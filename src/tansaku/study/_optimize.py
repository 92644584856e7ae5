"""The optimisation loop: ask the sampler, submit to the executor, store what comes back.

Order of every step is chosen so that a kill at any instant loses nothing: a trial is created
RUNNING in storage before it is submitted; its result is stored before the next trial is asked for;
on Ctrl-C (or any error) running trials are stopped and put back to WAITING, so a resumed run
evaluates exactly those params again and the trial count stays exact.  A result the storage cannot
take (still failing after its retries) goes to the results journal (``study/_journal.py``) and the
run stops with the error; the next run stores it before anything else.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tansaku import _layout
from tansaku._errors import ConfigError, DiskFullError, StorageError
from tansaku._options import RunOptions
from tansaku._progress import Progress
from tansaku._reaper import kill_leftovers
from tansaku._records import FrozenTrial, TrialState
from tansaku.executors._base import Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._gpus import GpuSlots, plan_gpus
from tansaku.executors._registry import make_executor
from tansaku.objectives._output import RESULT_LINE_ATTR
from tansaku.objectives._runner import Runner
from tansaku.storage._memory import InMemoryStorage
from tansaku.study._budget import Budget
from tansaku.study._journal import ResultJournal
from tansaku.study._liveness import Heartbeat, is_manual, known_dead, pid_alive
from tansaku.study._proposals import ProposalBuffer
from tansaku.study._repeats import trial_seed
from tansaku.study._setup import ensure_setup, recorded_setup_dir
from tansaku.study._study import EXHAUSTED, Study, new_worker_id

__all__ = ["Coordinator", "pid_alive"]


class ConstantResultWatch:
    """Warns once when the first ``first`` complete trials of a command all gave the same value
    read by the default last-number rule from a line holding several numbers (the trial's
    ``result_line``): ``val_loss=0.13 (3-fold CV, 100 trees)`` gives 100 every time."""

    def __init__(self, warn: Callable[[str], None], *, first: int = 3) -> None:
        self.warn = warn
        self.first = first
        self.seen: list[FrozenTrial] = []
        self.done = False

    def see(self, trial: FrozenTrial) -> None:
        if self.done or trial.state is not TrialState.COMPLETE:
            return
        self.seen.append(trial)
        if len(self.seen) < self.first:
            return
        self.done = True
        lines = [t.system_attrs.get(RESULT_LINE_ATTR) for t in self.seen]
        values = {t.value for t in self.seen}
        params = {repr(sorted(t.params.items())) for t in self.seen}
        if len(values) != 1 or len(params) == 1 or not all(isinstance(x, str) for x in lines):
            return
        numbers = ", ".join(str(t.number) for t in self.seen)
        self.warn(
            f"warning: trials {numbers} all gave {self.seen[0].value:g}, the last number of the "
            f"line {lines[-1]!r}; if the objective is another number there, set result: "
            '{regex: "name=([0-9.eE+-]+)"} in the config'
        )


def executor_spec(
    spec: str | Mapping[str, Any] | Executor | None,
    n_workers: int,
    *,
    runner: Runner,
    trial_timeout: float | None,
    gpus: Any = None,
) -> str | Mapping[str, Any] | Executor | None:
    """The executor a run asks ``make_executor`` for: ``spec`` as given (None: inline for one
    worker, local processes for more) -- but local, even for one worker, when a Python objective
    has a ``trial_timeout`` (the only way to stop one that overruns) or GPUs are handed out (each
    trial a process of its own, with its own devices)."""
    if spec is None and (
        (n_workers == 1 and trial_timeout is not None and not runner.external) or gpus is not None
    ):
        return "local"
    return spec


def workdir_root(
    study: Study, workdir: str | Path | None, *, runner: Runner, executor: Executor
) -> Path | None:
    """The root of a run's trial directories: ``workdir`` if given, else the study's default
    directory (``_layout.default_study_dir``) for a command or an executor that needs one; a
    Python objective run here gets none unless asked."""
    if workdir is not None:
        return Path(workdir).resolve()
    if runner.external or executor.needs_workdir:
        return _layout.default_study_dir(study)
    return None


class Dispatch:
    """The one loop that keeps an executor busy, for ``Study.optimize`` (:class:`Coordinator`)
    and for re-evaluation (``study/_reevaluate.py``): it starts work while there is room
    (:meth:`fill`), hands every ending to :meth:`finish`, does the periodic work of a heartbeat
    interval (:meth:`on_beat`), and on Ctrl-C or an error stops what runs and puts back what did
    not end (:meth:`interrupt`, :meth:`release`) before the error goes on.

    A subclass sets ``executor``, ``objective``, ``progress`` and ``heartbeat_interval`` (and
    ``timeout``: seconds after which no new work starts) and implements :meth:`check_stop`,
    :meth:`fill` and :meth:`finish`; ``running`` maps the id of each job submitted to what the
    subclass keeps of it, and :meth:`finish` must remove it."""

    executor: Executor
    objective: Any
    progress: Progress
    heartbeat_interval: float
    timeout: float | None = None

    def __init__(self) -> None:
        self.running: dict[int, Any] = {}
        self.stop_reason: str | None = None
        self.interrupting = False
        self.started = self.last_beat = time.monotonic()

    # ---------------------------------------------------------------- what a subclass says
    def check_stop(self) -> None:
        """Set ``stop_reason`` once no more work should start."""
        raise NotImplementedError

    def fill(self) -> bool:
        """Submit work while there is room; False when the run must wait on others' work
        (then :meth:`on_beat` is called with ``idle=True`` every heartbeat interval)."""
        raise NotImplementedError

    def finish(self, o: Outcome) -> None:
        """Take one ending (remove its id from ``running``)."""
        raise NotImplementedError

    def on_beat(self, *, idle: bool) -> None:
        """Every heartbeat interval: ``idle`` when nothing of ours runs and :meth:`fill` waits."""

    def release(self, trial_id: int) -> None:
        """A job still running after an interrupt's grace: put it back (nothing by default)."""

    def hooks(self) -> ExecutorHooks:
        """What the executor calls back with while a job runs (nothing stored by default)."""
        return ExecutorHooks()

    def on_error(self, e: BaseException) -> BaseException | None:
        """Before :meth:`interrupt` on an error: the exception to raise instead (or None)."""
        return None

    def begin(self) -> None:
        """Just before the loop starts (after the executor)."""
        self.progress.start()

    def close(self) -> None:
        """After the loop, however it ended: the executor is shut down (its jobs cancelled)."""
        self.executor.shutdown(cancel=True)
        self.progress.close(self.stop_reason)

    # ---------------------------------------------------------------- the loop
    def drive(self) -> None:
        """Start the executor and run :meth:`loop` to its end; on any error (Ctrl-C included)
        :meth:`interrupt` first, then the error goes on."""
        self.executor.start(self.objective, self.hooks())
        self.started = time.monotonic()
        self.last_beat = self.started
        self.begin()
        try:
            self.loop()
        except BaseException as e:
            instead = self.on_error(e)
            self.interrupt(instead or e)
            if instead is not None:
                raise instead from None
            raise
        finally:
            self.close()

    def loop(self) -> None:
        while True:
            self.check_stop()
            budget_free = self.fill()
            if not self.running:
                if self.stop_reason is not None:
                    return
                if not budget_free:  # wait for other workers; reclaim theirs if they died
                    time.sleep(0.5)
                    if time.monotonic() - self.last_beat > self.heartbeat_interval:
                        self.last_beat = time.monotonic()
                        self.on_beat(idle=True)
                    continue
            wait = self.heartbeat_interval
            if self.timeout is not None and self.stop_reason is None:
                wait = min(wait, max(0.0, self.started + self.timeout - time.monotonic()))
            for outcome in self.executor.wait(timeout=min(wait, self.progress.tick)):
                self.finish(outcome)
            now = time.monotonic()
            if now - self.last_beat > self.heartbeat_interval:
                self.last_beat = now
                self.on_beat(idle=False)
            self.progress.refresh(len(self.running))

    def interrupt(self, exc: BaseException) -> None:
        """Stop running jobs; take the endings that come within 10 s (:meth:`finish`), put the
        rest back (:meth:`release`)."""
        if not self.running:
            return
        self.interrupting = True
        in_main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            for tid in list(self.running):
                self.executor.cancel(tid, "interrupted")
            deadline = time.monotonic() + 10.0
            while self.running and time.monotonic() < deadline:
                try:
                    outcomes = self.executor.wait(timeout=0.2)
                except Exception:  # e.g. another trial's log hit the same full disk: go on
                    time.sleep(0.05)  # releasing the rest (a raise here left them RUNNING)
                    continue
                for o in outcomes:
                    with contextlib.suppress(Exception):
                        self.finish(o)
            for tid in list(self.running):
                self.release(tid)
                self.running.pop(tid, None)
            self.stop_reason = (
                "interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {exc}"
            )
        finally:
            if in_main and old is not None:
                signal.signal(signal.SIGINT, old)


class Coordinator(Dispatch):
    """Runs one ``Study.optimize`` call (see its docstring for the options)."""

    def __init__(
        self,
        study: Study,
        objective: Any,
        options: RunOptions,
        *,
        callbacks: Sequence[Callable[[Study, FrozenTrial], Any]],
    ) -> None:
        if not callable(objective):
            raise ConfigError(
                f"the objective must be callable or a tk.Command, got {type(objective).__name__}",
                field="objective",
            )
        super().__init__()
        self.study = study
        self.objective = objective
        #: the checked run options (``tansaku._options``); read, never changed
        self.options = options
        self.n_trials = options.n_trials
        self.total_trials = options.total_trials
        if self.total_trials is not None:  # imported trials count toward nothing (study/_warm.py)
            self.total_trials += study.uncounted_trials
        self.timeout = options.timeout
        workers_given = options.n_workers  # None: 1, or one per GPU slot with gpus
        self.n_workers = workers_given or 1
        self.trial_timeout = options.trial_timeout
        self.max_failures = options.max_failures
        self.repeats = options.repeats
        self.budget = Budget(
            study.storage,
            study.study_id,
            study.direction,
            max_trial_hours=options.max_trial_hours,
            patience=options.patience,
        )
        self.setup = options.setup
        self.setup_dir: Path | None = None
        self.base_seed = study.system_attrs.get("seed")
        self.evals: dict[int, list[dict[str, Any]]] = {}  # repeats > 1: evaluations so far
        self.eval_started: dict[int, float] = {}
        if not isinstance(callbacks, (list, tuple)) or not all(callable(c) for c in callbacks):
            raise ConfigError("must be a list of functions (study, trial)", field="callbacks")
        self.callbacks = list(callbacks)
        self.heartbeat_interval = float(options.heartbeat_interval)
        self.stale_after = options.stale_after
        self.requeue_lost = options.lost_trials == "requeue"
        executor = options.executor
        workdir = options.workdir
        show_progress = options.show_progress
        gpus, gpus_per_trial = options.gpus, options.gpus_per_trial
        runner = Runner(objective)
        self.runner = runner  # what runs: the Coordinator asks it, never the objective's type
        runner.check_space(
            list(study.space.names), conditional=[n for n, d in study.space.items() if d.when]
        )
        executor = executor_spec(
            executor, self.n_workers, runner=runner, trial_timeout=self.trial_timeout, gpus=gpus
        )
        self.executor = make_executor(executor, n_workers=self.n_workers)
        #: the coordinator's GPU slots (None: no GPUs, or a batch job script hands them out)
        self.gpu_slots: GpuSlots | None = None
        self.gpu_note: str | None = None
        if gpus is not None or gpus_per_trial is not None:
            self.setup_gpus(executor, gpus, gpus_per_trial, workers_given)
        self.workdir_root = workdir_root(study, workdir, runner=runner, executor=self.executor)
        self.worker = new_worker_id()
        #: beats for the running trials from a thread of its own, so an inline trial (the whole
        #: trial inside ``executor.wait``) or a slow sampler never looks lost
        self.beater = Heartbeat(
            lambda w, ids: study.storage.heartbeat(ids, worker=w),
            self.heartbeat_interval,
            source=lambda: {self.worker: list(self.running)},
            name=f"tansaku-heartbeat-{self.worker}",
        )
        self.waiting_note: frozenset[int] = frozenset()  # others' running trials last named
        self.journal = (
            None
            if isinstance(study.storage, InMemoryStorage)
            else ResultJournal.for_study(study.storage, study.name, self.workdir_root)
        )
        self.storage_down = False  # a write failed for good: results go to the journal only
        self.running: dict[int, FrozenTrial] = {}  # the trials submitted, by trial id
        #: proposals made while trials run (``study/_proposals.py``), once ``maybe_buffer`` says so
        self.proposals: ProposalBuffer | None = None
        self.n_done = 0  # COMPLETE + PRUNED in this call
        self.fail_streak = 0
        self.error: str | None = None
        self.last_failure = ""
        self.constant_result = ConstantResultWatch(self.warn)
        self.early_failures: list[str] = []  # messages of the failures before any success
        self.progress = Progress(
            enabled=show_progress,
            study=study,
            total=self.total_trials or self.n_trials,
            count_study=self.total_trials is not None,
            n_workers=self.n_workers,
        )

    # ---------------------------------------------------------------- setup
    def setup_gpus(
        self, spec: Any, gpus: Any, gpus_per_trial: Any, workers_given: int | None
    ) -> None:
        """GPU slots (``executors/_gpus.py``): a batch executor writes them into its job scripts;
        otherwise this coordinator hands them out, and ``n_workers`` not given becomes the
        number of slots (the executor is then made again for that many)."""
        ex = self.executor
        if ex.gpu_slots_in_job:
            ex.gpu_plan = plan_gpus(
                gpus, gpus_per_trial, workers_given, per_job=getattr(ex, "trials_per_job", 1)
            )
            return
        own = isinstance(spec, Executor)
        plan = plan_gpus(gpus, gpus_per_trial, ex.n_workers if own else workers_given)
        self.gpu_note = plan.note  # shown when the run starts
        if not plan.slots:
            return
        if plan.n_workers != ex.n_workers:
            ex.shutdown(cancel=True)
            self.executor = make_executor(spec, n_workers=plan.n_workers)
        self.n_workers = plan.n_workers
        self.gpu_slots = GpuSlots(plan.gpus, plan.per_trial)

    def recover(self) -> list[FrozenTrial]:
        """Re-queue (or, with ``lost_trials="fail"``, fail) RUNNING trials whose coordinator is
        gone (``study/_liveness.py``): a dead pid in this host's PID namespace, or no heartbeat
        for ``stale_after`` seconds.  ask() trials count like any (their process beats for them)."""
        st, sid = self.study.storage, self.study.study_id
        dead = {
            t.worker
            for t in st.pending_trials(sid)
            if t.state is TrialState.RUNNING and t.worker and known_dead(t.worker)
        }
        if dead:  # their trials' processes, if the reaper could not stop them (see _reaper.py)
            kill_leftovers(self.study.name, dead)
        requeue = self.requeue_lost
        out = st.reclaim_worker_trials(sid, sorted(dead), requeue=requeue) if dead else []
        if self.stale_after is not None:
            out += st.reclaim_stale(sid, grace=float(self.stale_after), requeue=requeue)
        return out

    def hooks(self) -> ExecutorHooks:
        st = self.study.storage
        return ExecutorHooks(
            report=self.report,
            set_user_attr=lambda tid, key, value: st.set_trial_user_attrs(tid, {key: value}),
            set_system_attrs=lambda tid, attrs: st.set_trial_system_attrs(tid, attrs),
        )

    def report(self, trial_id: int, step: int, value: float) -> bool:
        """Store an intermediate value and ask the pruner; with repeats, only the first evaluation
        of a point reports (the others are confirmations, see ``study/_repeats.py``)."""
        if self.evals.get(trial_id):
            return False
        return self.study.report_step(trial_id, step, value)

    def job(self, t: FrozenTrial, k: int = 0) -> Job:
        wd = None
        if self.workdir_root is not None:
            wd = (
                _layout.repeat_dir(self.workdir_root, t.number, k)
                if self.repeats > 1
                else _layout.trial_dir(self.workdir_root, t.number)
            )
            _layout.make_dir(wd, trial_id=t.trial_id)  # a full disk: stop here, not in the trial
        env = {"TANSAKU_WORKER": self.worker}  # lets a resumed run find leftovers
        if self.setup_dir is not None:
            env["TANSAKU_SETUP_DIR"] = str(self.setup_dir)
        parent = self.parent_dir(t)
        if parent is not None:
            env["TANSAKU_PARENT_DIR"] = parent
        if self.gpu_slots is not None:  # given back in finish(), however the trial ended
            env.update(self.gpu_slots.take(t.trial_id))
        self.eval_started[t.trial_id] = time.time()
        return Job(
            t.trial_id,
            t.number,
            self.study.trial_inputs(t),
            study_name=self.study.name,
            timeout=self.trial_timeout,
            workdir=wd,
            seed=trial_seed(self.base_seed, t.number, k),
            extra_env=env,
            known=self.study.known_distributions,
            learned=self.study.learned_names(t),
            draw_seed=self.study.draw_seed(t.number),
        )

    def parent_dir(self, t: FrozenTrial) -> str | None:
        """The directory of the trial ``t`` was enqueued to start from (``from_trial``)."""
        n = t.system_attrs.get("from_trial")
        if not isinstance(n, int):
            return None
        parent = self.study.storage.get_trial_by_number(self.study.study_id, n)
        wd = parent.system_attrs.get("workdir")
        if isinstance(wd, str):
            return wd
        if self.workdir_root is None:
            return None
        return str(_layout.trial_dir(self.workdir_root, n))

    def submit(self, t: FrozenTrial) -> None:
        """Start trial ``t`` (with repeats: at its first evaluation not yet stored)."""
        self.running[t.trial_id] = t
        if self.repeats > 1:
            done = t.system_attrs.get("evaluations")
            self.evals[t.trial_id] = [dict(e) for e in done] if isinstance(done, list) else []
        self.progress.started(t)
        if len(self.evals.get(t.trial_id, ())) >= self.repeats:  # killed just before storing it
            self.finish(Outcome(t.trial_id, TrialState.COMPLETE, value=math.nan))
            return
        self.executor.submit(self.job(t, len(self.evals.get(t.trial_id, ()))))

    def next_evaluation(self, o: Outcome) -> bool:
        """Repeats: record the evaluation that ended; True if the point needs another (submitted
        now).  On the last one ``o`` becomes the point's outcome (value = mean)."""
        t = self.running.get(o.trial_id)
        evals = self.evals.get(o.trial_id)
        if t is None or evals is None or o.interrupted:
            return False
        if o.state is TrialState.COMPLETE and not (o.value is not None and math.isnan(o.value)):
            k = len(evals)
            evals.append(
                {
                    "seed": trial_seed(self.base_seed, t.number, k),
                    "value": o.value,
                    **({"values": list(o.values)} if o.values is not None else {}),
                    "duration": time.time() - self.eval_started.get(o.trial_id, time.time()),
                    "kind": "repeat",
                    "workdir": o.system_attrs.get("workdir"),
                }
            )
            if len(evals) < self.repeats:
                st = self.study.storage
                st.set_trial_system_attrs(o.trial_id, {"evaluations": evals})
                if self.interrupting:  # stopping: re-queue, the next run goes on from here
                    st.release_trial(o.trial_id, worker=self.worker)
                    self.running.pop(o.trial_id, None)
                    self.evals.pop(o.trial_id, None)
                else:
                    self.executor.submit(self.job(t, len(evals)))
                return True
        elif o.state is TrialState.FAILED and evals:
            o.message = f"evaluation {len(evals) + 1} of {self.repeats}: {o.message}"
        if evals:
            o.system_attrs["evaluations"] = evals
        if o.state is TrialState.COMPLETE:
            o.value = sum(float(e["value"]) for e in evals) / len(evals)
            if all(e.get("values") for e in evals):  # several objectives: each one's mean
                cols = list(zip(*(e["values"] for e in evals)))
                o.values = tuple(sum(map(float, c)) / len(c) for c in cols)
        return False

    # ---------------------------------------------------------------- the loop
    def run(self) -> None:
        if self.journal is not None:  # before recover(): it would re-queue those trials
            self.journal.replay(self.study.storage, self.study.study_id, self.progress.note)
        for t in self.recover():
            self.progress.note(
                f"trial {t.number} was left running by a stopped worker: "
                f"{'re-queued' if t.state is TrialState.WAITING else 'failed'}"
            )
        if self.setup is not None:
            root = self.workdir_root or _layout.default_study_dir(self.study)
            self.setup_dir = ensure_setup(
                self.study,
                self.setup.run,
                self.setup.dir if self.setup.dir is not None else _layout.setup_dir(root),
                timeout=self.setup.timeout,
                note=self.progress.note,
                worker=self.worker,
            )
        else:
            self.setup_dir = recorded_setup_dir(self.study.system_attrs)
        if self.gpu_note:
            self.warn(self.gpu_note)
        self.drive()

    def begin(self) -> None:
        self.progress.start()
        self.beater.start()

    def on_error(self, e: BaseException) -> BaseException | None:
        """A storage that failed for good: results go to the journal from now on; a full disk
        becomes a ``DiskFullError`` (its trial, if it names one, is put back at once)."""
        if isinstance(e, StorageError):  # no more waiting on it: results go to the journal
            self.storage_down = True
        if isinstance(e, OSError) and _layout.is_disk_full(e):  # one not met by a writing()
            e = _layout.disk_full_error(e, None if e.filename else self.workdir_root)
        if isinstance(e, DiskFullError):
            if e.trial_id is not None:
                self.requeue_now(e.trial_id)  # its run is gone with the error
            return e
        return None

    def close(self) -> None:
        try:
            self.end_buffer()
        finally:
            self.executor.shutdown(cancel=True)
            self.beater.stop()
            self.progress.close(self.stop_reason)

    def own_budget(self) -> float:
        return (
            math.inf if self.n_trials is None else self.n_trials - self.n_done - len(self.running)
        )

    def check_stop(self) -> None:
        if self.stop_reason is not None:
            return
        if self.study.stop_requested:
            self.stop_reason = "stopped by a callback"
        elif self.timeout is not None and time.monotonic() - self.started >= self.timeout:
            self.stop_reason = f"timeout of {self.timeout:g} s reached"
        elif self.n_trials is not None and self.n_done >= self.n_trials:
            self.stop_reason = f"{self.n_trials} trials done"
        elif self.max_failures is not None and self.fail_streak >= self.max_failures:
            self.stop_reason = self.error = (
                f"{self.fail_streak} trials in a row failed; the last: {self.last_failure}"
            )
        else:
            self.stop_reason = self.budget.exhausted(self.running.values())

    def fill(self) -> bool:
        """Start trials while there is room; False when others' running trials hold the budget."""
        st, sid = self.study.storage, self.study.study_id
        while self.stop_reason is None and self.executor.free_slots() > 0 and self.own_budget() > 0:
            t = self.study.next_trial(self.worker, self.total_trials)
            if t is EXHAUSTED:
                self.stop_reason = "the sampler has nothing more to propose"
                return True
            if t is None:
                assert self.total_trials is not None
                if st.counts(sid).done >= self.total_trials:
                    self.stop_reason = f"the study has {self.total_trials} trials"
                    return True
                return False  # other workers' running trials may still fail and free the budget
            assert isinstance(t, FrozenTrial)
            self.submit(t)
            self.maybe_buffer()
        return True

    #: seconds in the sampler for one proposal from which, with several workers, the next
    #: proposals are made while trials run (``study/_proposals.py``); faster samplers keep the
    #: synchronous path, and one worker always does (a seeded run stays reproducible)
    BUFFER_AFTER = 0.02

    def maybe_buffer(self) -> None:
        """Switch the proposal buffer on once a proposal kept a worker waiting long enough."""
        if (
            self.proposals is not None
            or self.n_workers < 2
            or self.study.proposal_buffer is not None  # a nested optimize call's: leave it
            or self.study.ask_seconds < self.BUFFER_AFTER
        ):
            return
        buffer = ProposalBuffer(self.study, capacity=self.buffer_room)
        if self.study.attach_proposals(buffer):
            self.proposals = buffer
            buffer.begin()

    def buffer_room(self) -> int:
        """Proposals worth holding: one per worker, never more than this call may still start
        (called from the buffer's thread: reads a few attributes only); none once the run
        stops starting trials, so no sampler time is spent on proposals that would be dropped."""
        if self.stop_reason is not None or self.interrupting:
            return 0
        return int(max(0, min(self.n_workers, self.own_budget())))

    def end_buffer(self) -> None:
        """Stop the buffer's thread (after the ask it may be in: then the sampler is free again)
        and drop the proposals not started: they never were trials."""
        if self.proposals is None:
            return
        try:
            self.proposals.stop()
        finally:
            self.study.detach_proposals(self.proposals)

    def on_beat(self, *, idle: bool) -> None:
        """Reclaim trials of workers that are gone (``recover``): while waiting on others' trials
        always (and say which), while ours run only with ``stale_after`` (the beats themselves
        are ``self.beater``'s)."""
        if idle:
            self.recover()
            self.note_waiting()
        elif self.stale_after is not None:
            self.recover()

    def note_waiting(self) -> None:
        """One line when this run waits on running trials it cannot see progress of (another
        worker's, or ask() trials never told), naming them -- again only when the set changes."""
        mine = set(self.running)
        others = [
            t
            for t in self.study.storage.pending_trials(self.study.study_id)
            if t.state is TrialState.RUNNING and t.trial_id not in mine
        ]
        ids = frozenset(t.trial_id for t in others)
        if not ids or ids == self.waiting_note:
            return
        self.waiting_note = ids
        asked = [t.number for t in others if is_manual(t.worker)]
        names = ", ".join(str(t.number) for t in others[:10]) + (" ..." if len(others) > 10 else "")
        how = (
            f"; {len(asked)} of them from study.ask(), never told: finish them with study.tell() "
            "or `tansaku trial fail N`, else they are reclaimed when their process stops"
            if asked
            else "; a trial of a worker that stops is re-queued"
        )
        self.progress.note(
            f"waiting for {len(others)} running trial(s) of other processes "
            f"(trial {names}) before the study can finish{how}"
        )

    def check_arity(self, o: Outcome) -> None:
        """A COMPLETE outcome with another number of values than the study has objectives
        becomes FAILED, saying so; a single objective keeps only ``value``."""
        if o.state is not TrialState.COMPLETE:
            o.values = None
            return
        n = self.study.n_objectives
        got = o.objective_values()
        if got is not None and len(got) == n:
            o.values = got if n > 1 else None
            return
        given = 0 if got is None else len(got)
        names = self.study.objective_names
        named = f" ({', '.join(names)})" if names else ""
        o.state, o.value, o.values = TrialState.FAILED, None, None
        o.message = (
            f"the objective gave {given} value{'s' if given != 1 else ''}, the study has "
            f"{n} objective{'s' if n != 1 else ''}{named}"
        )

    def finish(self, o: Outcome) -> None:
        st = self.study.storage
        if self.gpu_slots is not None:  # the job is over (a repeat takes a slot again)
            self.gpu_slots.give_back(o.trial_id)
        if self.repeats > 1 and self.next_evaluation(o):
            return
        self.evals.pop(o.trial_id, None)
        self.eval_started.pop(o.trial_id, None)
        t = self.running.pop(o.trial_id, None)
        if self.repeats == 1 and t is not None and not o.interrupted:
            o.system_attrs.setdefault("seed", trial_seed(self.base_seed, t.number, 0))
        if o.interrupted:
            if not self.storage_down:  # else re-queued by the next run (this pid will be dead)
                st.release_trial(o.trial_id, worker=self.worker)
            return
        if o.state is TrialState.FAILED:
            o.message = self.runner.failure_message(o.message, o.stderr)
        self.check_arity(o)
        value = o.value
        if self.storage_down:
            self.keep_unsaved(t, o, value)
            return
        try:
            if o.params is not None:  # define-by-run: what the trial used and suggested
                problem = self.study.record_used(o.trial_id, o.params, o.suggested or {})
                if problem is not None:
                    o.state, o.message, value = TrialState.FAILED, problem, None
            if o.user_attrs:
                st.set_trial_user_attrs(o.trial_id, o.user_attrs)
            if o.state is TrialState.PRUNED and value is None:
                full = st.get_trial(o.trial_id, with_intermediate=True)
                if full.last_step is not None:
                    value = full.intermediate.get(full.last_step)
            done = st.finish_trial(
                o.trial_id,
                worker=self.worker,
                state=o.state,
                value=value,
                message=o.message,
                stderr=o.stderr,
                system_attrs=o.system_attrs or None,
                values=o.values if o.state is TrialState.COMPLETE else None,
                constraints=o.constraints or None,
            )
            if done is None:  # a retry after a lost COMMIT reply finds its own write
                again = st.get_trial(o.trial_id)
                if again.state is o.state and again.worker == self.worker and again.value == value:
                    done = again
        except StorageError as e:
            self.storage_down = True
            where = self.keep_unsaved(t, o, value)
            raise StorageError(f"{e}; {where}") from None
        if done is None:
            number = t.number if t is not None else o.trial_id
            self.progress.note(
                f"trial {number} was reclaimed by another worker before it finished here; "
                "its result here was not stored"
            )
            return
        if done.state is TrialState.FAILED:
            self.fail_streak += 1
            self.last_failure = done.message or "failed"
            if self.n_done == 0:
                self.early_failures.append(self.last_failure)
                self.stop_if_cannot_start(o, done)
        else:
            self.fail_streak = 0
            self.n_done += 1
        self.progress.finished(done)
        self.constant_result.see(done)
        for cb in self.callbacks:
            cb(self.study, done)

    def warn(self, text: str) -> None:
        """A warning the user must see, with or without the progress display."""
        if self.progress.enabled:
            self.progress.note(text)
        else:
            print(text, file=sys.stderr, flush=True)

    #: how many first trials of a run failing with one message stop it
    SAME_FAILURES = 3

    def stop_if_cannot_start(self, o: Outcome, done: FrozenTrial) -> None:
        """Stop the run when the program evidently cannot run at all, before any trial of this
        call succeeded: the failure is a startup failure (``o.cannot_start``, see
        ``Command.startup_failure``), or the first ``SAME_FAILURES`` trials all failed with the
        same message (when ``max_failures`` is larger; null turns this off).  Trials still running are stopped and put back
        to WAITING (as on Ctrl-C), so they run again once the program is fixed."""
        if self.stop_reason is not None and self.error is not None:
            return
        msg = done.message or "failed"
        same = self.SAME_FAILURES
        if o.cannot_start:
            self.stop_reason = self.error = f"the program cannot start (trial {done.number}): {msg}"
        elif (
            self.max_failures is not None  # null: the user wants no failure to stop the run
            and self.max_failures > same  # else max_failures stops it as soon
            and len(self.early_failures) == same
            and len(set(self.early_failures)) == 1
        ):
            self.stop_reason = self.error = f"the first {same} trials failed the same way: {msg}"
        else:
            return
        for tid in list(self.running):
            self.executor.cancel(tid, "interrupted")

    def keep_unsaved(self, t: FrozenTrial | None, o: Outcome, value: float | None) -> str:
        """Put a result the storage could not take in the journal; says where, for the error."""
        number = t.number if t is not None else o.trial_id
        path = None
        if self.journal is not None:
            path = self.journal.append(t, o, worker=self.worker, value=value)
        where = (
            f"the result of trial {number} is kept in {path} and is stored by the next run"
            if path is not None
            else f"the result of trial {number} could not be kept on disk either (printed above)"
        )
        self.progress.note(where)
        return where

    def requeue_now(self, trial_id: int) -> None:
        """Put a trial whose run ended in an error of ours (not its own) back to WAITING."""
        if self.running.pop(trial_id, None) is not None and not self.storage_down:
            self.evals.pop(trial_id, None)
            with contextlib.suppress(Exception):
                self.study.storage.release_trial(trial_id, worker=self.worker)

    def release(self, trial_id: int) -> None:
        """A trial still running after an interrupt goes back to WAITING (unless the storage
        is down: then the next run re-queues it, this pid being dead)."""
        if not self.storage_down:
            with contextlib.suppress(Exception):
                self.study.storage.release_trial(trial_id, worker=self.worker)
