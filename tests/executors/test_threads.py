"""Several local trials at once share the cores: each gets max(1, cores // n_workers) threads in
OMP_NUM_THREADS & co., unless the user set them (tansaku.executors._threads)."""

from __future__ import annotations

import os
import sys

import pytest

import tansaku as tk
from tansaku.executors._threads import THREAD_VARS

SPACE = {"x": tk.Float(0, 1)}

# prints the common value of every thread variable (-1 if they differ, 0 if none is set)
PRINT_THREADS = (
    f"import os; v = set(os.environ.get(k) for k in {THREAD_VARS!r}); "
    "print(0 if v == set([None]) else int(v.pop()) if len(v) == 1 else -1)"
)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.fixture(autouse=True)
def _no_user_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)


def _values(objective, tmp_path, n_workers: int = 2) -> set[float]:
    study = tk.create_study(SPACE, seed=0)
    study.optimize(objective, n_trials=4, n_workers=n_workers, executor="local",
                   workdir=tmp_path / "runs")
    assert study.counts().complete == 4, [t.message for t in study.trials]
    return {t.value for t in study.trials}


def test_each_command_gets_its_share_of_the_cores(tmp_path) -> None:
    expected = max(1, _cores() // 2)  # 1 on this project's 2-core machines
    assert _values(tk.Command([sys.executable, "-c", PRINT_THREADS]), tmp_path) == {expected}


def test_one_worker_leaves_the_libraries_defaults(tmp_path) -> None:
    assert _values(tk.Command([sys.executable, "-c", PRINT_THREADS]), tmp_path, n_workers=1) == {0}


def test_the_users_own_value_wins(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = tk.Command([sys.executable, "-c", PRINT_THREADS], env={"OMP_NUM_THREADS": "5"})
    # the config's env: sets one variable: tansaku sets none of the others
    assert _values(cmd, tmp_path) == {-1}
    probe = "import os; print(int(os.environ['OMP_NUM_THREADS']) * 10 + ('MKL_NUM_THREADS' in os.environ))"
    cmd = tk.Command([sys.executable, "-c", probe], env={"OMP_NUM_THREADS": "5"})
    assert _values(cmd, tmp_path / "b") == {50}
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # in tansaku's own environment
    assert _values(tk.Command([sys.executable, "-c", probe]), tmp_path / "c") == {30}


def python_threads(trial) -> float:
    """A Python objective in a forked worker: the environment and the OpenBLAS that numpy loaded
    in the coordinator (sized then) must both be limited."""
    from threadpoolctl import threadpool_info

    pools = {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
    env = int(os.environ.get("OMP_NUM_THREADS", "0"))
    return float(env if pools <= {env} else -1)


def test_python_objectives_in_workers_get_their_share_too(tmp_path) -> None:
    import numpy  # noqa: F401  (its BLAS pool is sized at import, before the workers fork)

    assert _values(python_threads, tmp_path) == {float(max(1, _cores() // 2))}
