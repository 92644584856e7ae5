"""The bounded wait for a shared SQL study's ask lock.

The ask lock (:meth:`~tansaku.storage.BaseStorage.ask_lock`) makes the workers of a study propose
one at a time.  A holder that stops (SIGSTOP, a frozen node, a debugger) would otherwise stall
every other worker for as long as it is stopped, so a waiter waits at most ``timeout`` seconds;
then it logs one warning naming the holder and proposes without the lock.  That is safe for the
budget: a trial is started or claimed by one conditional UPDATE that counts against ``n_trials``
(``_budget`` in ``_sql.py``), whoever holds the lock, so a study never gets more than ``n_trials``
trials.  What the lock buys, and what an unlocked proposal can lose, is only that each proposal
sees the trials the others just started (two seeded samplers may then propose the same point).

A waiter remembers the stalled holder (one acquisition of the lock, not just one process): its
later asks try the lock once and, while that same acquisition still holds it, go on at once
without waiting or warning again.  A new holder is waited for afresh.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

log = logging.getLogger("tansaku.storage")

__all__ = ["BoundedWait", "Holder", "holder_stamp", "read_stamp"]


class Holder(NamedTuple):
    """Who holds the lock: ``key`` tells one acquisition from another, ``text`` names it."""

    key: str
    text: str


def holder_stamp() -> str:
    """What a holder writes where waiters can read it: this process, host and the time."""
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})


def read_stamp(raw: str) -> Holder | None:
    """The :class:`Holder` of a :func:`holder_stamp`; None when ``raw`` is empty or unreadable
    (a holder of an older tansaku, or one that has not written its stamp yet)."""
    try:
        d = json.loads(raw)
        pid, host, since = int(d["pid"]), str(d["host"]), float(d["since"])
    except (ValueError, TypeError, KeyError):
        return None
    return Holder(raw, f"pid {pid} on {host}, holding it for {max(0.0, time.time() - since):.0f} s")


class BoundedWait:
    """Waits for one storage's ask locks at most ``timeout`` seconds each (see the module
    docstring).  Called by the threads of one process in turn (under the in-process ask lock)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = float(timeout)
        self._stalled: dict[int, str] = {}  # study id -> key of the holder that made us give up
        self._mutex = threading.Lock()

    def acquire(
        self,
        study_id: int,
        try_once: Callable[[], bool],
        holder: Callable[[], Holder | None],
    ) -> bool:
        """Poll ``try_once`` (True: the lock is ours) until it succeeds or ``timeout`` seconds
        pass; False means: go on without the lock.  ``holder`` names the current holder."""
        if try_once():
            return self._got(study_id)
        with self._mutex:
            stalled = self._stalled.get(study_id)
        if stalled is not None:
            now = holder()
            if now is not None and now.key == stalled:
                return False  # still the holder we gave up on: no new wait, no new warning
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)
            if try_once():
                return self._got(study_id)
        who = holder()
        with self._mutex:
            if who is not None:
                self._stalled[study_id] = who.key
        log.warning(
            "tansaku: the ask lock of study %d is held by %s; waited %g s, proposing without it "
            "(the trial budget stays exact; a proposal may repeat one made meanwhile)",
            study_id,
            who.text if who is not None else "an unknown process",
            self.timeout,
        )
        return False

    def _got(self, study_id: int) -> bool:
        with self._mutex:
            self._stalled.pop(study_id, None)
        return True
