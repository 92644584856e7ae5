"""What differs between the SQL databases :class:`~tansaku.storage._sql.SQLStorage` runs on
(SQLite and PostgreSQL), in one place: the engine's arguments, how a transaction begins,
``RETURNING``, parameter style, row locks, which ask lock serialises proposals, and ``OFFSET`` without ``LIMIT``.

The storage asks a :class:`Dialect` instead of comparing dialect names itself, so a third
database means one more branch here (and the storage conformance suite run against it).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import URL

from tansaku._errors import StorageError
from tansaku._install import install_hint
from tansaku.storage._sqlutil import pyformat, same

__all__ = ["Dialect"]


class Dialect:
    """The SQL dialect of one storage URL (``name``: ``"sqlite"`` or ``"postgresql"``)."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(name)
        self.name = name
        sqlite = name == "sqlite"
        #: UPDATE/INSERT ... RETURNING saves a read per transition (SQLite >= 3.35, PostgreSQL)
        self.returning = not sqlite or sqlite3.sqlite_version_info >= (3, 35)
        #: transactions lock the rows they change (``SELECT ... FOR UPDATE``); SQLite needs no
        #: row lock: ``BEGIN IMMEDIATE`` already serialises writers
        self.row_locks = not sqlite
        #: the ask lock across processes is a server advisory lock (else a ``flock`` on a file
        #: beside the database)
        self.advisory_ask_lock = not sqlite

    @classmethod
    def engine_args(
        cls, u: URL, engine_kwargs: dict[str, Any] | None, retry_timeout: float
    ) -> tuple[Dialect, URL, dict[str, Any]]:
        """The dialect of ``u``, and the URL and ``create_engine`` keywords to open it with: for
        SQLite a lock wait within ``retry_timeout`` and a connection usable from any thread;
        for PostgreSQL the psycopg 3 driver and pre-pinged pooled connections.  The user's
        ``engine_kwargs`` win.  Raises :class:`StorageError` for an in-memory SQLite URL (not
        shareable) or any other database, ``ImportError`` naming the extra when psycopg is
        missing."""
        name = u.get_backend_name()
        kwargs: dict[str, Any] = dict(engine_kwargs or {})
        if name == "sqlite":
            # SQLite's own lock wait is one attempt: keep it within the retry budget
            busy = max(0.05, min(30.0, retry_timeout / 4))
            kwargs.setdefault("connect_args", {"timeout": busy, "check_same_thread": False})
            if u.database in (None, "", ":memory:"):
                raise StorageError(
                    "sqlite in-memory URLs are not shareable; use storage=None for memory"
                )
        elif name == "postgresql":
            if u.drivername == "postgresql":
                try:
                    import psycopg  # noqa: F401
                except ImportError:
                    raise ImportError(
                        "PostgreSQL storage needs psycopg: " + install_hint("postgres")
                    ) from None
                u = u.set(drivername="postgresql+psycopg")
            kwargs.setdefault("pool_pre_ping", True)
        else:
            raise StorageError(
                f"unsupported storage URL scheme {u.drivername!r} (use sqlite or postgresql)"
            )
        return cls(name), u, kwargs

    def native(self, statement: str) -> str:
        """``statement`` with its ``:name`` parameters in the driver's own style (sqlite3 takes
        them as they are; psycopg wants ``%(name)s``)."""
        return same(statement) if self.name == "sqlite" else pyformat(statement)

    def begin(self, write: bool) -> str | None:
        """The statement that opens a transaction on a raw connection, or None where the driver
        begins one itself (PostgreSQL).  SQLite runs in autocommit mode and takes the write lock
        at once for a writer (``BEGIN IMMEDIATE``: writers queue instead of dead-locking)."""
        if self.name != "sqlite":
            return None
        return "BEGIN IMMEDIATE" if write else "BEGIN"

    @property
    def for_update(self) -> str:
        """The suffix that locks the rows a ``SELECT`` reads (empty where writers are serialised
        anyway)."""
        return " FOR UPDATE" if self.row_locks else ""

    def limit_offset(self, limit: int | None, offset: int) -> str:
        """The ``LIMIT``/``OFFSET`` clause (SQLite accepts ``OFFSET`` only after a ``LIMIT``)."""
        if limit is not None:
            return f" LIMIT {int(limit)} OFFSET {int(offset)}"
        if not offset:
            return ""
        return (
            f" LIMIT -1 OFFSET {int(offset)}" if self.name == "sqlite" else f" OFFSET {int(offset)}"
        )
