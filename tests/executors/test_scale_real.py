"""Real processes at scale, small (issue 15.6): the CI size of ``benchmarks/scale_real.py``.

64 concurrent commands under ``tansaku run`` and 8 ``tansaku worker`` processes on one PostgreSQL
study: every trial runs exactly once, the study ends with exactly ``n_trials``.  Efficiency is
reported by the benchmark, not asserted here (the machine is shared); only a loose floor that a
serialised run could not reach.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks._load import load_benchmark

scale_real = load_benchmark("scale_real")


def test_ideal_wall_is_list_scheduling() -> None:
    assert scale_real.ideal_wall([3, 1, 1, 1], 2) == 3
    assert scale_real.ideal_wall([1, 1, 1], 1) == 3


def test_sixty_four_concurrent_commands(tmp_path: Path) -> None:
    r = scale_real.run_local(64, 64, 1.0, 2.0, tmp_path)
    assert r.complete == 64 and r.ran == 64 and r.duplicates == 0
    # 64 trials of 1-2 s would take ~96 s one after another: they really ran side by side
    assert r.span < 0.3 * r.ideal * 64 / 2, r


@pytest.mark.slow  # eight interpreters starting on the 2 shared cores: ~15 s under load
def test_eight_workers_on_postgres_lose_and_double_nothing(postgres_url: str, tmp_path) -> None:
    r = scale_real.run_pg(postgres_url, 8, 2, 32, 0.2, 0.6, tmp_path)
    assert r.complete == 32 and r.other_states == {}, r
    assert r.numbers_unique and r.never_ran == 0 and r.duplicates == 0, r
    assert r.ran == 32, r


if __name__ == "__main__":
    pytest.main([__file__])
