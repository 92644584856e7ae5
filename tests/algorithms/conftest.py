"""Algorithm cores called directly (not through a study) get the same single-threaded BLAS the
study gives samplers (tansaku._blas); with busy cores, threaded BLAS makes these tests 10x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tansaku._blas import blas_limit


@pytest.fixture(autouse=True)
def _single_threaded_blas() -> Iterator[None]:
    with blas_limit():
        yield
