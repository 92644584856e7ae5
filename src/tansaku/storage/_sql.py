"""SQLAlchemy storage for SQLite (the embedded default) and PostgreSQL (shared studies).

SQLite is opened in WAL mode with ``synchronous=NORMAL`` (a committed result survives the process
being killed; only an OS crash or power loss can lose the last commits) and every write transaction
starts with ``BEGIN IMMEDIATE`` so concurrent processes queue on the lock instead of dead-locking;
lock waits are retried.  PostgreSQL serialises trial creation on the study row.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tansaku._errors import DuplicatedStudyError, StorageError, StudyNotFoundError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space
from tansaku.storage import _schema as S
from tansaku.storage._base import BaseStorage, StudyCounts, StudyInfo

__all__ = ["SQLStorage", "redact_url"]

T = TypeVar("T")

_COUNTER = {
    TrialState.WAITING: "n_waiting",
    TrialState.RUNNING: "n_running",
    TrialState.COMPLETE: "n_complete",
    TrialState.PRUNED: "n_pruned",
    TrialState.FAILED: "n_failed",
}
_TRIAL_COLS = (
    "trial_id, number, state, value, params, start_time, end_time, worker, message, stderr, "
    "last_step, user_attrs, system_attrs"
)
_BUDGET = "(:limit IS NULL OR n_running + n_complete + n_pruned < :limit)"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<storage url>"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        return item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def _transient(exc: BaseException) -> bool:
    """Errors worth retrying: a locked SQLite, a dropped or restarting PostgreSQL connection."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(orig, sqlite3.OperationalError)


