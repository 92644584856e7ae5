"""The results journal: finished trials the storage could not take, kept on local disk.

When storing a finished trial fails for good (the storage still unreachable, locked or full after
its retries), the coordinator appends the outcome to a journal file -- one JSON line, flushed and
``fsync``-ed with its directory -- before it reports the error and stops.  The next run of the
study on this host replays the journal into the storage *before* it re-queues the trials of dead
coordinators, so the result lands on the trial it belongs to and the trial is not run again.

Where (the first of these that can be written; the next run reads all of them):

1. ``<workdir>/tansaku-journal.jsonl`` -- the study's run directory (``runs/<study>/`` next to the
   config for ``tansaku run``), when it has one;
2. next to a SQLite database: ``<file.db>.tansaku-journal.jsonl``;
3. ``$XDG_STATE_HOME/tansaku/journal/<key>.jsonl`` (default ``~/.local/state``), ``key`` derived
   from the storage URL (without password) and the study name -- usually another file system than
   a full disk holding the database.

If none can be written, the entry is printed to stderr (``tansaku: UNSAVED RESULT {...}``), so a
result is never lost silently.

Replay stores an entry when its trial is still RUNNING under the worker that ran it (the normal
case: nobody else has touched it) and drops it, with a note, when the trial was meanwhile
finished or re-queued by someone else -- then it is evaluated again, never counted twice.  An entry
whose write had in fact committed (a connection lost during COMMIT) is recognised as already
stored.  Entries of other studies in the same file are left alone.

A poison entry -- one the storage refuses while it otherwise answers (a value or text it cannot
keep) -- never stops the replay: it is copied to ``<journal file>.rejected`` with one note, marked
handled, and replay goes on (its trial is re-queued like any lost one).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tansaku._errors import StorageError, StudyNotFoundError
from tansaku._records import FrozenTrial, TrialState
from tansaku.objectives._base import Outcome
from tansaku.storage._base import BaseStorage

__all__ = ["JOURNAL_NAME", "ResultJournal"]

JOURNAL_NAME = "tansaku-journal.jsonl"


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tansaku" / "journal"


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None
    return None


@contextlib.contextmanager
def _locked(path: Path, mode: str) -> Iterator[Any]:
    """Open ``path`` with an exclusive lock (several coordinators may share one journal)."""
    f = open(path, mode)
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield f
    finally:
        f.close()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ResultJournal:
    """Append-only journal of one study's unsaved results (see the module docstring)."""

    def __init__(self, paths: list[Path], *, study: str, storage_url: str) -> None:
        self.paths = paths
        self.study = study
        self.storage_url = storage_url  # as printed: no password

    @classmethod
    def for_study(cls, storage: BaseStorage, study: str, workdir: Path | None) -> ResultJournal:
        url = storage.url
        paths = []
        if workdir is not None:
            paths.append(Path(workdir) / JOURNAL_NAME)
        db = _sqlite_file(url)
        if db is not None:
            paths.append(db.with_name(db.name + "." + JOURNAL_NAME))
        key = hashlib.sha256(f"{url}\0{study}".encode()).hexdigest()[:20]
        paths.append(_state_dir() / f"{key}.jsonl")
        return cls(paths, study=study, storage_url=url)

    # ---------------------------------------------------------------- writing
    def append(
        self, trial: FrozenTrial | None, outcome: Outcome, *, worker: str, value: float | None
    ) -> Path | None:
        """Keep one finished outcome; returns the file written, or None if only stderr worked."""
        entry = {
            "id": uuid.uuid4().hex,
            "study": self.study,
            "storage": self.storage_url,
            "trial_id": outcome.trial_id,
            "number": None if trial is None else trial.number,
            "params": None if trial is None else dict(trial.params),
            "worker": worker,
            "state": outcome.state.value,
            "value": value if value is None or math.isfinite(value) else None,
            "message": outcome.message,
            "stderr": outcome.stderr,
            "system_attrs": dict(outcome.system_attrs),
            "user_attrs": dict(outcome.user_attrs),
            "time": time.time(),
        }
        if outcome.values is not None:
            entry["values"] = list(outcome.values)
        if outcome.constraints:
            entry["constraints"] = dict(outcome.constraints)
        line = json.dumps(entry, default=str) + "\n"
        for path in self.paths:
            new = False
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                new = not path.exists()
                with _locked(path, "a+b") as f:
                    f.seek(0, os.SEEK_END)
                    if f.tell() > 0:  # a line torn by an earlier failure must not swallow this one
                        f.seek(-1, os.SEEK_END)
                        if f.read(1) != b"\n":
                            f.write(b"\n")
                    f.write(line.encode())
                    f.flush()
                    os.fsync(f.fileno())
                if new:
                    _fsync_dir(path.parent)
                return path
            except OSError:  # e.g. the disk is full: try the next place
                if new:
                    with contextlib.suppress(OSError):
                        if path.stat().st_size == 0:
                            path.unlink()
                continue
        print(f"tansaku: UNSAVED RESULT {line.strip()}", file=sys.stderr, flush=True)
        return None

    # ---------------------------------------------------------------- replaying
    def pending(self) -> list[dict[str, Any]]:
        """This study's entries not yet replayed, from every journal file."""
        out = []
        for path in self.paths:
            lines = self._read(path)
            handled = {e["handled"] for e in lines if "handled" in e}
            out += [
                e
                for e in lines
                if "handled" not in e and e.get("id") not in handled and self._ours(e)
            ]
        return out

    def _ours(self, entry: Mapping[str, Any]) -> bool:
        return entry.get("study") == self.study and entry.get("storage") == self.storage_url

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
        out = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    out.append(entry)
        return out  # a torn last line (killed mid-write) is skipped

    def replay(
        self, storage: BaseStorage, study_id: int, note: Callable[[str], None] = lambda s: None
    ) -> tuple[int, int]:
        """Store this study's entries; returns ``(stored, dropped)``.

        The file stays append-only: a handled entry gets a ``{"handled": id}`` line after it (a
        kill at any moment loses nothing), and a file whose entries are all handled is emptied
        (not removed: another coordinator may be waiting to append to it).  A storage error stops
        the replay and is raised; what is left is tried again next time."""
        stored = dropped = 0
        for path in self.paths:
            if not path.exists():
                continue
            try:
                with _locked(path, "a+b") as f:
                    lines = self._read(path)
                    handled = {e["handled"] for e in lines if "handled" in e}
                    entries = [e for e in lines if "handled" not in e]
                    failed = None
                    for entry in entries:
                        if entry.get("id") in handled or not self._ours(entry):
                            continue
                        try:
                            ok, why = self._store(storage, study_id, entry)
                        except (StorageError, StudyNotFoundError) as e:
                            if not self._poison(storage, study_id, entry, path, note):
                                failed = e
                                break
                            ok, why = False, f"the storage refuses it ({e})"
                        except Exception as e:  # a malformed entry (e.g. an id out of range)
                            self._poison(storage, study_id, entry, path, note)
                            ok, why = False, f"malformed journal entry ({type(e).__name__})"
                        f.write((json.dumps({"handled": entry.get("id")}) + "\n").encode())
                        handled.add(entry.get("id"))
                        if ok:
                            stored += 1
                        else:
                            dropped += 1
                            note(
                                f"journal: the result of trial {entry.get('number')} was not "
                                f"stored: {why}"
                            )
                    f.flush()
                    os.fsync(f.fileno())
                    if all(e.get("id") in handled for e in entries):
                        f.truncate(0)
                        os.fsync(f.fileno())
                if failed is not None:
                    raise failed
            except OSError as e:
                note(f"journal: cannot read or update {path}: {e}")
        if stored or dropped:
            note(f"journal: {stored} unsaved result(s) stored, {dropped} dropped")
        return stored, dropped

    @staticmethod
    def _poison(
        storage: BaseStorage,
        study_id: int,
        entry: Mapping[str, Any],
        path: Path,
        note: Callable[[str], None],
    ) -> bool:
        """After ``_store`` raised: True when the entry itself is what the storage refuses (the
        storage still answers), so replay must not stop on it for ever.  The entry is copied to
        ``<journal>.rejected`` (kept for a person to look at) and the caller marks it handled."""
        try:
            storage.counts(study_id)
        except (StorageError, StudyNotFoundError):
            return False  # the storage is what fails: keep the entry, try again next time
        rejected = path.with_name(path.name + ".rejected")
        with contextlib.suppress(OSError), open(rejected, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(entry), default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        note(
            f"journal: the result of trial {entry.get('number')} cannot be stored and was moved "
            f"to {rejected}"
        )
        return True

    @staticmethod
    def _store(storage: BaseStorage, study_id: int, e: Mapping[str, Any]) -> tuple[bool, str]:
        try:
            tid, state, value = int(e["trial_id"]), TrialState(e["state"]), e.get("value")
        except (KeyError, TypeError, ValueError):
            return False, "malformed journal entry"
        try:
            trial = storage.get_trial(tid)
        except StorageError:
            storage.counts(study_id)  # raises if the storage is what fails
            return False, "the trial is no longer in the storage"
        if e.get("number") is not None and (
            trial.number != e["number"] or dict(trial.params) != e.get("params")
        ):
            return False, "the storage has a different trial under that id"
        if trial.state is state and trial.worker == e.get("worker") and trial.value == value:
            return True, "already stored"  # the first write had committed after all
        if trial.state is not TrialState.RUNNING or trial.worker != e.get("worker"):
            return False, f"the trial is {trial.state.value} now (re-queued or finished elsewhere)"
        if e.get("user_attrs"):
            storage.set_trial_user_attrs(tid, e["user_attrs"])
        try:
            done = storage.finish_trial(
                tid,
                worker=e.get("worker"),
                state=state,
                value=value,
                message=e.get("message"),
                stderr=e.get("stderr"),
                system_attrs={**(e.get("system_attrs") or {}), "journaled": True},
                values=e.get("values"),
                constraints=e.get("constraints"),
            )
        except ValueError as err:  # e.g. a COMPLETE entry without a value
            return False, f"malformed journal entry: {err}"
        return (done is not None), "the trial changed meanwhile"
