"""Journal storage: a study shared through one append-only file, no database server.

``journal:///study.journal`` is a log of state changes, one JSON object a line.  Every process
replays the log into an :class:`~tansaku.storage.InMemoryStorage` (this class *is* one, fed by the
log) and afterwards reads only the new tail: it remembers the byte offset it has replayed up to.

Writing (every method that changes something) happens under an NFS-safe lock file
(:class:`~tansaku.storage._nfslock.NFSLock`, ``<file>.lock``): take the lock, replay the tail, apply
the change to the replayed state -- which decides it exactly as the in-memory storage would,
including the atomic budget check of :meth:`start_trial` and the claim of :meth:`claim_waiting`
-- and, if it changed anything, append its record and release the lock.  Each record carries the
writer's clock time and the replay of a record uses that time, so every process that replays the
log reaches the same state (the heartbeat ages that :meth:`reclaim_stale` judges included).

A torn last line (a writer killed in the middle of its write) is never glued to: a writer that
finds unterminated bytes at the end of the file while it holds the lock ends them with a newline
first.  A line that is not a complete JSON record -- a torn write, or the zeros an NFS client can
leave after a crash -- is skipped by every reader alike; readers without the lock stop before an
unterminated last line until it is finished or terminated.

NFS: the file is reopened for every read and closed after every write, which is what NFS's
close-to-open consistency needs for other hosts to see it.  Power loss: records are not fsync'ed
(like SQLite's ``synchronous=NORMAL``); a crash of the machine can lose the last records, never
corrupt the earlier ones.  ``ask_lock`` is a second lock file, ``<file>.ask.lock``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tansaku._errors import StorageError, TansakuError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space
from tansaku.storage._base import (
    BaseStorage,
    StudyCounts,
    StudyInfo,
    dumps,
)
from tansaku.storage._memory import InMemoryStorage
from tansaku.storage._nfslock import NFSLock
from tansaku.storage._requests import Finish, NewStudy, NewTrial, TrialQuery

__all__ = ["JournalStorage"]

_READ = 1 << 20  # bytes read at a time while replaying


def _plain(attrs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if attrs is None else dict(attrs)


def _imported(row: Mapping[str, Any]) -> FrozenTrial:
    """A finished trial of an ``add_trials`` record (number and id are the storage's)."""
    return FrozenTrial(
        number=-1,
        state=TrialState(row["state"]),
        params=row["params"],
        value=row.get("value"),
        start_time=row.get("start"),
        end_time=row.get("end"),
        message=row.get("message"),
        stderr=row.get("stderr"),
        intermediate={int(k): float(v) for k, v in (row.get("intermediate") or {}).items()},
        user_attrs=row.get("user_attrs") or {},
        system_attrs=row.get("system_attrs") or {},
        values=row.get("values"),
        constraints=row.get("constraints") or {},
    )


def _changed(result: Any) -> bool:
    return result is not None and result is not False and result != []


class JournalStorage(InMemoryStorage):
    """A study in the append-only file ``path`` (see the module docstring).

    ``retry_timeout``: how long a write waits for the lock before a
    :class:`~tansaku.StorageError`; ``stale_after``: a lock whose owner has not refreshed it for
    this many seconds (its process hung or its host died) is broken.  A lock held by a process of
    this host that no longer exists is broken at once.
    """

    def __init__(
        self, path: str | Path, *, retry_timeout: float = 120.0, stale_after: float = 30.0
    ) -> None:
        super().__init__()
        self.path = str(Path(path).expanduser().absolute())
        self.url = f"journal:///{self.path}"
        self._where = f"in {self.url}"
        self._file_lock = NFSLock(
            self.path + ".lock", stale_after=stale_after, timeout=retry_timeout
        )
        self._ask_file_lock = NFSLock(
            self.path + ".ask.lock", stale_after=stale_after, timeout=retry_timeout
        )
        self._offset = 0  # bytes of the file replayed so far (always at a line start)
        self._tail = b""  # unterminated bytes after _offset seen by the last read
        self._clock: float | None = None  # the time of the record being applied
        #: lines skipped because they were not a complete record (torn writes)
        self.skipped_lines = 0
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab"):
                pass
        except OSError as e:
            raise StorageError(f"cannot open journal {self.path}: {e.strerror}") from None
        with self._lock:
            self._catch_up()

    # ---------------------------------------------------------------- replay
    def _now(self) -> float:
        return time.time() if self._clock is None else self._clock

    def _catch_up(self) -> None:
        """Replay the complete lines written since the last call (caller holds ``self._lock``)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                rest = b""
                while chunk := f.read(_READ):
                    data = rest + chunk
                    end = data.rfind(b"\n") + 1
                    rest = data[end:]
                    start = 0
                    while start < end:
                        nl = data.index(b"\n", start)
                        self._replay(data[start:nl])
                        start = nl + 1
                    self._offset += end
        except OSError as e:
            raise StorageError(f"cannot read journal {self.path}: {e.strerror}") from None
        self._tail = rest

    def _replay(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError
        except ValueError:
            self.skipped_lines += 1
            return
        try:
            self._apply(rec)
        except (TansakuError, ValueError, KeyError, TypeError):
            # the writer applied it without error to the same state, so this is not a record a
            # writer made; every replay skips it alike
            self.skipped_lines += 1

    def _apply(self, rec: Mapping[str, Any]) -> Any:
        """Apply one record to the in-memory state at the record's time; returns the result."""
        op = rec["op"]
        self._clock = float(rec["t"])
        s = super()
        try:
            if op == "start":
                running = TrialState.RUNNING
                return s._new_trial(
                    NewTrial(
                        rec["study"],
                        running,
                        rec["params"],
                        rec.get("attrs"),
                        rec["worker"],
                        rec.get("limit"),
                    )
                )
            if op == "finish":
                end = Finish(
                    TrialState(rec["state"]),
                    rec.get("value"),
                    rec.get("values"),
                    rec.get("constraints"),
                    rec.get("message"),
                    rec.get("stderr"),
                    rec.get("attrs"),
                )
                return s._finish_trial(rec["trial"], rec.get("worker"), end)
            if op == "beat":
                return s.heartbeat(rec["trials"], worker=rec["worker"])
            if op == "report":
                return s.report(rec["trial"], rec["step"], rec["value"])
            if op == "claim":
                return s.claim_waiting(rec["study"], worker=rec["worker"], limit=rec.get("limit"))
            if op == "enqueue":
                waiting = TrialState.WAITING
                return s._new_trial(
                    NewTrial(rec["study"], waiting, rec["params"], rec.get("attrs"))
                )
            if op == "release":
                return s.release_trial(
                    rec["trial"], worker=rec["worker"], count_attempt=rec["count"]
                )
            if op == "trial_params":
                return s.set_trial_params(rec["trial"], rec["params"])
            if op == "trial_attrs":
                if rec["kind"] == "user":
                    return s.set_trial_user_attrs(rec["trial"], rec["attrs"])
                return s.set_trial_system_attrs(rec["trial"], rec["attrs"])
            if op == "reclaim_stale":
                return s.reclaim_stale(
                    rec["study"],
                    grace=rec["grace"],
                    requeue=rec["requeue"],
                    max_attempts=rec["max_attempts"],
                )
            if op == "reclaim_workers":
                return s.reclaim_worker_trials(
                    rec["study"],
                    rec["workers"],
                    requeue=rec["requeue"],
                    max_attempts=rec["max_attempts"],
                )
            if op == "study":  # written from a NewStudy, so already in its form
                new = NewStudy(
                    rec["name"],
                    Space.from_dict(rec["space"], allow_empty=True),
                    rec["direction"],
                    dict(rec.get("sampler") or {}),
                    dict(rec.get("user_attrs") or {}),
                    tuple(rec.get("directions") or ()),
                    tuple(rec.get("objective_names") or ()),
                )
                return s._create_study(new)
            if op == "study_attrs":
                if rec["kind"] == "user":
                    return s.set_study_user_attrs(rec["study"], rec["attrs"])
                return s.set_study_system_attrs(rec["study"], rec["attrs"])
            if op == "delete":
                return s.delete_study(rec["name"])
            if op == "add_trials":
                return s.add_trials(
                    rec["study"],
                    [_imported(t) for t in rec["trials"]],
                    uncounted=rec.get("uncounted", 0),
                )
            if op == "space":
                return s.set_study_space(
                    rec["study"], Space.from_dict(rec["space"]), system_attrs=rec.get("attrs")
                )
            raise ValueError(f"unknown journal record {op!r}")
        finally:
            self._clock = None

    def _write(self, rec: dict[str, Any], changed: Callable[[Any], bool] = lambda r: True) -> Any:
        """Under the file lock: replay the tail, apply ``rec``, and append it if ``changed`` says
        it changed something.  An error while applying changes and writes nothing."""
        with self._lock:
            while True:
                self._file_lock.acquire()
                try:
                    self._catch_up()
                    if self._tail:  # a writer died mid-line: end its line, never glue onto it
                        self._append(b"\n")
                        self._catch_up()
                    if not self._file_lock.still_held():
                        continue  # broken as stale while we waited (we were stopped): again
                    rec["t"] = time.time()
                    line = dumps(rec)
                    # apply what the others will replay (JSON types: lists, plain numbers)
                    result = self._apply(json.loads(line))
                    if changed(result):
                        try:
                            self._offset = self._append((line + "\n").encode())
                        except StorageError:
                            self._clear()  # the change is applied here but not written: forget
                            self._offset, self._tail = 0, b""
                            raise
                    return result
                finally:
                    self._file_lock.release()

    def _append(self, data: bytes) -> int:
        """Append ``data`` (lock held) and return the file's size afterwards."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                return os.lseek(fd, 0, os.SEEK_CUR)
            finally:
                os.close(fd)  # on NFS: flushes to the server (close-to-open consistency)
        except OSError as e:
            raise StorageError(f"cannot write journal {self.path}: {e.strerror}") from None

    @contextmanager
    def _read(self) -> Iterator[None]:
        with self._lock:
            self._catch_up()
            yield

    @contextmanager
    def ask_lock(self, study_id: int) -> Iterator[None]:
        """Threads of this process, then processes anywhere: a second lock file."""
        with BaseStorage.ask_lock(self, study_id), self._ask_file_lock:
            yield

    # ---------------------------------------------------------------- studies
    def _create_study(self, new: NewStudy) -> StudyInfo:
        rec: dict[str, Any] = {
            "op": "study",
            "name": new.name,
            "space": new.space.to_dict(),
            "direction": new.direction,
            "sampler": new.sampler,
            "user_attrs": new.user_attrs,
        }
        if new.directions:  # older journals have neither key
            rec["directions"] = list(new.directions)
        if new.objective_names:
            rec["objective_names"] = list(new.objective_names)
        info: StudyInfo = self._write(rec)
        return info

    def get_study(self, name: str) -> StudyInfo:
        with self._read():
            return super().get_study(name)

    def list_studies(self) -> list[StudyInfo]:
        with self._read():
            return super().list_studies()

    def delete_study(self, name: str) -> None:
        self._write({"op": "delete", "name": name})

    def set_study_system_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._write(
            {"op": "study_attrs", "kind": "system", "study": study_id, "attrs": dict(attrs)}
        )

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._write({"op": "study_attrs", "kind": "user", "study": study_id, "attrs": dict(attrs)})

    def counts(self, study_id: int) -> StudyCounts:
        with self._read():
            return super().counts(study_id)

    # ---------------------------------------------------------------- creating / claiming trials
    def _new_trial(self, new: NewTrial) -> FrozenTrial | None:
        rec: dict[str, Any] = {
            "op": "start" if new.state is TrialState.RUNNING else "enqueue",
            "study": new.study_id,
            "params": new.params,
            "attrs": new.system_attrs,
        }
        if new.state is TrialState.RUNNING:
            rec.update(worker=new.worker, limit=new.limit)
        result: FrozenTrial | None = self._write(rec, _changed)
        return result

    def claim_waiting(
        self, study_id: int, *, worker: str, limit: int | None = None
    ) -> FrozenTrial | None:
        with self._read():  # nothing waiting: no lock needed to say so
            if self._study(study_id).counts[TrialState.WAITING] == 0:
                return None
        rec = {"op": "claim", "study": study_id, "worker": worker, "limit": limit}
        result: FrozenTrial | None = self._write(rec, _changed)
        return result

    # ---------------------------------------------------------------- updating trials
    def _finish_trial(self, trial_id: int, worker: str | None, end: Finish) -> FrozenTrial | None:
        rec: dict[str, Any] = {
            "op": "finish",
            "trial": trial_id,
            "worker": worker,
            "state": end.state.value,
            "value": end.value,
            "message": end.message,
            "stderr": end.stderr,
            "attrs": end.system_attrs,
        }
        if end.values is not None:
            rec["values"] = list(end.values)
        if end.constraints:
            rec["constraints"] = dict(end.constraints)
        result: FrozenTrial | None = self._write(rec, _changed)
        return result

    def release_trial(self, trial_id: int, *, worker: str, count_attempt: bool = False) -> bool:
        rec = {"op": "release", "trial": trial_id, "worker": worker, "count": count_attempt}
        return bool(self._write(rec, _changed))

    def add_trials(
        self, study_id: int, trials: Sequence[FrozenTrial], *, uncounted: int = 0
    ) -> list[FrozenTrial]:
        rows = [
            {
                "state": t.state.value,
                "params": dict(t.params),
                "value": t.value,
                "message": t.message,
                "stderr": t.stderr,
                "start": t.start_time,
                "end": t.end_time,
                "intermediate": {str(k): v for k, v in t.intermediate.items()},
                "user_attrs": dict(t.user_attrs),
                "system_attrs": dict(t.system_attrs),
                "values": list(t.values) if t.values is not None and len(t.values) > 1 else None,
                "constraints": {str(k): float(v) for k, v in t.constraints.items()},
            }
            for t in trials
        ]
        rec = {"op": "add_trials", "study": study_id, "trials": rows, "uncounted": uncounted}
        out: list[FrozenTrial] = self._write(rec)  # one record: all trials or none
        return out

    def set_study_space(
        self, study_id: int, space: Space, *, system_attrs: Mapping[str, Any] | None = None
    ) -> None:
        self._write(
            {
                "op": "space",
                "study": study_id,
                "space": space.to_dict(),
                "attrs": _plain(system_attrs),
            }
        )

    def report(self, trial_id: int, step: int, value: float) -> None:
        self._write({"op": "report", "trial": trial_id, "step": int(step), "value": float(value)})

    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._write({"op": "trial_attrs", "kind": "user", "trial": trial_id, "attrs": dict(attrs)})

    def set_trial_system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._write(
            {"op": "trial_attrs", "kind": "system", "trial": trial_id, "attrs": dict(attrs)}
        )

    def set_trial_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._write({"op": "trial_params", "trial": trial_id, "params": dict(params)})

    def heartbeat(self, trial_ids: Iterable[int], *, worker: str) -> None:
        ids = [int(i) for i in trial_ids]
        if ids:
            self._write({"op": "beat", "trials": ids, "worker": worker})

    def reclaim_stale(
        self, study_id: int, *, grace: float, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        rec = {
            "op": "reclaim_stale",
            "study": study_id,
            "grace": float(grace),
            "requeue": bool(requeue),
            "max_attempts": int(max_attempts),
        }
        result: list[FrozenTrial] = self._write(rec, _changed)
        return result

    def reclaim_worker_trials(
        self, study_id: int, workers: Sequence[str], *, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        rec = {
            "op": "reclaim_workers",
            "study": study_id,
            "workers": list(workers),
            "requeue": bool(requeue),
            "max_attempts": int(max_attempts),
        }
        result: list[FrozenTrial] = self._write(rec, _changed)
        return result

    # ---------------------------------------------------------------- reading
    def get_trial(self, trial_id: int, *, with_intermediate: bool = False) -> FrozenTrial:
        with self._read():
            return super().get_trial(trial_id, with_intermediate=with_intermediate)

    def get_trial_by_number(
        self, study_id: int, number: int, *, with_intermediate: bool = False
    ) -> FrozenTrial:
        with self._read():
            return super().get_trial_by_number(
                study_id, number, with_intermediate=with_intermediate
            )

    def _get_trials(self, study_id: int, query: TrialQuery) -> list[FrozenTrial]:
        with self._read():
            return super()._get_trials(study_id, query)

    def finished_since(self, study_id: int, seq: int) -> tuple[list[FrozenTrial], int]:
        with self._read():
            return super().finished_since(study_id, seq)

    def pending_trials(self, study_id: int) -> list[FrozenTrial]:
        with self._read():
            return super().pending_trials(study_id)

    def trials_from(self, study_id: int, number: int) -> list[FrozenTrial]:
        with self._read():  # other workers' new trials are in the file's tail
            return super().trials_from(study_id, number)

    def best_trial(self, study_id: int, direction: str) -> FrozenTrial | None:
        with self._read():
            return super().best_trial(study_id, direction)

    def intermediate_values(
        self, study_id: int, step: int | None = None
    ) -> dict[int, dict[int, float]]:
        with self._read():
            return super().intermediate_values(study_id, step)
