"""``get_storage``: a storage from a URL, an instance, or None (in-memory)."""

from __future__ import annotations

from pathlib import Path

from tansaku._errors import ConfigError
from tansaku.storage._base import BaseStorage
from tansaku.storage._memory import InMemoryStorage

__all__ = ["get_storage", "sqlite_url"]


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """``None`` or ``":memory:"`` -> in-memory; ``sqlite:///x.db`` / ``postgresql://...`` -> SQL."""
    if isinstance(storage, BaseStorage):
        return storage
    if storage is None or storage in (":memory:", "memory", "memory://"):
        return InMemoryStorage()
    if not isinstance(storage, str):
        raise ConfigError(
            f"expected a storage URL string, got {type(storage).__name__}", field="storage"
        )
    scheme = storage.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(
            "expected a URL like sqlite:///study.db or postgresql://user:pass@host/db, got a "
            f"{scheme!r} URL",
            field="storage",
        )
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
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    from tansaku.storage._sql import SQLStorage

    return SQLStorage(storage)
