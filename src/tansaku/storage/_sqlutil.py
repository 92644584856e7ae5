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
    "url_secrets",
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


#: query parameters of a database URL that carry a secret (libpq: ``password``, ``sslpassword``;
#: also any name with "password", "secret" or "token" in it); a ``passfile`` path is not a secret
_SECRET_QUERY = re.compile(r"([?&][^=&#]*(?:password|secret|token)[^=&#]*=)[^&#]*", re.I)


def redact_url(url: str) -> str:
    """The URL with every credential replaced by ``***``: the password of ``user:password@`` and
    the value of a secret query parameter (``?password=``, ``&sslpassword=``, see
    ``_SECRET_QUERY``) -- also when the URL does not parse. Every place that shows a storage URL
    (status, errors, the report, the dashboard page and API) shows this form."""
    url = str(url)
    out = None
    if authority(url).count("@") <= 1:
        try:
            out = make_url(url).render_as_string(hide_password=True)
        except Exception:
            out = None
    if out is None:
        # keep the scheme and host for messages, never anything between 'user:' and the last '@'
        out = re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)
    return _SECRET_QUERY.sub(r"\1***", out)


def url_secrets(url: str) -> list[str]:
    """Every credential written in ``url`` (the password, secret query values), as given and as
    percent-encoded/decoded, longest first: what an error message must never repeat."""
    from urllib.parse import quote, unquote

    found: set[str] = set()
    try:
        u = make_url(url)
        if u.password:
            found.add(str(u.password))
        for key, value in u.query.items():
            if _SECRET_QUERY.match(f"?{key}="):
                found.update([value] if isinstance(value, str) else list(value))
    except Exception:
        pass
    for m in _SECRET_QUERY.finditer(url):
        found.add(url[m.end(1) : m.end()])
    forms = {f for s in found if s for f in (s, quote(s, safe=""), unquote(s))}
    return sorted((f for f in forms if f and f != "***"), key=len, reverse=True)


#: errors that waiting does not fix -- a full disk, a read-only file or a path SQLite cannot open
#: (a directory, a read-only or pseudo file system like /sys), a wrong password or database name
#: (PostgreSQL): fail at once instead of retrying for ``retry_timeout``
_PERMANENT = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open database file",
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
