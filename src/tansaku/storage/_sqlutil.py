"""Plumbing of :mod:`tansaku.storage._sql`: plain-SQL statements on a DBAPI cursor, URL redaction,
JSON columns and the retry-or-fail classification of database errors."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from tansaku.storage._base import dumps

__all__ = [
    "Result",
    "authority",
    "dumps",
    "in_list",
    "pyformat",
    "redact_url",
    "same",
    "storable",
    "transient",
]


class Result:
    """The rows of one statement, fetched at once (its cursor is already closed)."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: Sequence[Any], rowcount: int, lastrowid: int | None) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def pyformat(statement: str) -> str:
    """A statement with ``:name`` parameters rewritten for psycopg (``%(name)s``, ``%`` doubled)."""
    return _NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))


def same(statement: str) -> str:
    return statement


def storable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Statement parameters as every text column can keep them: a NUL byte, which PostgreSQL
    cannot store in text (a trial's stderr or message may hold one), becomes U+FFFD.  Applied by
    ``_q`` to every statement on both backends, so SQLite and PostgreSQL keep the same text."""
    return {
        k: v.replace("\0", "\ufffd") if isinstance(v, str) and "\0" in v else v
        for k, v in params.items()
    }


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(:name0, :name1, ...)`` for an IN list, adding the values to ``params``."""
    params.update({f"{name}{i}": v for i, v in enumerate(values)})
    return "(" + ", ".join(f":{name}{i}" for i in range(len(values))) + ")"


def authority(url: str) -> str:
    return url.partition("://")[2].partition("/")[0]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also when the URL does not parse)."""
    url = str(url)
    if authority(url).count("@") <= 1:
        try:
            return make_url(url).render_as_string(hide_password=True)
        except Exception:
            pass
    # keep the scheme and host for messages, never anything between 'user:' and the last '@'
    return re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)


#: errors that waiting does not fix -- a full disk or read-only file (SQLite), a wrong password or
#: database name (PostgreSQL): fail at once instead of retrying for ``retry_timeout``
_PERMANENT = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "password authentication failed",
    "no pg_hba.conf entry",
)
_MISSING = ("database", "role")  # FATAL: database "x" does not exist / role "x" does not exist


def transient(exc: BaseException, dbapi: Any) -> bool:
    """Errors worth retrying: a locked SQLite, a dropped or restarting PostgreSQL connection
    (raised through SQLAlchemy, or by the driver itself on the plain-SQL path)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if any(p in text for p in _PERMANENT):
        return False
    if "does not exist" in text and any(f'{m} "' in text for m in _MISSING):
        return False
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, (sqlite3.OperationalError, dbapi.OperationalError))