class SQLStorage(BaseStorage):
    """Storage in a SQL database given by a SQLAlchemy URL (``sqlite:///path.db``,
    ``postgresql://user:pass@host/db``).

    ``retry_timeout`` bounds how long a locked or unreachable database is retried before a
    :class:`~tansaku.StorageError` is raised.
    """

    def __init__(
        self,
        url: str,
        *,
        retry_timeout: float = 120.0,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._raw_url = url
        self.url = redact_url(url)
        self.retry_timeout = float(retry_timeout)
        u = make_url(url)
        self._password = u.password
        self.dialect = u.get_backend_name()
        kwargs: dict[str, Any] = dict(engine_kwargs or {})
        if self.dialect == "sqlite":
            kwargs.setdefault("connect_args", {"timeout": 30.0, "check_same_thread": False})
            if u.database in (None, "", ":memory:"):
                raise StorageError(
                    "sqlite in-memory URLs are not shareable; use storage=None for memory"
                )
        elif self.dialect == "postgresql":
            if u.drivername == "postgresql":
                try:
                    import psycopg  # noqa: F401
                except ImportError:
                    raise ImportError(
                        "PostgreSQL storage needs psycopg: pip install 'tansaku[postgres]'"
                    ) from None
                u = u.set(drivername="postgresql+psycopg")
            kwargs.setdefault("pool_pre_ping", True)
        else:
            raise StorageError(
                f"unsupported storage URL scheme {u.drivername!r} (use sqlite or postgresql)"
            )
        self._engine: Engine = create_engine(u, **kwargs)
        if self.dialect == "sqlite":
            self._install_sqlite_hooks()
        self._init_schema()

    # ------------------------------------------------------------------ connection handling
    def _install_sqlite_hooks(self) -> None:
        @event.listens_for(self._engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(self._engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("tansaku_write") else "BEGIN")

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.info["tansaku_write"] = write
            with conn.begin():
                yield conn

    def _run(self, fn: Callable[[Connection], T], *, write: bool = True) -> T:
        """Run ``fn`` in one transaction, retrying transient errors until ``retry_timeout``."""
        deadline = time.monotonic() + self.retry_timeout
        delay = 0.01
        while True:
            try:
                with self._tx(write) as conn:
                    return fn(conn)
            except (DBAPIError, sqlite3.OperationalError) as e:
                if (
                    isinstance(e, IntegrityError)
                    or not _transient(e)
                    or time.monotonic() > deadline
                ):
                    raise StorageError(self._describe(e)) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def _describe(self, e: BaseException) -> str:
        orig = getattr(e, "orig", e)
        msg = " ".join(str(orig).split()) or type(orig).__name__
        if self._password:
            msg = msg.replace(self._password, "***")
        return f"storage {self.url}: {msg[:300]}"

    def _init_schema(self) -> None:
        def init(conn: Connection) -> None:
            if self.dialect == "postgresql":  # concurrent first openers: one creates, others wait
                conn.execute(text("SELECT pg_advisory_xact_lock(7316052)"))
            S.meta.create_all(conn, checkfirst=True)
            row = conn.execute(
                select(S.meta_table.c.value).where(S.meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    S.meta_table.insert().values(key="schema_version", value=str(S.SCHEMA_VERSION))
                )
                return
            version = int(row[0])
            if version > S.SCHEMA_VERSION:
                raise StorageError(
                    f"storage {self.url} has schema version {version}, newer than this tansaku "
                    f"understands ({S.SCHEMA_VERSION}); upgrade tansaku"
                )
            while version < S.SCHEMA_VERSION:
                S.MIGRATIONS[version](conn)
                version += 1
            conn.execute(
                S.meta_table.update()
                .where(S.meta_table.c.key == "schema_version")
                .values(value=str(version))
            )

        self._run(init)

    def close(self) -> None:
        self._engine.dispose()

    def after_fork(self) -> None:
        """Forget pooled connections inherited from a parent process."""
        self._engine.dispose(close=False)

    # ------------------------------------------------------------------ row conversion
    @staticmethod
    def _trial(row: Any, intermediate: Mapping[int, float] | None = None) -> FrozenTrial:
        return FrozenTrial(
            trial_id=row[0],
            number=row[1],
            state=TrialState(row[2]),
            value=row[3],
            params=json.loads(row[4]),
            start_time=row[5],
            end_time=row[6],
            worker=row[7],
            message=row[8],
            stderr=row[9],
            last_step=row[10],
            user_attrs=json.loads(row[11]),
            system_attrs=json.loads(row[12]),
            intermediate=intermediate or {},
        )

    def _info(self, row: Any) -> StudyInfo:
        return StudyInfo(
            study_id=row[0],
            name=row[1],
            direction=row[2],
            space=Space.from_dict(json.loads(row[3])),
            sampler=json.loads(row[4]),
            created_at=row[5],
            user_attrs=json.loads(row[6]),
            system_attrs=json.loads(row[7]),
        )

    _STUDY_COLS = "study_id, name, direction, space, sampler, created_at, user_attrs, system_attrs"

    def _read_trial(
        self, conn: Connection, trial_id: int, with_intermediate: bool = False
    ) -> FrozenTrial:
        row = conn.execute(
            text(f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE trial_id = :t"), {"t": trial_id}
        ).first()
        if row is None:
            raise StorageError(f"no trial with id {trial_id} in {self.url}")
        inter = self._reports(conn, [trial_id]).get(trial_id, {}) if with_intermediate else None
        return self._trial(row, inter)

    @staticmethod
    def _reports(conn: Connection, trial_ids: Sequence[int]) -> dict[int, dict[int, float]]:
        out: dict[int, dict[int, float]] = {}
        if not trial_ids:
            return out
        stmt = text(
            "SELECT trial_id, step, value FROM tansaku_reports WHERE trial_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for i in range(0, len(trial_ids), 500):
            for tid, step, value in conn.execute(stmt, {"ids": list(trial_ids[i : i + 500])}):
                out.setdefault(tid, {})[step] = value
        return out

    # ------------------------------------------------------------------ studies
    def create_study(
        self,
        name: str,
        *,
        space: Space,
        direction: str,
        sampler: Mapping[str, Any] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        def create(conn: Connection) -> int:
            exists = conn.execute(
                text("SELECT 1 FROM tansaku_studies WHERE name = :n"), {"n": name}
            ).first()
            if exists:
                raise DuplicatedStudyError(f"a study named {name!r} already exists in {self.url}")
            res = conn.execute(
                S.studies.insert().values(
                    name=name,
                    direction=direction,
                    space=_dumps(space.to_dict()),
                    sampler=_dumps(dict(sampler or {})),
                    created_at=time.time(),
                    user_attrs=_dumps(dict(user_attrs or {})),
                    system_attrs="{}",
                    next_number=0,
                    next_seq=0,
                    n_waiting=0,
                    n_running=0,
                    n_complete=0,
                    n_pruned=0,
                    n_failed=0,
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

        try:
            self._run(create)
        except StorageError as e:
            if "UNIQUE" in str(e).upper() or "duplicate key" in str(e):
                raise DuplicatedStudyError(
                    f"a study named {name!r} already exists in {self.url}"
                ) from None
            raise
        return self.get_study(name)

    def get_study(self, name: str) -> StudyInfo:
        row = self._run(
            lambda c: c.execute(
                text(f"SELECT {self._STUDY_COLS} FROM tansaku_studies WHERE name = :n"), {"n": name}
            ).first(),
            write=False,
        )
        if row is None:
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
        return self._info(row)

    def list_studies(self) -> list[StudyInfo]:
        rows = self._run(
            lambda c: c.execute(
                text(f"SELECT {self._STUDY_COLS} FROM tansaku_studies ORDER BY study_id")
            ).all(),
            write=False,
        )
        return [self._info(r) for r in rows]

    def delete_study(self, name: str) -> None:
        def delete(conn: Connection) -> int:
            sid = conn.execute(
                text("SELECT study_id FROM tansaku_studies WHERE name = :n"), {"n": name}
            ).scalar()
            if sid is None:
                return 0
            conn.execute(
                text(
                    "DELETE FROM tansaku_reports WHERE trial_id IN "
                    "(SELECT trial_id FROM tansaku_trials WHERE study_id = :s)"
                ),
                {"s": sid},
            )
            conn.execute(text("DELETE FROM tansaku_trials WHERE study_id = :s"), {"s": sid})
            conn.execute(text("DELETE FROM tansaku_studies WHERE study_id = :s"), {"s": sid})
            return 1

        if not self._run(delete):
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")

    def _merge_attrs(
        self, table: str, key_col: str, column: str, key: int, attrs: Mapping[str, Any]
    ) -> None:
        def merge(conn: Connection) -> None:
            cur = conn.execute(
                text(f"SELECT {column} FROM {table} WHERE {key_col} = :k"), {"k": key}
            ).scalar()
            if cur is None:
                raise StorageError(f"no row {key} in {table}")
            conn.execute(
                text(f"UPDATE {table} SET {column} = :v WHERE {key_col} = :k"),
                {"v": _dumps({**json.loads(cur), **attrs}), "k": key},
            )

        self._run(merge)

    def set_study_system_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_studies", "study_id", "system_attrs", study_id, attrs)

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_studies", "study_id", "user_attrs", study_id, attrs)

    def counts(self, study_id: int) -> StudyCounts:
        row = self._run(
            lambda c: c.execute(
                text(
                    "SELECT n_waiting, n_running, n_complete, n_pruned, n_failed FROM tansaku_studies "
                    "WHERE study_id = :s"
                ),
                {"s": study_id},
            ).first(),
            write=False,
        )
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
        return StudyCounts(*row)

    # ------------------------------------------------------------------ creating / claiming
    def _insert_trial(
        self,
        conn: Connection,
        study_id: int,
        state: TrialState,
        params: Mapping[str, Any],
        worker: str | None,
        system_attrs: Mapping[str, Any] | None,
        limit: int | None,
    ) -> FrozenTrial | None:
        col = _COUNTER[state]
        res = conn.execute(
            text(
                f"UPDATE tansaku_studies SET next_number = next_number + 1, {col} = {col} + 1 "
                f"WHERE study_id = :s AND {_BUDGET}"
            ),
            {"s": study_id, "limit": limit},
        )
        if res.rowcount == 0:
            if (
                conn.execute(
                    text("SELECT 1 FROM tansaku_studies WHERE study_id = :s"), {"s": study_id}
                ).first()
                is None
            ):
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            return None
        number = (
            int(
                conn.execute(
                    text("SELECT next_number FROM tansaku_studies WHERE study_id = :s"),
                    {"s": study_id},
                ).scalar_one()
            )
            - 1
        )
        now = time.time()
        running = state is TrialState.RUNNING
        res = conn.execute(
            S.trials.insert().values(
                study_id=study_id,
                number=number,
                state=state.value,
                params=_dumps(dict(params)),
                start_time=now if running else None,
                worker=worker,
                heartbeat=now if running else None,
                attempts=1 if running else 0,
                user_attrs="{}",
                system_attrs=_dumps(dict(system_attrs or {})),
            )
        )
        tid = int(res.inserted_primary_key[0])  # type: ignore[index]
        return FrozenTrial(
            number=number,
            state=state,
            params=dict(params),
            start_time=now if running else None,
            worker=worker,
            system_attrs=dict(system_attrs or {}),
            trial_id=tid,
        )

    def enqueue_trial(
        self,
        study_id: int,
        params: Mapping[str, Any],
        *,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        out = self._run(
            lambda c: self._insert_trial(
                c, study_id, TrialState.WAITING, params, None, system_attrs, None
            )
        )
        assert out is not None
        return out

    def start_trial(
        self,
        study_id: int,
        params: Mapping[str, Any],
        *,
        worker: str,
        system_attrs: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> FrozenTrial | None:
        return self._run(
            lambda c: self._insert_trial(
                c, study_id, TrialState.RUNNING, params, worker, system_attrs, limit
            )
        )

    def claim_waiting(
        self, study_id: int, *, worker: str, limit: int | None = None
    ) -> FrozenTrial | None:
        def claim(conn: Connection) -> FrozenTrial | None:
            res = conn.execute(
                text(
                    "UPDATE tansaku_studies SET n_waiting = n_waiting - 1, n_running = n_running + 1 "
                    f"WHERE study_id = :s AND n_waiting > 0 AND {_BUDGET}"
                ),
                {"s": study_id, "limit": limit},
            )
            if res.rowcount == 0:
                return None
            tid = conn.execute(
                text(
                    "SELECT trial_id FROM tansaku_trials WHERE study_id = :s AND "
                    "state = 'waiting' ORDER BY number LIMIT 1"
                ),
                {"s": study_id},
            ).scalar()
            if tid is None:  # counters out of step would be a bug; undo and report nothing
                raise StorageError(
                    f"study {study_id}: waiting counter is positive but no trial waits"
                )
            now = time.time()
            conn.execute(
                text(
                    "UPDATE tansaku_trials SET state = 'running', worker = :w, start_time = :t, heartbeat = :t, "
                    "end_time = NULL, attempts = attempts + 1 WHERE trial_id = :id"
                ),
                {"w": worker, "t": now, "id": tid},
            )
            return self._read_trial(conn, tid)

        return self._run(claim)

    # ------------------------------------------------------------------ updating
    def _transition(
        self,
        conn: Connection,
        trial_id: int,
        worker: str | None,
        to: TrialState,
        sets: str,
        params: dict[str, Any],
    ) -> bool:
        """Move a RUNNING trial (owned by ``worker`` when given) to ``to``, keeping counters right."""
        row = conn.execute(
            text("SELECT study_id, state, worker FROM tansaku_trials WHERE trial_id = :t"),
            {"t": trial_id},
        ).first()
        if row is None:
            raise StorageError(f"no trial with id {trial_id} in {self.url}")
        sid, state, owner = row
        if state != TrialState.RUNNING.value or (worker is not None and owner != worker):
            return False
        col = _COUNTER[to]
        seq_sql = ", next_seq = next_seq + 1" if to.is_finished else ""
        conn.execute(
            text(
                f"UPDATE tansaku_studies SET n_running = n_running - 1, {col} = {col} + 1"
                f"{seq_sql} WHERE study_id = :s"
            ),
            {"s": sid},
        )
        if to.is_finished:
            params["seq"] = conn.execute(
                text("SELECT next_seq FROM tansaku_studies WHERE study_id = :s"), {"s": sid}
            ).scalar_one()
            sets += ", finish_seq = :seq"
        conn.execute(
            text(f"UPDATE tansaku_trials SET state = :state, {sets} WHERE trial_id = :t"),
            {**params, "state": to.value, "t": trial_id},
        )
        return True

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
    ) -> FrozenTrial | None:
        if not state.is_finished:
            raise ValueError(f"finish_trial needs a finished state, got {state}")
        if state is TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            raise ValueError("a COMPLETE trial needs a finite value")

        def finish(conn: Connection) -> FrozenTrial | None:
            sets = "value = :v, message = :m, stderr = :e, end_time = :now"
            params: dict[str, Any] = {"v": value, "m": message, "e": stderr, "now": time.time()}
            if system_attrs:
                cur = conn.execute(
                    text("SELECT system_attrs FROM tansaku_trials WHERE trial_id = :t"),
                    {"t": trial_id},
                ).scalar()
                params["sa"] = _dumps({**json.loads(cur or "{}"), **system_attrs})
                sets += ", system_attrs = :sa"
            if not self._transition(conn, trial_id, worker, state, sets, params):
                return None
            return self._read_trial(conn, trial_id)

        return self._run(finish)

    def release_trial(self, trial_id: int, *, worker: str, count_attempt: bool = False) -> bool:
        sets = "worker = NULL, start_time = NULL" + (
            "" if count_attempt else ", attempts = attempts - 1"
        )
        return self._run(
            lambda c: self._transition(c, trial_id, worker, TrialState.WAITING, sets, {})
        )

    def report(self, trial_id: int, step: int, value: float) -> None:
        def rep(conn: Connection) -> None:
            p = {"t": trial_id, "s": int(step), "v": float(value), "now": time.time()}
            conn.execute(text("DELETE FROM tansaku_reports WHERE trial_id = :t AND step = :s"), p)
            conn.execute(
                text(
                    "INSERT INTO tansaku_reports (trial_id, step, value, time) "
                    "VALUES (:t, :s, :v, :now)"
                ),
                p,
            )
            conn.execute(
                text(
                    "UPDATE tansaku_trials SET last_step = :s WHERE trial_id = :t AND "
                    "(last_step IS NULL OR last_step < :s)"
                ),
                p,
            )

        self._run(rep)

    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_trials", "trial_id", "user_attrs", trial_id, attrs)

    def set_trial_system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_trials", "trial_id", "system_attrs", trial_id, attrs)

    def heartbeat(self, trial_ids: Iterable[int], *, worker: str) -> None:
        ids = list(trial_ids)
        if not ids:
            return
        stmt = text(
            "UPDATE tansaku_trials SET heartbeat = :now WHERE worker = :w AND state = 'running' "
            "AND trial_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        self._run(lambda c: c.execute(stmt, {"now": time.time(), "w": worker, "ids": ids}))

    def _reclaim_rows(
        self,
        conn: Connection,
        rows: Sequence[Any],
        requeue: bool,
        max_attempts: int,
        why: Callable[[Any], str],
    ) -> list[FrozenTrial]:
        out = []
        for row in rows:
            tid, attempts, sa = row[0], row[1], row[2]
            reason = why(row)
            if requeue and attempts < max_attempts:
                attrs = _dumps({**json.loads(sa or "{}"), "requeued": reason})
                ok = self._transition(
                    conn,
                    tid,
                    None,
                    TrialState.WAITING,
                    "worker = NULL, start_time = NULL, system_attrs = :sa",
                    {"sa": attrs},
                )
            else:
                ok = self._transition(
                    conn,
                    tid,
                    None,
                    TrialState.FAILED,
                    "message = :m, end_time = :now",
                    {"m": reason, "now": time.time()},
                )
            if ok:
                out.append(self._read_trial(conn, tid))
        return out

    def reclaim_stale(
        self, study_id: int, *, grace: float, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        def reclaim(conn: Connection) -> list[FrozenTrial]:
            now = time.time()
            rows = conn.execute(
                text(
                    "SELECT trial_id, attempts, system_attrs, worker, heartbeat FROM tansaku_trials "
                    "WHERE study_id = :s AND state = 'running' AND heartbeat < :cut AND worker NOT LIKE 'manual@%'"
                ),
                {"s": study_id, "cut": now - grace},
            ).all()
            return self._reclaim_rows(
                conn,
                rows,
                requeue,
                max_attempts,
                lambda r: f"lost: worker {r[3]} sent no heartbeat for {now - (r[4] or now):.0f} s",
            )

        return self._run(reclaim)

    def reclaim_worker_trials(
        self, study_id: int, workers: Sequence[str], *, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        if not workers:
            return []
        stmt = text(
            "SELECT trial_id, attempts, system_attrs, worker FROM tansaku_trials WHERE "
            "study_id = :s AND state = 'running' AND worker IN :w"
        ).bindparams(bindparam("w", expanding=True))

        def reclaim(conn: Connection) -> list[FrozenTrial]:
            rows = conn.execute(stmt, {"s": study_id, "w": list(workers)}).all()
            return self._reclaim_rows(
                conn, rows, requeue, max_attempts, lambda r: f"lost: worker {r[3]} died"
            )

        return self._run(reclaim)

    # ------------------------------------------------------------------ reading
    def get_trial(self, trial_id: int, *, with_intermediate: bool = False) -> FrozenTrial:
        return self._run(lambda c: self._read_trial(c, trial_id, with_intermediate), write=False)

    def get_trial_by_number(
        self, study_id: int, number: int, *, with_intermediate: bool = False
    ) -> FrozenTrial:
        def read(conn: Connection) -> FrozenTrial:
            tid = conn.execute(
                text("SELECT trial_id FROM tansaku_trials WHERE study_id = :s AND number = :n"),
                {"s": study_id, "n": number},
            ).scalar()
            if tid is None:
                raise StorageError(f"study {study_id} has no trial number {number} in {self.url}")
            return self._read_trial(conn, tid, with_intermediate)

        return self._run(read, write=False)

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
        where = "study_id = :s"
        params: dict[str, Any] = {"s": study_id}
        if states is not None:
            params["states"] = [TrialState(s).value for s in states]
            where += " AND state IN :states"
        order_by = "finish_seq" if order == "finish" else "number"
        if order == "finish":
            where += " AND finish_seq IS NOT NULL"
        sql = f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE {where} ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            sql += (
                f" LIMIT -1 OFFSET {int(offset)}"
                if self.dialect == "sqlite"
                else f" OFFSET {int(offset)}"
            )
        stmt = text(sql)
        if states is not None:
            stmt = stmt.bindparams(bindparam("states", expanding=True))

        def read(conn: Connection) -> list[FrozenTrial]:
            rows = conn.execute(stmt, params).all()
            inter = self._reports(conn, [r[0] for r in rows]) if with_intermediate else {}
            return [self._trial(r, inter.get(r[0], {})) for r in rows]

        return self._run(read, write=False)

    def finished_since(self, study_id: int, seq: int) -> tuple[list[FrozenTrial], int]:
        def read(conn: Connection) -> tuple[list[FrozenTrial], int]:
            rows = conn.execute(
                text(
                    f"SELECT {_TRIAL_COLS}, finish_seq FROM tansaku_trials WHERE study_id = :s AND "
                    "finish_seq > :q ORDER BY finish_seq"
                ),
                {"s": study_id, "q": seq},
            ).all()
            return [self._trial(r) for r in rows], (rows[-1][-1] if rows else seq)

        return self._run(read, write=False)

    def pending_trials(self, study_id: int) -> list[FrozenTrial]:
        return self._run(
            lambda c: [
                self._trial(r)
                for r in c.execute(
                    text(
                        f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE study_id = :s AND state IN ('running', 'waiting') "
                        "ORDER BY number"
                    ),
                    {"s": study_id},
                )
            ],
            write=False,
        )

    def best_trial(self, study_id: int, direction: str) -> FrozenTrial | None:
        order = "DESC" if direction == "maximize" else "ASC"
        row = self._run(
            lambda c: c.execute(
                text(
                    f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE study_id = :s AND state = 'complete' "
                    f"AND value IS NOT NULL ORDER BY value {order}, number ASC LIMIT 1"
                ),
                {"s": study_id},
            ).first(),
            write=False,
        )
        return None if row is None else self._trial(row)

    def intermediate_values(
        self, study_id: int, step: int | None = None
    ) -> dict[int, dict[int, float]]:
        sql = (
            "SELECT t.number, r.step, r.value FROM tansaku_reports r JOIN tansaku_trials t "
            "ON r.trial_id = t.trial_id WHERE t.study_id = :s"
        )
        params: dict[str, Any] = {"s": study_id}
        if step is not None:
            sql += " AND r.step = :step"
            params["step"] = step

        def read(conn: Connection) -> dict[int, dict[int, float]]:
            out: dict[int, dict[int, float]] = {}
            for number, st, value in conn.execute(text(sql), params):
                out.setdefault(number, {})[st] = value
            return out

        return self._run(read, write=False)
