"""Storage faults: a locked, a full and a briefly unreachable database.

Short faults are retried and the run goes on; faults that outlast ``retry_timeout`` end the run
with a clear one-line error, and a result that could not be stored is kept in the journal and
stored by the next run -- never lost, never counted twice.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import StorageError, TrialState
from tansaku.storage import SQLStorage
from tansaku.study._journal import JOURNAL_NAME

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")
SPACE = {"x": tk.Float(0, 1)}

LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
con.execute("BEGIN IMMEDIATE")  # the write lock, as another writer holding it would
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


@pytest.fixture(autouse=True)
def _state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _lock(db: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen(
        [PY, "-c", LOCKER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


def _objective_locking_at(db: Path, number: int, seconds: float, holder: list):
    def objective(trial):
        if trial.number == number:
            holder.append(_lock(db, seconds))  # taken while this trial runs: its result waits
        return trial.params["x"]

    return objective


def test_sqlite_lock_held_briefly_is_waited_out(tmp_path):
    db = tmp_path / "s.db"
    study = tk.create_study(SPACE, storage=SQLStorage(f"sqlite:///{db}", retry_timeout=30), seed=0)
    holder: list = []
    t0 = time.monotonic()
    study.optimize(_objective_locking_at(db, 2, 1.5, holder), n_trials=5)
    assert time.monotonic() - t0 >= 1.4  # it did wait for the lock
    holder[0].wait()
    c = study.counts()
    assert (c.complete, c.running, c.failed) == (5, 0, 0)


def test_sqlite_lock_held_too_long_fails_clearly_then_the_journal_is_replayed(tmp_path):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    study = tk.create_study(SPACE, storage=SQLStorage(url, retry_timeout=1), name="l", seed=0)
    holder: list = []
    t0 = time.monotonic()
    with pytest.raises(StorageError) as err:
        study.optimize(_objective_locking_at(db, 2, 60, holder), n_trials=5)
    msg = str(err.value)
    assert time.monotonic() - t0 < 30
    assert "database is locked" in msg and "after retrying for 1 s" in msg and "\n" not in msg
    journal = tmp_path / f"s.db.{JOURNAL_NAME}"
    assert f"trial 2 is kept in {journal}" in msg
    holder[0].kill()
    holder[0].wait()
    kept = study.trials[2]
    assert kept.state is TrialState.RUNNING  # not stored ...
    resumed = tk.load_study("l", storage=url)
    resumed.optimize(lambda t: t.params["x"], total_trials=5)
    trials = resumed.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5  # ... until the next run
    assert trials[2].value == kept.params["x"] and trials[2].system_attrs["journaled"] is True
    assert journal.read_bytes() == b""


def test_cli_reports_a_lasting_lock_in_one_line(tmp_path):
    (tmp_path / "study.yaml").write_text(
        "name: c\nn_trials: 2\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "command: [python3, -c, 'print(1)']\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "TANSAKU_RETRY_TIMEOUT": "1"}
    cli = [PY, "-m", "tansaku", "run", "-q", str(tmp_path / "study.yaml")]
    assert subprocess.run(cli, env=env, capture_output=True, timeout=120).returncode == 0
    locker = _lock(tmp_path / "c.db", 60)
    try:
        out = subprocess.run(
            [*cli, "--n-trials", "4"], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        locker.kill()
        locker.wait()
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert lines[0].startswith("error: storage sqlite:///") and "database is locked" in lines[0]
    assert "after retrying for 1 s" in lines[0]


@pytest.fixture
def tiny_fs(tmp_path):
    """A 1 MiB tmpfs (needs root); skipped where mounting is not allowed."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_full_disk_keeps_the_result_in_the_journal_elsewhere_and_replays_it(tiny_fs, tmp_path):
    url = f"sqlite:///{tiny_fs / 's.db'}"
    study = tk.create_study(SPACE, storage=SQLStorage(url, retry_timeout=1), name="f", seed=0)
    study.optimize(lambda t: t.params["x"], n_trials=3)
    filler = tiny_fs / "filler"

    def objective(trial):
        if trial.number == 4:
            _fill(filler)  # the disk fills up while this trial runs
        return trial.params["x"]

    with pytest.raises(StorageError, match="database or disk is full") as err:
        study.optimize(objective, n_trials=20)
    journals = list((tmp_path / "state" / "tansaku" / "journal").iterdir())
    assert len(journals) == 1 and str(journals[0]) in str(err.value)  # not on the full disk
    assert "trial 4 is kept in" in str(err.value)
    assert study.trials[4].state is TrialState.RUNNING  # not stored (the disk is full)
    done_before = study.counts().complete
    filler.unlink()
    resumed = tk.load_study("f", storage=url)
    resumed.optimize(lambda t: t.params["x"], total_trials=done_before + 5)
    c = resumed.counts()
    assert (c.complete, c.running, c.waiting) == (done_before + 5, 0, 0)
    stored = [t for t in resumed.trials if t.system_attrs.get("journaled")]
    assert [t.number for t in stored] == [4] and stored[0].value == stored[0].params["x"]


