"""Liveness: which RUNNING trials still have someone working on them.

One rule for every trial, whoever started it (a coordinator, a ``tansaku worker``, ``study.ask()``):

* **Heartbeats decide.**  The process that holds a trial beats for it every ``interval`` seconds
  from a thread of its own (:class:`Heartbeat`), whatever its executor is doing -- an inline
  trial, a Python objective, a command, a sampler taking its time.  A trial whose heartbeat is
  older than the reclaimer's ``stale_after`` is lost.
* **A dead pid is a shortcut, only where it means something.**  A worker id is
  ``host:pid:token-ns`` (:func:`new_worker_id`); ``ns`` names the boot and PID namespace the pid
  belongs to (:func:`namespace_tag`).  A worker is known dead (:func:`known_dead`) only when its
  host *and* namespace are this process's and the pid is gone: a container with ``--network
  host`` shares the hostname but not the pids, and an id without a namespace (written by an
  older version) is judged by its heartbeat alone.
* **ask() trials hold a lease**: the asking process's heartbeat keeps them while it lives; with
  ``ask(lease=s)`` the lease also ends ``s`` seconds after the ask, and the trial is re-queued
  by the process itself (:meth:`Heartbeat.hold`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MANUAL",
    "Heartbeat",
    "WorkerId",
    "is_manual",
    "known_dead",
    "namespace_tag",
    "new_worker_id",
    "parse_worker",
    "pid_alive",
]

#: prefix of the worker id of a Study's ask()/tell trials
MANUAL = "manual@"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists in this process's PID namespace (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # not a pid this system can have
        return False
    return True


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


_ns_cache: dict[int, str] = {}


def namespace_tag() -> str:
    """8 hex digits naming this process's boot and PID namespace (the boot id and the inode of
    ``/proc/self/ns/pid``): equal for two processes exactly when their pids can be compared.
    Empty where that cannot be known (no /proc): then pids are never compared."""
    pid = os.getpid()  # a forked child may be in the same namespace; cache per pid anyway
    if pid not in _ns_cache:
        boot = _read("/proc/sys/kernel/random/boot_id")
        try:
            ino = os.stat("/proc/self/ns/pid").st_ino
        except OSError:
            ino = 0
        tag = "" if not boot or not ino else hashlib.sha1(f"{boot}/{ino}".encode()).hexdigest()[:8]
        _ns_cache.clear()
        _ns_cache[pid] = tag
    return _ns_cache[pid]


def new_worker_id(prefix: str = "") -> str:
    """``host:pid:token-ns``: unique per coordinator (or per Study for ask/tell, ``prefix``
    ``manual@``); :func:`known_dead` reads it back."""
    ns = namespace_tag()
    token = uuid.uuid4().hex[:6] + (f"-{ns}" if ns else "")
    return f"{prefix}{socket.gethostname()}:{os.getpid()}:{token}"


@dataclass(frozen=True)
class WorkerId:
    host: str
    pid: int
    ns: str  # "" when the id does not say (older ids, or no /proc)
    manual: bool


def parse_worker(worker: str | None) -> WorkerId | None:
    """The parts of a worker id made by :func:`new_worker_id`; None for any other string."""
    if not worker:
        return None
    manual = worker.startswith(MANUAL)
    parts = worker[len(MANUAL) :].rsplit(":", 2) if manual else worker.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 10:
        return None
    _, _, ns = parts[2].partition("-")
    return WorkerId(parts[0], int(parts[1]), ns, manual)


def known_dead(worker: str | None) -> bool:
    """True only when ``worker`` ran in this host's boot and PID namespace and its pid is gone.
    Anything else (another host, another container, an id without a namespace) is left to the
    heartbeats."""
    w = parse_worker(worker)
    if w is None or not w.ns or w.ns != namespace_tag() or w.host != socket.gethostname():
        return False
    return w.pid != os.getpid() and not pid_alive(w.pid)


class Heartbeat:
    """A daemon thread beating, every ``interval`` seconds, for the trials it holds.

    ``beat(worker, trial_ids)`` writes the heartbeat (a storage's :meth:`heartbeat`; the SQL
    storages are thread-safe, each call takes a pooled connection of its own); ``expire(worker,
    trial_id)`` is called once for a trial whose lease (``hold(..., lease=s)``) ran out, after
    which the trial is no longer held.  ``source()``, when given, names more trials to beat for
    at each beat (``{worker: trial ids}``, read from the thread: e.g. a coordinator's running
    trials).  Errors of either are swallowed (the next beat tries
    again; a storage that stays down is the main thread's to report).  :meth:`stop` ends the
    thread and waits for it.
    """

    def __init__(
        self,
        beat: Callable[[str, list[int]], Any],
        interval: float,
        *,
        expire: Callable[[str, int], Any] | None = None,
        source: Callable[[], dict[str, list[int]]] | None = None,
        name: str = "tansaku-heartbeat",
    ) -> None:
        self.beat = beat
        self.source = source
        self.interval = float(interval)
        self.expire = expire
        self.name = name
        self._held: dict[tuple[str, int], float] = {}  # (worker, trial id) -> lease end or inf
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def hold(self, worker: str, trial_id: int, *, lease: float | None = None) -> None:
        """Beat for ``trial_id`` under ``worker`` (until :meth:`release`, or ``lease`` seconds)."""
        end = float("inf") if lease is None else time.monotonic() + lease
        with self._lock:
            self._held[(worker, trial_id)] = end
            self._start()
        if lease is not None:
            self._wake.set()  # recompute the next wake-up

    def release(self, worker: str, trial_id: int) -> None:
        with self._lock:
            self._held.pop((worker, trial_id), None)

    def held(self) -> list[int]:
        with self._lock:
            return [tid for _, tid in self._held]

    def start(self) -> None:
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive() and not self._stopping:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        next_beat = time.monotonic() + self.interval
        while True:
            self._wake.clear()  # before reading: a hold() from now on wakes the wait below
            with self._lock:
                if self._stopping:
                    return
                ends = [e for e in self._held.values() if e != float("inf")]
            now = time.monotonic()
            wait = min([next_beat - now, *(e - now for e in ends)])
            if wait > 0:
                self._wake.wait(wait)
                continue
            now = time.monotonic()
            with self._lock:
                if self._stopping:
                    return
                expired = [k for k, e in self._held.items() if e <= now]
                for k in expired:
                    del self._held[k]
                groups: dict[str, list[int]] = {}
                for w, tid in self._held:
                    groups.setdefault(w, []).append(tid)
            for w, tid in expired:
                if self.expire is not None:
                    with contextlib.suppress(Exception):
                        self.expire(w, tid)
            if now >= next_beat:
                next_beat = now + self.interval
                if self.source is not None:
                    with contextlib.suppress(Exception):
                        for w, ids in self.source().items():
                            groups.setdefault(w, []).extend(ids)
                for w, ids in groups.items():
                    with contextlib.suppress(Exception):
                        self.beat(w, ids)


def is_manual(worker: str | None) -> bool:
    """Whether ``worker`` is a Study's ask()/tell id."""
    return bool(worker) and str(worker).startswith(MANUAL)
