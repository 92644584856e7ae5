"""Storages: in-memory, SQLite (embedded default), PostgreSQL and a journal file (shared), one
contract."""

from __future__ import annotations

from typing import Any

from tansaku.storage._base import BaseStorage, StudyCounts, StudyInfo
from tansaku.storage._journal_file import JournalStorage
from tansaku.storage._memory import InMemoryStorage
from tansaku.storage._url import get_storage, sqlite_url

__all__ = [
    "BaseStorage",
    "InMemoryStorage",
    "JournalStorage",
    "SQLStorage",
    "StudyCounts",
    "StudyInfo",
    "get_storage",
    "sqlite_url",
]


def __getattr__(name: str) -> Any:  # SQLAlchemy loads only when a SQL storage is used
    if name == "SQLStorage":
        from tansaku.storage._sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module 'tansaku.storage' has no attribute {name!r}")