@pytest.mark.postgres
def test_postgres_restart_mid_run_loses_nothing(restartable_postgres):
    pg = restartable_postgres
    study = tk.create_study(
        SPACE, storage=SQLStorage(pg.url, retry_timeout=60), name=f"pg-{uuid.uuid4().hex[:6]}"
    )
    window: list[float] = []

    def restart():
        time.sleep(1.0)
        window.append(time.time())
        pg.restart(downtime=2.0)
        window.append(time.time())

    def objective(trial):
        time.sleep(0.05)
        return trial.params["x"]

    th = threading.Thread(target=restart)
    th.start()
    try:
        study.optimize(objective, n_trials=80, n_workers=2, executor="local")
    finally:
        th.join()
    trials = study.trials
    assert len(trials) == 80 and all(t.state is TrialState.COMPLETE for t in trials)
    assert all(t.value == t.params["x"] for t in trials)
    # the run really spanned the outage: trials finished before it and after it
    assert any(t.end_time < window[0] for t in trials)
    assert any(t.end_time > window[1] for t in trials)


@pytest.mark.postgres
def test_postgres_down_too_long_fails_clearly_then_the_journal_is_replayed(
    restartable_postgres, tmp_path
):
    pg = restartable_postgres
    name = f"pg-{uuid.uuid4().hex[:6]}"
    study = tk.create_study(SPACE, storage=SQLStorage(pg.url, retry_timeout=2), name=name)

    def objective(trial):
        if trial.number == 3:
            pg.stop()  # the server goes away while this trial runs
        return trial.params["x"]

    with pytest.raises(StorageError) as err:
        study.optimize(objective, n_trials=10, workdir=tmp_path / "runs")
    msg = str(err.value)
    assert pg.password not in msg and "***" in msg and "\n" not in msg
    assert f"trial 3 is kept in {tmp_path / 'runs' / JOURNAL_NAME}" in msg
    pg.start()
    resumed = tk.load_study(name, storage=SQLStorage(pg.url, retry_timeout=10))
    resumed.optimize(lambda t: t.params["x"], total_trials=10, workdir=tmp_path / "runs")
    trials = resumed.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 10
    assert trials[3].system_attrs.get("journaled") is True
    assert trials[3].value == trials[3].params["x"]
    with contextlib.suppress(Exception):
        resumed.storage.close()


FILLER = """
import os, sys
if os.environ["TANSAKU_TRIAL_NUMBER"] == "2" and os.path.exists(sys.argv[3]):
    try:  # the run directory's disk fills up while this trial runs ...
        with open(sys.argv[2], "wb") as f:
            while True:
                f.write(b"\\0" * 65536)
    except OSError:
        pass
    print("." * 100 + "\\n" * 3000, flush=True)  # ... and tansaku writes its stdout.txt there
print(sys.argv[1])
"""


@pytest.mark.parametrize("n_workers", [1, 2])
def test_full_disk_under_runs_stops_in_one_line_and_requeues(tiny_fs, tmp_path, n_workers):
    """No traceback: ``error: no space left on device writing <file>: ...``, the running trials
    back to WAITING, and the next run (disk freed) finishes the study with every value right."""
    (tmp_path / "runs").symlink_to(tiny_fs)  # runs/ next to the config is the small disk
    (tmp_path / "fill.py").write_text(FILLER)
    flag = tmp_path / "fill-now"
    flag.touch()
    (tmp_path / "study.yaml").write_text(
        f"name: full\nn_trials: 5\nn_workers: {n_workers}\nseed: 0\n"
        "space: {x: {type: float, low: 0, high: 1}}\n"
        f"command: [{PY}, fill.py, '{{x}}', {tiny_fs / 'filler'}, {flag}]\n"
    )
    cli = [PY, "-m", "tansaku", "run", "-q", str(tmp_path / "study.yaml")]
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: no space left on device writing {tiny_fs}/"), lines[0]
    assert lines[0].endswith(": No space left on device")
    url = f"sqlite:///{tmp_path / 'full.db'}"
    trials = tk.load_study("full", storage=url).trials
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.WAITING}
    assert trials[2].state is TrialState.WAITING  # re-queued, not failed
    flag.unlink()
    (tiny_fs / "filler").unlink()
    again = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    trials = tk.load_study("full", storage=url).trials
    assert len(trials) == 5 and all(t.state is TrialState.COMPLETE for t in trials)
    assert all(t.value == pytest.approx(t.params["x"]) for t in trials)


def test_full_disk_before_the_first_trial_is_one_error_and_touches_no_trial(
    tiny_fs, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").symlink_to(tiny_fs)
    _fill(tiny_fs / "filler")
    study = tk.create_study(SPACE, storage=f"sqlite:///{tmp_path / 's.db'}", name="early")
    with pytest.raises(tk.TansakuError, match=f"^no space left on device writing {tiny_fs}/"):
        study.optimize(tk.Command([PY, "-c", "print(1)"]), n_trials=2)
    assert study.trials == []
