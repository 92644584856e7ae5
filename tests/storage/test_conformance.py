from __future__ import annotations

import pytest

from tansaku.storage import InMemoryStorage, get_storage
from tests.storage.conformance import *  # noqa: F403 - the shared suite


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    if request.param == "memory":
        s = InMemoryStorage()
    else:
        s = get_storage(f"sqlite:///{tmp_path / 'study.db'}")
    yield s
    s.close()
