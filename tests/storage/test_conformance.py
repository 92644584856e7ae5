from __future__ import annotations

import pytest

from tansaku.storage import InMemoryStorage, get_storage
from tests.storage.conformance import *  # noqa: F403 - the shared suite


@pytest.fixture(
    params=["memory", "sqlite", "journal", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def storage(request, tmp_path):
    if request.param == "memory":
        s = InMemoryStorage()
    elif request.param == "sqlite":
        s = get_storage(f"sqlite:///{tmp_path / 'study.db'}")
    elif request.param == "journal":
        s = get_storage(f"journal:///{tmp_path / 'study.journal'}")
    else:  # a fresh database on the run's PostgreSQL server; the plain URL takes the psycopg path
        url = request.getfixturevalue("postgres_url").replace(
            "postgresql+psycopg://", "postgresql://"
        )
        s = get_storage(url)
    yield s
    s.close()
