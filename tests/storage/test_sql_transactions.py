"""SQLStorage's transactions under trouble: a locked SQLite database, a PostgreSQL server that
restarts in the middle of a study, and a coordinator killed with SIGKILL at a random instant."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import StorageError, TrialState
from tansaku.storage import SQLStorage

SRC = Path(tk.__file__).resolve().parents[1]
SPACE = {"x": tk.Float(-2, 2), "k": tk.Int(0, 9)}


def _check_consistent(db: Path, n_complete: int) -> None:
    """Counters match the rows, numbers are 0..n-1 and finish_seq is 1..n without gaps."""
    con = sqlite3.connect(db)
    try:
        states = dict(con.execute("SELECT state, COUNT(*) FROM tansaku_trials GROUP BY state"))
        row = con.execute(
            "SELECT n_waiting, n_running, n_complete, n_pruned, n_failed, next_number, next_seq "
            "FROM tansaku_studies"
        ).fetchone()
        numbers = [r[0] for r in con.execute("SELECT number FROM tansaku_trials ORDER BY number")]
        seqs = [
            r[0]
            for r in con.execute(
                "SELECT finish_seq FROM tansaku_trials WHERE finish_seq IS NOT NULL "
                "ORDER BY finish_seq"
            )
        ]
    finally:
        con.close()
    assert states.get("complete") == n_complete
    assert row[:5] == tuple(
        states.get(s, 0) for s in ("waiting", "running", "complete", "pruned", "failed")
    )
    assert numbers == list(range(len(numbers))) and row[5] == len(numbers)
    assert seqs == list(range(1, len(seqs) + 1)) and row[6] == len(seqs)


def test_locked_sqlite_is_waited_for_then_reported(tmp_path):
    db = tmp_path / "s.db"
    storage = SQLStorage(
        f"sqlite:///{db}",
        retry_timeout=30.0,
        engine_kwargs={"connect_args": {"timeout": 0.1, "check_same_thread": False}},
    )
    study = tk.create_study(SPACE, storage=storage, name="l")
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    released = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    released.start()
    study.optimize(lambda t: 1.0, n_trials=3)  # waits for the lock (retries), then runs
    released.join()
    assert study.counts().complete == 3
    other.execute("BEGIN IMMEDIATE")
    storage.retry_timeout = 0.5
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageError, match="locked"):
            storage.start_trial(study.study_id, {"x": 0.0, "k": 1}, worker="w")
        assert time.monotonic() - t0 < 5
        assert study.counts().complete == 3  # reads go on under a write lock (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    _check_consistent(db, 3)


_RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
import tansaku as tk
study = tk.create_study({"x": tk.Float(-2, 2), "k": tk.Int(0, 9)}, storage=sys.argv[2],
                        name="k", seed=0, load_if_exists=True)
study.optimize(lambda t: time.sleep(0.002) or t.params["x"] ** 2, total_trials=int(sys.argv[3]),
               stale_after=None)
"""


@pytest.mark.slow
def test_sigkill_at_any_instant_then_resume_is_exact(tmp_path):
    db = tmp_path / "k.db"
    url = f"sqlite:///{db}"
    total = 1000
    for kill_after in (20, 120, 250):  # complete trials seen in the database before SIGKILL
        p = subprocess.Popen([sys.executable, "-c", _RUN, str(SRC), url, str(total)])
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and p.poll() is None:
                if db.exists():
                    try:
                        c = tk.load_study("k", storage=url).counts()
                    except tk.TansakuError:  # not created yet
                        c = None
                    if c is not None and c.complete >= kill_after:
                        break
                time.sleep(0.05)
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
    before = tk.load_study("k", storage=url).counts()
    assert before.complete < total  # really killed in the middle
    subprocess.run([sys.executable, "-c", _RUN, str(SRC), url, str(total)], check=True, timeout=300)
    study = tk.load_study("k", storage=url)
    c = study.counts()
    assert (c.complete, c.running, c.waiting, c.failed) == (total, 0, 0, 0)
    _check_consistent(db, total)
    values = [t.value for t in study.trials]
    assert study.best_value == min(values)


@pytest.mark.slow
def test_postgres_restart_in_the_middle_of_a_study(restartable_postgres):
    url = restartable_postgres.create_database()
    study = tk.create_study(SPACE, storage=url, name="r", seed=0)

    def restart_when_busy() -> None:
        while study.counts().complete < 30:
            time.sleep(0.02)
        restartable_postgres.restart(downtime=1.0)

    th = threading.Thread(target=restart_when_busy)
    th.start()
    study.optimize(lambda t: time.sleep(0.005) or t.params["x"] ** 2, n_trials=300)
    th.join()
    c = study.counts()
    assert c.complete == 300 and c.failed == 0
    trials = study.get_trials(states=[TrialState.COMPLETE])
    assert len({t.number for t in trials}) == 300
    assert study.best_value == min(t.value for t in trials)
