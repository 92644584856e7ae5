"""The conformance suite on PostgreSQL (a throwaway server, one new database per test)."""

from __future__ import annotations

import pytest

from tansaku.storage import get_storage
from tests.storage.conformance import *  # noqa: F403 - the shared suite


@pytest.fixture
def storage(postgres_url):
    s = get_storage(postgres_url)
    yield s
    s.close()
