"""SQLAlchemy storage for SQLite (the embedded default) and PostgreSQL (shared studies).

SQLite is opened in WAL mode with ``synchronous=NORMAL`` (a committed result survives the process
being killed; only an OS crash or power loss can lose the last commits) and every write transaction
starts with ``BEGIN IMMEDIATE`` so concurrent processes queue on the lock instead of dead-locking;
lock waits are retried.  PostgreSQL serialises trial creation on the study row.

SQLAlchemy provides the engine (URL, driver, connection pool with pre-ping on PostgreSQL) and
creates and migrates the schema.  The storage methods themselves speak plain SQL (``:name``
parameters) to the pooled driver connection in transactions of their own (:meth:`SQLStorage._tx`):
on a trial's life cycle SQLAlchemy's per-statement and per-transaction machinery cost several times
what SQLite itself spends, and every trial pays it a dozen times.
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import PoolProxiedConnection

try:
    import fcntl
except ImportError:  # not POSIX: SQLite studies are then shared by the threads of one process only
    fcntl = None  # type: ignore[assignment]

from tansaku._errors import DuplicatedStudyError, StorageError, StudyNotFoundError
from tansaku._records import FrozenTrial, TrialState, constraint_violation
from tansaku._space import Space
from tansaku.storage import _schema as S
from tansaku.storage._asklock import BoundedWait, Holder, holder_stamp, read_stamp
from tansaku.storage._base import (
    UNCOUNTED_ATTR,
    BaseStorage,
    ExportRow,
    StudyCounts,
    StudyInfo,
)
from tansaku.storage._dialect import Dialect
from tansaku.storage._requests import Finish, NewStudy, NewTrial, TrialQuery
from tansaku.storage._sqlutil import (
    Result,
    authority,
    dumps,
    in_list,
    redact_url,
    storable,
    transient,
    url_secrets,
)

__all__ = ["SQLStorage", "redact_url"]

T = TypeVar("T")
_Conn = PoolProxiedConnection  # a pooled driver connection inside SQLStorage._tx

_COUNTER = {
    TrialState.WAITING: "n_waiting",
    TrialState.RUNNING: "n_running",
    TrialState.COMPLETE: "n_complete",
    TrialState.PRUNED: "n_pruned",
    TrialState.FAILED: "n_failed",
}
_TRIAL_COLS = (
    "trial_id, number, state, value, params, start_time, end_time, worker, message, stderr, "
    "last_step, user_attrs, system_attrs, objective_values, constraints"
)

_IMPORT_WORKER = "tansaku-import"  # owns an imported trial for the instant of its insert
_ASK_LOCK_KEY = 7316053  # first key of the per-study advisory lock (the second is the study id)


def _holder_name() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _budget(limit: int | None) -> str:
    """The budget condition of a reserving UPDATE.  Omitted rather than ``:limit IS NULL OR ...``:
    PostgreSQL cannot type a parameter that is only compared with NULL."""
    return "" if limit is None else " AND n_running + n_complete + n_pruned < :limit"


def _vector_params(
    values: Sequence[float] | None, constraints: Mapping[str, float] | None
) -> dict[str, Any]:
    """The ``:ov``, ``:c`` and ``:vi`` parameters of a finished trial's objective vector (kept
    only with several objectives), constraints and total violation."""
    cons = {str(k): float(v) for k, v in (constraints or {}).items()}
    return {
        "ov": dumps([float(v) for v in values]) if values is not None and len(values) > 1 else None,
        "c": dumps(cons) if cons else None,
        # inf (a nan constraint) as a large number: PostgreSQL and SQLite both keep it
        "vi": min(constraint_violation(cons), 1e300) if cons else None,
    }


class SQLStorage(BaseStorage):
    """Storage in a SQL database given by a SQLAlchemy URL (``sqlite:///path.db``,
    ``postgresql://user:pass@host/db``).

    ``retry_timeout`` bounds how long a locked or unreachable database is retried before a
    :class:`~tansaku.StorageError` is raised.  ``ask_lock_timeout`` bounds how long a worker
    waits for another worker's ask lock before it proposes without it
    (:mod:`tansaku.storage._asklock`).
    """

    def __init__(
        self,
        url: str,
        *,
        retry_timeout: float = 120.0,
        ask_lock_timeout: float = 60.0,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self._raw_url = url
        self.url = redact_url(url)
        self.retry_timeout = float(retry_timeout)
        self._ask_wait = BoundedWait(ask_lock_timeout)
        if authority(url).count("@") > 1:  # would be split at the wrong '@', leaking the rest
            raise StorageError(
                f"invalid storage URL {self.url}: write '@' in a user name or password as %40"
            )
        try:
            u = make_url(url)
            u.port  # noqa: B018 - a bad port raises here, not later with the URL in a traceback
        except Exception as e:
            raise StorageError(f"invalid storage URL {self.url}: {type(e).__name__}") from None
        self._secrets = url_secrets(url)  # kept out of every error message
        self._dialect, u, kwargs = Dialect.engine_args(u, engine_kwargs, self.retry_timeout)
        self.dialect = self._dialect.name
        try:
            self._engine: Engine = create_engine(u, **kwargs)
        except Exception as e:  # e.g. an unknown driver (postgresql+nosuch://)
            raise StorageError(
                f"cannot use storage {self.url}: {type(e).__name__}: {self._describe(e, bare=True)}"
            ) from None
        self._returning = self._dialect.returning
        self._dbapi: Any = self._engine.dialect.loaded_dbapi
        self._native = self._dialect.native
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
        def _on_begin(conn: Connection) -> None:  # SQLAlchemy transactions: schema set-up only
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @contextmanager
    def _tx(self, write: bool) -> Iterator[_Conn]:
        """One transaction on a pooled driver connection: committed when the block ends, rolled
        back on any exception (a connection that cannot even roll back is dropped from the pool)."""
        conn = self._engine.raw_connection()
        try:
            try:
                begin = self._dialect.begin(write)
                if begin is not None:
                    conn.cursor().execute(begin)
                yield conn
                conn.commit()
            except BaseException:
                try:
                    conn.rollback()
                except Exception:
                    conn.invalidate()
                raise
        finally:
            conn.close()  # back to the pool

    @contextmanager
    def _sa_tx(self, write: bool) -> Iterator[Connection]:
        """A SQLAlchemy transaction, for the schema (create_all, migrations)."""
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def _run(
        self,
        fn: Callable[[Any], T],
        *,
        write: bool = True,
        tx: Callable[[bool], AbstractContextManager[Any]] | None = None,
    ) -> T:
        """Run ``fn(conn)`` in one transaction (:meth:`_tx` unless ``tx`` is given), retrying
        transient errors until ``retry_timeout``."""
        deadline = time.monotonic() + self.retry_timeout
        delay = 0.01
        while True:
            try:
                with (tx or self._tx)(write) as conn:
                    return fn(conn)
            except (DBAPIError, sqlite3.Error, self._dbapi.Error) as e:
                if isinstance(
                    e, (IntegrityError, sqlite3.IntegrityError, self._dbapi.IntegrityError)
                ) or not transient(e, self._dbapi):
                    raise StorageError(self._describe(e)) from None
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"{self._describe(e)} (still failing after retrying for "
                        f"{self.retry_timeout:g} s)"
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def _q(self, conn: _Conn, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run one statement (``:name`` parameters) in the transaction of ``conn``.  Our columns
        need no type conversion, so the driver's rows are used as they come."""
        cur = conn.cursor()
        try:
            cur.execute(self._native(sql), storable(params) if params else {})
            rows = cur.fetchall() if cur.description is not None else []
            return Result(rows, cur.rowcount, getattr(cur, "lastrowid", None))
        finally:
            cur.close()

    def _describe(self, e: BaseException, *, bare: bool = False) -> str:
        """``storage <redacted url>: <the error, one line>`` (``bare``: the error alone), with
        every credential of the URL blanked out of the driver's text."""
        orig = getattr(e, "orig", e)
        msg = " ".join(str(orig).split()) or type(orig).__name__
        for form in self._secrets:  # the password and secret query values, in every spelling
            msg = msg.replace(form, "***")
        return msg[:300] if bare else f"storage {self.url}: {msg[:300]}"

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

        self._run(init, tx=self._sa_tx)

    @property
    def ask_lock_timeout(self) -> float:
        """Seconds a worker waits for another's ask lock before proposing without it."""
        return self._ask_wait.timeout

    @ask_lock_timeout.setter
    def ask_lock_timeout(self, seconds: float) -> None:
        self._ask_wait.timeout = float(seconds)

    @contextmanager
    def ask_lock(self, study_id: int) -> Iterator[None]:
        """Across processes: a PostgreSQL advisory lock (released with its transaction, or by the
        server if this process dies), or for SQLite an exclusive ``flock`` on ``<db>.lock``.
        Waited for at most :attr:`ask_lock_timeout` seconds, then the trial is proposed without
        it (see :mod:`tansaku.storage._asklock`; the budget stays exact)."""
        with super().ask_lock(study_id):  # threads of this process queue here first
            if self._dialect.advisory_ask_lock:
                with self._pg_ask_lock(study_id):
                    yield
            elif fcntl is not None:
                with self._sqlite_ask_lock(study_id):
                    yield
            else:
                yield

    @contextmanager
    def _sqlite_ask_lock(self, study_id: int) -> Iterator[None]:
        path = make_url(self._raw_url).database
        assert path and fcntl is not None
        with open(f"{path}.lock", "a+b", buffering=0) as f:
            fd = f.fileno()

            def try_once() -> bool:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            def holder() -> Holder | None:
                return read_stamp(os.pread(fd, 4096, 0).decode("utf-8", "replace"))

            if not self._ask_wait.acquire(study_id, try_once, holder):
                yield
                return
            try:
                with suppress(OSError):  # the stamp only names us to a waiter
                    os.ftruncate(fd, 0)
                    os.write(fd, holder_stamp().encode())
                yield
            finally:
                with suppress(OSError):
                    os.ftruncate(fd, 0)  # no stale name for the next holder's first instant
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _pg_begin(self) -> tuple[Connection, Any]:
        """A connection in a transaction, retried like every statement until ``retry_timeout``."""
        deadline = time.monotonic() + self.retry_timeout
        while True:
            try:
                conn = self._engine.connect()
                try:
                    return conn, conn.begin()
                except BaseException:
                    conn.close()
                    raise
            except (DBAPIError, sqlite3.OperationalError) as e:
                if not transient(e, self._dbapi) or time.monotonic() > deadline:
                    raise StorageError(self._describe(e)) from None
                time.sleep(0.5)

    @contextmanager
    def _pg_ask_lock(self, study_id: int) -> Iterator[None]:
        conn, tx = self._pg_begin()
        key = {"k": _ASK_LOCK_KEY, "s": study_id, "n": f"tansaku {_holder_name()}"}

        def try_once() -> bool:
            nonlocal conn, tx
            try:
                # the transaction-local application_name names the holder to a waiter
                return bool(
                    conn.execute(
                        text(
                            "SELECT pg_try_advisory_xact_lock(:k, :s), "
                            "set_config('application_name', :n, true)"
                        ),
                        key,
                    ).scalar()
                )
            except (DBAPIError, sqlite3.OperationalError) as e:
                conn.close()
                if not transient(e, self._dbapi):
                    raise StorageError(self._describe(e)) from None
                conn, tx = self._pg_begin()
                return False

        def holder() -> Holder | None:
            with suppress(Exception):
                with self._engine.connect() as c:
                    row = c.execute(
                        text(
                            "SELECT a.pid, a.application_name, host(a.client_addr), "
                            "a.xact_start, extract(epoch FROM now() - a.xact_start) "
                            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                            "AND l.classid::bigint = :k AND l.objid::bigint = :s"
                        ),
                        key,
                    ).first()
                if row is not None:
                    who = row[1] or "a session"
                    where = f", client {row[2]}" if row[2] else ""
                    held = f", holding it for {float(row[4]):.0f} s" if row[4] is not None else ""
                    return Holder(f"{row[0]}@{row[3]}", f"{who} (server pid {row[0]}{where}){held}")
            return None

        try:
            got = self._ask_wait.acquire(study_id, try_once, holder)
        except BaseException:
            conn.close()
            raise
        try:
            if not got:
                with suppress(Exception):
                    tx.rollback()
                conn.close()
            yield
        finally:
            if got:
                with suppress(Exception):
                    tx.rollback()  # releases the lock; nothing was written in it
                conn.close()

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
            values=tuple(json.loads(row[13])) if row[13] else None,
            constraints=json.loads(row[14]) if row[14] else {},
        )

    def _info(self, row: Any) -> StudyInfo:
        return StudyInfo(
            study_id=row[0],
            name=row[1],
            direction=row[2],
            space=Space.from_dict(json.loads(row[3]), allow_empty=True),
            sampler=json.loads(row[4]),
            created_at=row[5],
            user_attrs=json.loads(row[6]),
            system_attrs=json.loads(row[7]),
            directions=tuple(json.loads(row[8])) if row[8] else (),
            objective_names=tuple(json.loads(row[9])) if row[9] else (),
        )

    _STUDY_COLS = (
        "study_id, name, direction, space, sampler, created_at, user_attrs, system_attrs, "
        "directions, objective_names"
    )

    def _read_trial(
        self, conn: _Conn, trial_id: int, with_intermediate: bool = False
    ) -> FrozenTrial:
        row = self._q(
            conn, f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE trial_id = :t", {"t": trial_id}
        ).first()
        if row is None:
            raise StorageError(f"no trial with id {trial_id} in {self.url}")
        inter = self._reports(conn, [trial_id]).get(trial_id, {}) if with_intermediate else None
        return self._trial(row, inter)

    def _update(
        self, conn: _Conn, update: str, returning: str, reread: str, params: Mapping[str, Any]
    ) -> Any:
        """Run ``update`` and return the ``returning`` columns of the row it changed (None when no
        row matched): with RETURNING in one statement, else by running ``reread`` after it."""
        if self._returning:
            return self._q(conn, f"{update} RETURNING {returning}", params).first()
        if self._q(conn, update, params).rowcount == 0:
            return None
        return self._q(conn, reread, params).first()

    def _reports(self, conn: _Conn, trial_ids: Sequence[int]) -> dict[int, dict[int, float]]:
        out: dict[int, dict[int, float]] = {}
        for i in range(0, len(trial_ids), 500):
            p: dict[str, Any] = {}
            ids = in_list("i", trial_ids[i : i + 500], p)
            sql = f"SELECT trial_id, step, value FROM tansaku_reports WHERE trial_id IN {ids}"
            for tid, step, value in self._q(conn, sql, p):
                out.setdefault(tid, {})[step] = value
        return out

    # ------------------------------------------------------------------ studies
    def _create_study(self, new: NewStudy) -> StudyInfo:
        name = new.name

        def create(conn: _Conn) -> None:
            exists = self._q(
                conn, "SELECT 1 FROM tansaku_studies WHERE name = :n", {"n": name}
            ).first()
            if exists:
                raise DuplicatedStudyError(f"a study named {name!r} already exists in {self.url}")
            self._q(
                conn,
                "INSERT INTO tansaku_studies (name, direction, space, sampler, created_at, "
                "user_attrs, system_attrs, next_number, next_seq, n_waiting, n_running, "
                "n_complete, n_pruned, n_failed, directions, objective_names) "
                "VALUES (:n, :d, :sp, :sa, :t, :ua, '{}', 0, 0, 0, 0, 0, 0, 0, :ds, :on)",
                {
                    "n": name,
                    "d": new.direction,
                    "sp": dumps(new.space.to_dict()),
                    "sa": dumps(new.sampler),
                    "t": time.time(),
                    "ua": dumps(new.user_attrs),
                    "ds": dumps(list(new.directions)) if new.directions else None,
                    "on": dumps(list(new.objective_names)) if new.objective_names else None,
                },
            )

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
            lambda c: self._q(
                c, f"SELECT {self._STUDY_COLS} FROM tansaku_studies WHERE name = :n", {"n": name}
            ).first(),
            write=False,
        )
        if row is None:
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
        return self._info(row)

    def list_studies(self) -> list[StudyInfo]:
        rows = self._run(
            lambda c: (
                self._q(c, f"SELECT {self._STUDY_COLS} FROM tansaku_studies ORDER BY study_id").rows
            ),
            write=False,
        )
        return [self._info(r) for r in rows]

    def delete_study(self, name: str) -> None:
        def delete(conn: _Conn) -> int:
            sid = self._q(
                conn, "SELECT study_id FROM tansaku_studies WHERE name = :n", {"n": name}
            ).scalar()
            if sid is None:
                return 0
            self._q(
                conn,
                "DELETE FROM tansaku_reports WHERE trial_id IN "
                "(SELECT trial_id FROM tansaku_trials WHERE study_id = :s)",
                {"s": sid},
            )
            self._q(conn, "DELETE FROM tansaku_trials WHERE study_id = :s", {"s": sid})
            self._q(conn, "DELETE FROM tansaku_studies WHERE study_id = :s", {"s": sid})
            return 1

        if not self._run(delete):
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")

    def _merge_attrs(
        self, table: str, key_col: str, column: str, key: int, attrs: Mapping[str, Any]
    ) -> None:
        def merge(conn: _Conn) -> None:
            lock = self._dialect.for_update  # no lost merges
            cur = self._q(
                conn, f"SELECT {column} FROM {table} WHERE {key_col} = :k{lock}", {"k": key}
            ).scalar()
            if cur is None:
                raise StorageError(f"no row {key} in {table}")
            self._q(
                conn,
                f"UPDATE {table} SET {column} = :v WHERE {key_col} = :k",
                {"v": dumps({**json.loads(cur), **attrs}), "k": key},
            )

        self._run(merge)

    def set_study_system_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_studies", "study_id", "system_attrs", study_id, attrs)

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_studies", "study_id", "user_attrs", study_id, attrs)

    def counts(self, study_id: int) -> StudyCounts:
        row = self._run(
            lambda c: self._q(
                c,
                "SELECT n_waiting, n_running, n_complete, n_pruned, n_failed FROM tansaku_studies "
                "WHERE study_id = :s",
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
        conn: _Conn,
        study_id: int,
        state: TrialState,
        params: Mapping[str, Any],
        worker: str | None,
        system_attrs: Mapping[str, Any] | None,
        limit: int | None,
    ) -> FrozenTrial | None:
        col = _COUNTER[state]
        p = {"s": study_id, "limit": limit}
        row = self._update(
            conn,
            f"UPDATE tansaku_studies SET next_number = next_number + 1, {col} = {col} + 1 "
            f"WHERE study_id = :s{_budget(limit)}",
            "next_number",
            "SELECT next_number FROM tansaku_studies WHERE study_id = :s",
            p,
        )
        if row is None:
            if self._q(conn, "SELECT 1 FROM tansaku_studies WHERE study_id = :s", p).first():
                return None
            raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
        number = int(row[0]) - 1
        now = time.time()
        running = state is TrialState.RUNNING
        sa = dict(system_attrs or {})
        values = {
            "s": study_id,
            "n": number,
            "st": state.value,
            "p": dumps(dict(params)),
            "t": now if running else None,
            "w": worker,
            "a": 1 if running else 0,
            "sa": dumps(sa) if sa else "{}",
        }
        insert = (
            "INSERT INTO tansaku_trials (study_id, number, state, params, start_time, worker, "
            "heartbeat, attempts, user_attrs, system_attrs) "
            "VALUES (:s, :n, :st, :p, :t, :w, :t, :a, '{}', :sa)"
        )
        if self._returning:
            tid = self._q(conn, f"{insert} RETURNING trial_id", values).scalar()
        else:  # only SQLite lacks RETURNING, and it has lastrowid
            tid = self._q(conn, insert, values).lastrowid
        if tid is None:
            raise StorageError(f"{self.url} did not return the new trial's id")
        return FrozenTrial(
            number=number,
            state=state,
            params=dict(params),
            start_time=now if running else None,
            worker=worker,
            system_attrs=sa,
            trial_id=int(tid),
        )

    def _new_trial(self, new: NewTrial) -> FrozenTrial | None:
        return self._run(
            lambda c: self._insert_trial(
                c, new.study_id, new.state, new.params, new.worker, new.system_attrs, new.limit
            )
        )

    def add_trials(
        self, study_id: int, trials: Sequence[FrozenTrial], *, uncounted: int = 0
    ) -> list[FrozenTrial]:
        for t in trials:
            if not t.state.is_finished:
                raise ValueError(f"add_trials needs finished trials, got {t.state}")
            if t.state is TrialState.COMPLETE and (t.value is None or not math.isfinite(t.value)):
                raise ValueError("a COMPLETE trial needs a finite value")

        def add(conn: _Conn) -> list[FrozenTrial]:
            out: list[FrozenTrial] = []
            for t in trials:
                new = self._insert_trial(
                    conn,
                    study_id,
                    TrialState.RUNNING,
                    t.params,
                    _IMPORT_WORKER,
                    t.system_attrs,
                    None,
                )
                assert new is not None
                now = time.time()
                p = {"t": new.trial_id, "now": now}
                for step, value in sorted(t.intermediate.items()):
                    self._q(
                        conn,
                        "INSERT INTO tansaku_reports (trial_id, step, value, time) "
                        "VALUES (:t, :s, :v, :now)",
                        {**p, "s": int(step), "v": float(value)},
                    )
                self._q(
                    conn,
                    "UPDATE tansaku_trials SET user_attrs = :ua, start_time = :st, "
                    "last_step = :ls WHERE trial_id = :t",
                    {
                        **p,
                        "ua": dumps(dict(t.user_attrs)) if t.user_attrs else "{}",
                        "st": now if t.start_time is None else t.start_time,
                        "ls": max(t.intermediate) if t.intermediate else None,
                    },
                )
                done = self._transition(
                    conn,
                    new.trial_id,
                    _IMPORT_WORKER,
                    t.state,
                    "value = :v, message = :m, stderr = :e, end_time = :et, worker = NULL, "
                    "objective_values = :ov, constraints = :c, violation = :vi",
                    {
                        "v": t.value,
                        "m": t.message,
                        "e": t.stderr,
                        "et": now if t.end_time is None else t.end_time,
                        **_vector_params(t.values, t.constraints),
                    },
                )
                assert done is not None
                out.append(done.replace(intermediate=dict(t.intermediate)))
            if uncounted:
                self._lock_study(conn, study_id)
                cur = self._q(
                    conn,
                    "SELECT system_attrs FROM tansaku_studies WHERE study_id = :s",
                    {"s": study_id},
                ).scalar()
                attrs = json.loads(cur or "{}")
                before = attrs.get(UNCOUNTED_ATTR, 0)
                attrs[UNCOUNTED_ATTR] = (before if isinstance(before, int) else 0) + uncounted
                self._q(
                    conn,
                    "UPDATE tansaku_studies SET system_attrs = :a WHERE study_id = :s",
                    {"a": dumps(attrs), "s": study_id},
                )
            return out

        return self._run(add)

    def set_study_space(
        self, study_id: int, space: Space, *, system_attrs: Mapping[str, Any] | None = None
    ) -> None:
        def change(conn: _Conn) -> None:
            self._lock_study(conn, study_id)
            cur = self._q(
                conn,
                "SELECT system_attrs FROM tansaku_studies WHERE study_id = :s",
                {"s": study_id},
            ).scalar()
            if cur is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            attrs = {**json.loads(cur), **(system_attrs or {})}
            self._q(
                conn,
                "UPDATE tansaku_studies SET space = :sp, system_attrs = :a WHERE study_id = :s",
                {"sp": dumps(space.to_dict()), "a": dumps(attrs), "s": study_id},
            )

        self._run(change)

    def claim_waiting(
        self, study_id: int, *, worker: str, limit: int | None = None
    ) -> FrozenTrial | None:
        def claim(conn: _Conn) -> FrozenTrial | None:
            res = self._q(
                conn,
                "UPDATE tansaku_studies SET n_waiting = n_waiting - 1, n_running = n_running + 1 "
                f"WHERE study_id = :s AND n_waiting > 0{_budget(limit)}",
                {"s": study_id, "limit": limit},
            )
            if res.rowcount == 0:
                return None
            tid = self._q(
                conn,
                "SELECT trial_id FROM tansaku_trials WHERE study_id = :s AND "
                "state = 'waiting' ORDER BY +number LIMIT 1",  # +: see pending_trials
                {"s": study_id},
            ).scalar()
            if tid is None:  # counters out of step would be a bug; undo and report nothing
                raise StorageError(
                    f"study {study_id}: waiting counter is positive but no trial waits"
                )
            row = self._update(
                conn,
                "UPDATE tansaku_trials SET state = 'running', worker = :w, start_time = :t, "
                "heartbeat = :t, end_time = NULL, attempts = attempts + 1 WHERE trial_id = :id",
                _TRIAL_COLS,
                f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE trial_id = :id",
                {"w": worker, "t": time.time(), "id": tid},
            )
            return self._trial(row)

        return self._run(claim)

    # ------------------------------------------------------------------ updating
    def _lock_study_of(self, conn: _Conn, trial_id: int) -> None:
        """PostgreSQL: lock the study row of ``trial_id`` before changing the trial.

        Every transaction that changes a trial's state (creating, claiming, finishing, releasing,
        reclaiming) takes the study row first, so they run one after the other and always lock in
        the same order (study, then trial), which cannot dead-lock.  SQLite needs nothing:
        ``BEGIN IMMEDIATE`` already serialises writers.
        """
        if not self._dialect.row_locks:
            return
        self._q(
            conn,
            "SELECT 1 FROM tansaku_studies WHERE study_id = "
            "(SELECT study_id FROM tansaku_trials WHERE trial_id = :t) FOR UPDATE",
            {"t": trial_id},
        )

    def _lock_study(self, conn: _Conn, study_id: int) -> None:
        """PostgreSQL: lock a study row (see :meth:`_lock_study_of`)."""
        if self._dialect.row_locks:
            self._q(
                conn,
                "SELECT 1 FROM tansaku_studies WHERE study_id = :s FOR UPDATE",
                {"s": study_id},
            )

    def _transition(
        self,
        conn: _Conn,
        trial_id: int,
        worker: str | None,
        to: TrialState,
        sets: str,
        params: dict[str, Any],
    ) -> FrozenTrial | None:
        """Move a RUNNING trial (owned by ``worker`` when given) to ``to``, keeping the study's
        counters right; return the trial as it is afterwards, or None (nothing changed) when it is
        not RUNNING under ``worker``.

        After the study row's lock (:meth:`_lock_study_of`), the trial row is changed, guarded by
        its state and owner, so of two transactions moving the same trial only one matches.  Then
        the study row: its counters, and for a finished trial the next ``finish_seq``, handed out
        in commit order under the study row's lock.  A trial put back to WAITING loses its
        reports: the next attempt reports afresh, and stale steps would mislead pruners.
        """
        self._lock_study_of(conn, trial_id)
        owner = "" if worker is None else " AND worker = :w"
        if to is TrialState.WAITING:
            sets += ", last_step = NULL"
        p = {**params, "state": to.value, "t": trial_id, "w": worker}
        # a finished trial's row is returned by the finish_seq update below
        cols = "study_id" if to.is_finished else f"study_id, {_TRIAL_COLS}"
        row = self._update(
            conn,
            f"UPDATE tansaku_trials SET state = :state, {sets} "
            f"WHERE trial_id = :t AND state = 'running'{owner}",
            cols,
            f"SELECT {cols} FROM tansaku_trials WHERE trial_id = :t",
            p,
        )
        if row is None:
            if self._q(conn, "SELECT 1 FROM tansaku_trials WHERE trial_id = :t", p).first():
                return None
            raise StorageError(f"no trial with id {trial_id} in {self.url}")
        sid = row[0]
        col = _COUNTER[to]
        bump = f"UPDATE tansaku_studies SET n_running = n_running - 1, {col} = {col} + 1"
        if not to.is_finished:
            if to is TrialState.WAITING:
                self._q(conn, "DELETE FROM tansaku_reports WHERE trial_id = :t", p)
            self._q(conn, f"{bump} WHERE study_id = :s", {"s": sid})
            return self._trial(row[1:])
        seq = self._update(
            conn,
            f"{bump}, next_seq = next_seq + 1 WHERE study_id = :s",
            "next_seq",
            "SELECT next_seq FROM tansaku_studies WHERE study_id = :s",
            {"s": sid},
        )
        row = self._update(
            conn,
            "UPDATE tansaku_trials SET finish_seq = :q WHERE trial_id = :t",
            _TRIAL_COLS,
            f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE trial_id = :t",
            {"q": seq[0], "t": trial_id},
        )
        return self._trial(row)

    def _finish_trial(self, trial_id: int, worker: str | None, end: Finish) -> FrozenTrial | None:
        system_attrs = end.system_attrs

        def finish(conn: _Conn) -> FrozenTrial | None:
            sets = (
                "value = :v, message = :m, stderr = :e, end_time = :now, "
                "objective_values = :ov, constraints = :c, violation = :vi"
            )
            params: dict[str, Any] = {
                "v": end.value,
                "m": end.message,
                "e": end.stderr,
                "now": time.time(),
                **_vector_params(end.values, dict(end.constraints or {})),
            }
            if system_attrs:
                self._lock_study_of(conn, trial_id)  # no other writer between read and merge
                cur = self._q(
                    conn,
                    "SELECT system_attrs FROM tansaku_trials WHERE trial_id = :t",
                    {"t": trial_id},
                ).scalar()
                params["sa"] = dumps({**json.loads(cur or "{}"), **system_attrs})
                sets += ", system_attrs = :sa"
            return self._transition(conn, trial_id, worker, end.state, sets, params)

        return self._run(finish)

    def release_trial(self, trial_id: int, *, worker: str, count_attempt: bool = False) -> bool:
        sets = "worker = NULL, start_time = NULL" + (
            "" if count_attempt else ", attempts = attempts - 1"
        )
        return self._run(
            lambda c: (
                self._transition(c, trial_id, worker, TrialState.WAITING, sets, {}) is not None
            )
        )

    def report(self, trial_id: int, step: int, value: float) -> None:
        def rep(conn: _Conn) -> None:
            p = {"t": trial_id, "s": int(step), "v": float(value), "now": time.time()}
            self._q(conn, "DELETE FROM tansaku_reports WHERE trial_id = :t AND step = :s", p)
            self._q(
                conn,
                "INSERT INTO tansaku_reports (trial_id, step, value, time) "
                "VALUES (:t, :s, :v, :now)",
                p,
            )
            self._q(
                conn,
                "UPDATE tansaku_trials SET last_step = :s WHERE trial_id = :t AND "
                "(last_step IS NULL OR last_step < :s)",
                p,
            )

        self._run(rep)

    def set_trial_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_trials", "trial_id", "user_attrs", trial_id, attrs)

    def set_trial_system_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        self._merge_attrs("tansaku_trials", "trial_id", "system_attrs", trial_id, attrs)

    def set_trial_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._run(
            lambda c: self._q(
                c,
                "UPDATE tansaku_trials SET params = :p WHERE trial_id = :t",
                {"p": dumps(dict(params)), "t": trial_id},
            )
        )

    def heartbeat(self, trial_ids: Iterable[int], *, worker: str) -> None:
        ids = list(trial_ids)
        if not ids:
            return
        p: dict[str, Any] = {"now": time.time(), "w": worker}
        sql = (
            "UPDATE tansaku_trials SET heartbeat = :now WHERE worker = :w AND state = 'running' "
            f"AND trial_id IN {in_list('i', ids, p)}"
        )
        self._run(lambda c: self._q(c, sql, p))

    def _reclaim_rows(
        self,
        conn: _Conn,
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
                attrs = dumps({**json.loads(sa or "{}"), "requeued": reason})
                done = self._transition(
                    conn,
                    tid,
                    row[3],  # still the lost worker's: not a new run that reclaimed it meanwhile
                    TrialState.WAITING,
                    "worker = NULL, start_time = NULL, system_attrs = :sa",
                    {"sa": attrs},
                )
            else:
                done = self._transition(
                    conn,
                    tid,
                    row[3],
                    TrialState.FAILED,
                    "message = :m, end_time = :now",
                    {"m": reason, "now": time.time()},
                )
            if done is not None:
                out.append(done)
        return out

    def reclaim_stale(
        self, study_id: int, *, grace: float, requeue: bool, max_attempts: int = 2
    ) -> list[FrozenTrial]:
        def reclaim(conn: _Conn) -> list[FrozenTrial]:
            self._lock_study(conn, study_id)
            now = time.time()
            rows = self._q(
                conn,
                "SELECT trial_id, attempts, system_attrs, worker, heartbeat FROM tansaku_trials "
                "WHERE study_id = :s AND state = 'running' AND heartbeat < :cut",
                {"s": study_id, "cut": now - grace},
            ).rows
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
        p: dict[str, Any] = {"s": study_id}
        sql = (
            "SELECT trial_id, attempts, system_attrs, worker FROM tansaku_trials WHERE "
            f"study_id = :s AND state = 'running' AND worker IN {in_list('w', list(workers), p)}"
        )

        def reclaim(conn: _Conn) -> list[FrozenTrial]:
            self._lock_study(conn, study_id)
            rows = self._q(conn, sql, p).rows
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
        def read(conn: _Conn) -> FrozenTrial:
            tid = self._q(
                conn,
                "SELECT trial_id FROM tansaku_trials WHERE study_id = :s AND number = :n",
                {"s": study_id, "n": number},
            ).scalar()
            if tid is None:
                raise StorageError(f"study {study_id} has no trial number {number} in {self.url}")
            return self._read_trial(conn, tid, with_intermediate)

        return self._run(read, write=False)

    def _get_trials(self, study_id: int, query: TrialQuery) -> list[FrozenTrial]:
        where = "study_id = :s"
        params: dict[str, Any] = {"s": study_id}
        if query.states is not None:
            values = sorted(s.value for s in query.states)
            where += f" AND state IN {in_list('st', values, params)}"
        order_by = "finish_seq" if query.by_finish else "number"
        if query.by_finish:
            where += " AND finish_seq IS NOT NULL"
        sql = f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE {where} ORDER BY {order_by}"
        sql += self._dialect.limit_offset(query.limit, query.offset)

        def read(conn: _Conn) -> list[FrozenTrial]:
            rows = self._q(conn, sql, params).rows
            want = query.with_intermediate
            inter = self._reports(conn, [r[0] for r in rows]) if want else {}
            return [self._trial(r, inter.get(r[0], {})) for r in rows]

        return self._run(read, write=False)

    def finished_since(self, study_id: int, seq: int) -> tuple[list[FrozenTrial], int]:
        def read(conn: _Conn) -> tuple[list[FrozenTrial], int]:
            rows = self._q(
                conn,
                f"SELECT {_TRIAL_COLS}, finish_seq FROM tansaku_trials WHERE study_id = :s AND "
                "finish_seq > :q ORDER BY finish_seq",
                {"s": study_id, "q": seq},
            ).rows
            return [self._trial(r) for r in rows], (rows[-1][-1] if rows else seq)

        return self._run(read, write=False)

    def trials_from(self, study_id: int, number: int) -> list[FrozenTrial]:
        # a range on the (study_id, number) index: costs what it returns, not the study's size
        return self._run(
            lambda c: [
                self._trial(r)
                for r in self._q(
                    c,
                    f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE study_id = :s AND "
                    "number >= :n ORDER BY number",
                    {"s": study_id, "n": int(number)},
                )
            ],
            write=False,
        )

    def pending_trials(self, study_id: int) -> list[FrozenTrial]:
        # "+number": without it SQLite walks the (study_id, number) index to avoid a sort, i.e.
        # reads every trial of the study (48 ms per call at 100k trials, once per trial asked);
        # with it, the (study_id, state) index finds the few running/waiting ones.
        return self._run(
            lambda c: [
                self._trial(r)
                for r in self._q(
                    c,
                    f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE study_id = :s AND state IN ('running', 'waiting') "
                    "ORDER BY +number",
                    {"s": study_id},
                )
            ],
            write=False,
        )

    def best_trial(self, study_id: int, direction: str) -> FrozenTrial | None:
        order = "DESC" if direction == "maximize" else "ASC"
        row = self._run(
            lambda c: self._q(
                c,
                f"SELECT {_TRIAL_COLS} FROM tansaku_trials WHERE study_id = :s AND state = 'complete' "
                f"AND value IS NOT NULL AND (violation IS NULL OR violation <= 0) "
                f"ORDER BY value {order}, number ASC LIMIT 1",
                {"s": study_id},
            ).first(),
            write=False,
        )
        return None if row is None else self._trial(row)

    def export_rows(self, study_id: int, *, page: int = 5000) -> Iterator[ExportRow]:
        """Keyset pages on the (study_id, number) index: each page costs the same however far
        into the study it is (``OFFSET`` would re-read everything before it)."""
        stmt = (
            "SELECT number, state, value, params, start_time, end_time, worker, message, "
            "user_attrs, system_attrs, stderr, objective_values, COALESCE(constraints, '{}') "
            "FROM tansaku_trials WHERE study_id = :s AND number > :n "
            "ORDER BY number LIMIT :p"
        )
        last = -1
        while True:
            args = {"s": study_id, "n": last, "p": page}

            def read(c: _Conn, a: dict[str, int] = args) -> Sequence[Any]:
                return self._q(c, stmt, a).rows

            rows = self._run(read, write=False)
            yield from map(ExportRow._make, rows)
            if len(rows) < page:
                return
            last = rows[-1][0]

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

        def read(conn: _Conn) -> dict[int, dict[int, float]]:
            out: dict[int, dict[int, float]] = {}
            for number, st, value in self._q(conn, sql, params):
                out.setdefault(number, {})[st] = value
            return out

        return self._run(read, write=False)
