"""``get_storage``: a storage from a URL, an instance, or None (in-memory)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from tansaku._errors import ConfigError
from tansaku.storage._base import BaseStorage
from tansaku.storage._memory import InMemoryStorage

__all__ = ["get_storage", "sqlite_url", "storage_file", "with_base_dir"]

#: URL schemes whose ``scheme:///path`` names a file: relative after three slashes, absolute
#: with four
FILE_SCHEMES = ("sqlite", "journal")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def storage_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` or ``journal:///`` URL (None for other storages)."""
    for scheme in FILE_SCHEMES:
        if url.startswith(f"{scheme}:///"):
            path = url[len(scheme) + 4 :].split("?", 1)[0]
            return Path(path) if path and path != ":memory:" else None
    return None


def with_base_dir(url: str, base_dir: Path) -> str:
    """``url`` with a relative file path (``sqlite:///x.db``, ``journal:///x.journal``) made
    absolute against ``base_dir`` (a config file's directory); other URLs unchanged."""
    for scheme in FILE_SCHEMES:
        prefix = f"{scheme}:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rel = url[len(prefix) :]
            if rel and rel != ":memory:":
                return f"{prefix}{(base_dir / rel).resolve()}"
    return url


def _env_seconds(name: str, default: float) -> float:
    """Seconds from environment variable ``name`` (``default`` when unset or empty)."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"must be seconds (a number), got {raw!r}", field=name) from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"must be >= 0 seconds, got {raw!r}", field=name)
    return value


def _retry_timeout() -> float:
    return _env_seconds("TANSAKU_RETRY_TIMEOUT", 120.0)


def _check_sqlite_path(path: Path) -> None:
    """Make the database's folder; a path that can never be a database file is a ConfigError
    now (a directory, a folder that cannot be made), not a retry loop of ``retry_timeout``."""
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a database file", field="storage")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(
            f"cannot create the folder {path.parent}: {why}", field="storage"
        ) from None


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """``None`` or ``":memory:"`` -> in-memory; ``sqlite:///x.db`` / ``postgresql://...`` -> SQL;
    ``journal:///x.journal`` -> :class:`~tansaku.storage.JournalStorage` (a shared file, no
    server).

    A SQL or journal storage retries a locked or unreachable database for ``$TANSAKU_RETRY_TIMEOUT`` seconds
    (default 120) before it raises :class:`~tansaku.StorageError`, and a SQL storage's worker
    waits for another worker's ask lock at most ``$TANSAKU_ASK_LOCK_TIMEOUT`` seconds (default
    60) before it proposes without it.
    """
    if isinstance(storage, BaseStorage):
        return storage
    if storage is None or storage in (":memory:", "memory", "memory://"):
        return InMemoryStorage()
    if not isinstance(storage, str):
        raise ConfigError(
            f"expected a storage URL string, got {type(storage).__name__}", field="storage"
        )
    scheme = storage.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgres", "journal"):
        raise ConfigError(
            "expected a URL like sqlite:///study.db, journal:///study.journal or "
            f"postgresql://user:pass@host/db, got a {scheme!r} URL",
            field="storage",
        )
    if scheme == "journal":
        jpath = storage_file(storage)
        if jpath is None:
            raise ConfigError(
                "a journal URL needs a file path (journal:///study.journal)", field="storage"
            )
        from tansaku.storage._journal_file import JournalStorage

        return JournalStorage(jpath, retry_timeout=_retry_timeout())
    if scheme == "postgres":  # the libpq spelling
        storage = "postgresql" + storage[len("postgres") :]
    if scheme == "sqlite":
        path = storage.split(":///", 1)[1] if ":///" in storage else ""
        if not path or path == ":memory:":
            raise ConfigError(
                "a sqlite URL needs a file path (sqlite:///study.db); "
                "use storage=None for in-memory",
                field="storage",
            )
        _check_sqlite_path(Path(path).expanduser())
        from tansaku.storage._netfs import warn_if_network_sqlite

        warn_if_network_sqlite(path.split("?", 1)[0])
    from tansaku.storage._sql import SQLStorage

    return SQLStorage(
        storage,
        retry_timeout=_retry_timeout(),
        ask_lock_timeout=_env_seconds("TANSAKU_ASK_LOCK_TIMEOUT", 60.0),
    )
