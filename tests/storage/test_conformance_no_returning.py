"""The conformance suite on SQLite with RETURNING switched off: the path taken with SQLite older
than 3.35, where every UPDATE that must hand back a row is followed by a SELECT instead."""

from __future__ import annotations

import pytest

from tansaku.storage import SQLStorage
from tests.storage.conformance import *  # noqa: F403 - the shared suite


@pytest.fixture
def storage(tmp_path):
    s = SQLStorage(f"sqlite:///{tmp_path / 'study.db'}")
    s._returning = False
    yield s
    s.close()


def test_returning_is_really_off(storage):
    assert storage._returning is False
