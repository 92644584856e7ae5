"""Proposals made while trials run, and the study's pending trials kept without full reads.

Two pieces, both used by :class:`~tansaku.study.Study` (the Coordinator only switches the buffer
on and off):

* :class:`PendingView` -- the study's RUNNING and WAITING trials (every worker's) as the sampler
  sees them.  It is read once in full (the pending rows only), then kept up to date by cheap
  incremental reads: new trials by number (:meth:`BaseStorage.trials_from`) and finished ones
  from the finishing order the sampler is told anyway (``finished_since``).  Storage semantics
  make that exact: numbers only grow, and a finished trial never becomes pending again.  The
  one thing it does not follow is a pending trial of another worker changing between RUNNING
  and WAITING (re-queued, claimed): it is pending either way, and no sampler reads the state
  of a pending trial.  So a proposal costs reads of what changed, not of every pending trial
  (which made a round of proposals quadratic in the number of workers).

* :class:`ProposalBuffer` -- a thread that computes proposals while trials run, so a freed
  worker starts its next trial at once instead of waiting while the sampler thinks.  Contract:

  - **One caller.**  While the buffer runs, its thread is the only one that calls the sampler
    (``tell`` and ``ask``); the study's own path (``_next_trial``, also for ``study.ask()``
    from a callback) takes proposals from the buffer instead.  :meth:`ProposalBuffer.stop`
    returns only once the thread has ended, so after ``optimize`` the sampler is the caller's
    again.
  - **Pending trials.**  Each ask sees the study's pending trials *plus* the proposals already
    in the buffer (as WAITING records carrying their sampler meta), so buffered points are
    never proposed twice.  Taking a proposal and starting its trial happen under the buffer's
    lock, and so do the thread's reads of storage and of the buffer, so a proposal being
    started is always seen exactly once (in storage or in the buffer).  Other processes'
    workers do not see this buffer: a buffered proposal whose very params a trial started since
    it was made already has (their seeded sampler in the same state) is dropped when it would
    start, under the ask lock, so no point is evaluated twice.  The thread drops such proposals
    too, before each ask, so the sampler never sees one point twice (the started trial and the
    buffered copy): a sampler that counts what it has seen (``sobol``'s index) would otherwise
    skip a point and later propose one already running.
  - **Order.**  Finished trials are told in storage order (``finished_since``), as without it;
    a resumed run replays storage, never the buffer, so resume by replay is unchanged.
  - **Budget.**  The buffer never holds more than ``capacity()`` proposals (the Coordinator:
    its workers, and no more than the trials this call may still start).  A proposal becomes a
    trial only through ``storage.start_trial(limit=...)``, which checks the budget atomically;
    proposals still buffered when the run stops are dropped: they were never trials, so Ctrl-C
    or a stop leaves nothing half-made, and a resumed run never sees them.
  - **Staleness.**  A buffered proposal was made before the results that arrived since: at most
    one proposal is made per slot that frees, and at most ``capacity()`` are waiting, so a
    proposal is at most that many results old.  Enqueued trials still go first (claimed before
    the buffer is looked at).
  - **Errors.**  An exception in the thread (the sampler's, the storage's) is raised by the next
    :meth:`ProposalBuffer.start` in the caller's thread; the sampler saying it has nothing more
    (``None``) ends the buffer after the proposals made before.

The Coordinator switches the buffer on only with several workers and a sampler slow enough to
keep one waiting (see ``Coordinator.maybe_buffer``): a seeded one-worker run asks the sampler
exactly as before and stays reproducible, and fast samplers keep the synchronous path.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tansaku._blas import blas_limit
from tansaku._records import FrozenTrial, TrialState
from tansaku.samplers._base import Proposal
from tansaku.storage._base import TRIAL_SAMPLER_ATTR, BaseStorage, StudyCounts

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = ["PendingView", "ProposalBuffer"]

_PENDING = (TrialState.RUNNING, TrialState.WAITING)


class PendingView:
    """The study's pending trials, kept by incremental reads (see the module docstring).

    Used by whoever calls the sampler (one thread at a time): :meth:`refresh` before an ask,
    :meth:`drop` with the trials just told as finished."""

    def __init__(self, storage: BaseStorage, study_id: int) -> None:
        self.storage = storage
        self.study_id = study_id
        self._trials: dict[int, FrozenTrial] = {}
        self._next: int | None = None  # every trial numbered below it has been seen

    def refresh(self, counts: StudyCounts | None = None) -> None:
        """Learn of trials started since the last call.  ``counts`` read just before (under the
        ask lock) saying nothing is pending lets the read be skipped entirely."""
        if counts is not None and counts.running == 0 and counts.waiting == 0:
            self._trials.clear()  # every trial numbered below counts.total is finished
            self._next = max(self._next or 0, counts.total)
            return
        if self._next is None:  # first read: the pending rows only, then follow by number
            c = counts if counts is not None else self.storage.counts(self.study_id)
            self._next = c.total  # read first: a trial started meanwhile is read again, once
            for t in self.storage.pending_trials(self.study_id):
                self._trials[t.trial_id] = t
            return
        for t in self.storage.trials_from(self.study_id, self._next):
            self._next = max(self._next, t.number + 1)
            if t.state in _PENDING:
                self._trials[t.trial_id] = t

    @property
    def next_number(self) -> int:
        """Every trial numbered below this has been seen (0 before the first refresh)."""
        return self._next or 0

    def drop(self, trial_ids: Iterable[int]) -> None:
        """Forget trials now known to be finished."""
        for tid in trial_ids:
            self._trials.pop(tid, None)

    def trials(self) -> list[FrozenTrial]:
        """The pending trials, by number."""
        return sorted(self._trials.values(), key=lambda t: t.number)


def _params_key(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True, default=str)


class _Exhausted:
    """The sampler answered None: nothing more after the proposals already buffered."""


class ProposalBuffer:
    """Proposals computed by a thread of their own while trials run (module docstring)."""

    def __init__(self, study: Study, capacity: Callable[[], int]) -> None:
        self.study = study
        #: how many proposals are worth holding now (re-read whenever one is taken)
        self.capacity = capacity
        #: proposals in the order made, each with the view's next number when it was made
        self._items: list[tuple[Proposal, int] | _Exhausted] = []
        # the caller's side: trials started since the oldest buffered proposal was made, by
        # params (see ``_started_meanwhile``), and the number up to which they have been read
        self._recent: deque[tuple[int, str]] = deque()
        self._recent_keys: dict[str, int] = {}
        self._read_to: int | None = None
        #: proposals dropped because another worker started the same point meanwhile
        self.duplicates = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._error: BaseException | None = None
        #: proposals the thread made, and the seconds it spent in the sampler (for benchmarks)
        self.made = 0
        self.sampler_seconds = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"tansaku-proposals-{study.name}", daemon=True
        )

    # ------------------------------------------------------------------ the caller's side
    def begin(self) -> None:
        self._thread.start()

    def start(self, worker: str, limit: int | None) -> Any:
        """Start the oldest buffered proposal as a RUNNING trial of ``worker`` (budget ``limit``),
        waiting for the thread if none is ready.  Returns the trial, None when the budget is
        used up (the proposal is dropped), or the study's EXHAUSTED marker."""
        from tansaku.study._study import EXHAUSTED

        with self._cond:
            while True:
                while not self._items and self._error is None and self._thread.is_alive():
                    self._cond.wait(0.25)
                if self._error is not None:
                    raise self._error
                if not self._items:
                    raise RuntimeError("the proposal thread ended without a proposal")
                item = self._items[0]
                if isinstance(item, _Exhausted):
                    return EXHAUSTED
                self._items.pop(0)
                self._cond.notify_all()  # room for one more
                proposal, mark = item
                self._read_started(mark)
                if self._started_since(proposal, mark):
                    self.duplicates += 1
                    continue
                # under the lock: the thread reads storage and the buffer only between starts
                return self.study._start_proposal(proposal, worker, limit)

    def _read_started(self, oldest: int) -> None:
        """Learn the params of the trials started since the last read (each trial is read once,
        incrementally by number), keeping only those numbered ``oldest`` or more: ``oldest`` is
        the mark of the oldest proposal still to be checked (marks only grow).  Called with the
        buffer's lock held."""
        st, sid = self.study.storage, self.study.study_id
        for t in st.trials_from(sid, oldest if self._read_to is None else self._read_to):
            self._read_to = max(self._read_to or 0, t.number + 1)
            key = _params_key(t.params)
            self._recent.append((t.number, key))
            self._recent_keys[key] = t.number  # the newest trial with these params
        while self._recent and self._recent[0][0] < oldest:
            number, key = self._recent.popleft()
            if self._recent_keys.get(key) == number:
                del self._recent_keys[key]

    def _started_since(self, proposal: Proposal, mark: int) -> bool:
        """Whether a trial with these very params was started since the proposal was made
        (numbered ``mark`` or more, as read by the last :meth:`_read_started`): another
        process's worker, whose sampler did not see this buffer, may have proposed the same
        point (a seeded sampler in the same state).  Decisive when called under the ask lock
        (``start``): a start of theirs cannot slip in before ours."""
        return self._recent_keys.get(_params_key(proposal.params), -1) >= mark

    def _drop_started(self) -> None:
        """Drop the buffered proposals whose point a trial started since they were made (see
        :meth:`_started_since`), so that the next ask does not see that point twice.  The
        thread's side, with the buffer's lock held; ``start`` checks again under the ask lock."""
        made = [(i, p) for i, p in enumerate(self._items) if not isinstance(p, _Exhausted)]
        if not made:
            return
        self._read_started(made[0][1][1])
        gone = {i for i, (proposal, mark) in made if self._started_since(proposal, mark)}
        if gone:
            self._items = [p for i, p in enumerate(self._items) if i not in gone]
            self.duplicates += len(gone)
            self._cond.notify_all()

    def stop(self) -> list[Proposal]:
        """End the thread (after the ask it may be in) and drop what is buffered; returns the
        dropped proposals."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        with self._cond:
            dropped = [p[0] for p in self._items if not isinstance(p, _Exhausted)]
            self._items.clear()
        return dropped

    def __len__(self) -> int:
        with self._cond:
            return sum(not isinstance(p, _Exhausted) for p in self._items)

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        study = self.study
        try:
            while True:
                with self._cond:
                    while not self._stopping and len(self._items) >= self.capacity():
                        self._cond.wait(0.1)  # capacity grows when a trial fails, say
                    if self._stopping:
                        return
                    counts = study.storage.counts(study.study_id)
                    study._view.refresh(counts)
                    mark = study._view.next_number
                    finished = study._read_finished()
                    # after both reads: a started trial the sampler will see (pending or
                    # finished) is seen here too, so its buffered copy cannot be seen twice
                    self._drop_started()
                    buffered = [
                        self._record(p[0]) for p in self._items if not isinstance(p, _Exhausted)
                    ]
                with blas_limit():
                    t0 = time.perf_counter()
                    proposal = study._ask_sampler(finished, extra=buffered)
                    self.sampler_seconds += time.perf_counter() - t0
                with self._cond:
                    self._items.append(_Exhausted() if proposal is None else (proposal, mark))
                    self.made += proposal is not None
                    self._cond.notify_all()
                if proposal is None:
                    return
        except BaseException as e:  # handed to the caller by start()
            with self._cond:
                self._error = e
                self._cond.notify_all()

    def _record(self, p: Proposal) -> FrozenTrial:
        """A buffered proposal as the sampler would see its trial once started."""
        attrs: dict[str, Any] = {TRIAL_SAMPLER_ATTR: self.study.sampler.name}
        attrs.update(p.stored_attrs())
        return FrozenTrial(number=-1, state=TrialState.WAITING, params=dict(p.params),
                           system_attrs=attrs)
