"""A study shared through a real PostgreSQL server: concurrent workers, races, lost workers.

The conformance suite (test_conformance.py) runs every storage method on PostgreSQL too; these
tests are about several processes at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku._layout import study_dir_name
from tansaku.storage import get_storage

pytestmark = pytest.mark.postgres

SPACE = {"x": tk.Float(0, 1), "y": tk.Int(0, 1000)}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_finish_and_reclaim_racing_keep_counters_exact(kind, tmp_path, request):
    """A worker finishing its trials while another process reclaims them: each trial ends in
    exactly one state and the per-study counters match the rows."""
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'r.db'}"
    a, b = get_storage(url), get_storage(url)  # two engines: two connection pools
    sid = a.create_study("r", space=tk.Space(x=tk.Float(0, 1)), direction="minimize").study_id
    for _ in range(8):
        trials = [a.start_trial(sid, {"x": 0.5}, worker="w:1:a") for _ in range(15)]
        go = threading.Barrier(2)

        def finish(trials=trials, go=go):
            go.wait()
            for t in trials:
                a.finish_trial(t.trial_id, worker="w:1:a", state=TrialState.COMPLETE, value=1.0)

        def reclaim(trials=trials, go=go):
            go.wait()
            for _ in trials:
                b.reclaim_worker_trials(sid, ["w:1:a"], requeue=True)

        threads = [threading.Thread(target=finish), threading.Thread(target=reclaim)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        while (t := a.claim_waiting(sid, worker="c")) is not None:  # raises if counters drifted
            a.finish_trial(t.trial_id, worker="c", state=TrialState.FAILED)
    rows = a.get_trials(sid)
    c = a.counts(sid)
    assert (c.complete, c.failed, c.running, c.waiting) == (
        sum(t.state is TrialState.COMPLETE for t in rows),
        sum(t.state is TrialState.FAILED for t in rows),
        0,
        0,
    )
    assert c.total == len(rows) == 8 * 15
    a.close()
    b.close()


# ------------------------------------------------------------------------ worker processes
def _write_config(tmp_path: Path, url: str, n_trials: int, **extra: object) -> Path:
    script = tmp_path / "objective.py"
    script.write_text(
        textwrap.dedent("""
        import os, sys, time
        x, y = float(sys.argv[1]), int(sys.argv[2])
        flag = os.path.join(os.environ["HOLD_DIR"], "hold")
        try:  # the first trial to get here holds on until it is killed (a "long" trial)
            fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode()); os.close(fd)
            if os.environ.get("HOLD") == "1":
                time.sleep(120)
        except FileExistsError:
            pass
        time.sleep(float(os.environ["TRIAL_SLEEP"]))
        print(x + y)
    """)
    )
    lines = [
        "name: shared",
        f"storage: {url}",
        "seed: 7",
        "sampler: random",
        f"n_trials: {n_trials}",
        "space:",
        "  x: {type: float, low: 0, high: 1}",
        "  y: {type: int, low: 0, high: 1000}",
        f"command: [{sys.executable}, {script}, '{{x}}', '{{y}}']",
        f"env: {{HOLD_DIR: {tmp_path}, HOLD: '{extra.pop('hold', 0)}', "
        f"TRIAL_SLEEP: '{extra.pop('trial_sleep', 0.05)}'}}",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    cfg = tmp_path / "study.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def _tansaku(*args: str, cwd: Path, host: str | None = None) -> subprocess.Popen[bytes]:
    if host is None:
        argv = [sys.executable, "-m", "tansaku", *args]
    else:  # pretend to run on another host: dead-pid detection cannot apply, only heartbeats
        code = (
            f"import socket, sys; socket.gethostname = lambda: {host!r}; "
            "from tansaku.cli import main; sys.exit(main(sys.argv[1:]))"
        )
        argv = [sys.executable, "-c", code, *args]
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(cond, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _finish(procs: list[subprocess.Popen[bytes]], timeout: float = 120) -> None:
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        assert p.returncode == 0, out.decode(errors="replace")[-2000:]


def _seeded_params(seed: int, number: int) -> dict:
    """What the seeded random sampler proposes as the study's ``number``-th trial."""
    space = tk.Space(**SPACE)
    return space.from_unit(np.random.default_rng([seed, number]).random(len(space)))


def test_three_worker_processes_finish_exactly_n_with_no_duplicates(postgres_url, tmp_path):
    n = 45
    # trials long enough (45 x 0.3 s alone) that the two workers, started once the study exists,
    # join in even on a loaded machine where starting a Python process takes seconds
    cfg = _write_config(tmp_path, postgres_url, n, trial_sleep=0.3)
    first = _tansaku("run", str(cfg), "-q", cwd=tmp_path)  # creates the study, stores its config
    st = get_storage(postgres_url)
    _wait_for(
        lambda: any(s.name == "shared" and "config" in s.system_attrs for s in st.list_studies()),
        what="the study",
    )
    others = [
        _tansaku("worker", "--storage", postgres_url, "--study", "shared", "-q", cwd=tmp_path)
        for _ in range(2)
    ]
    _finish([first, *others])
    study = tk.load_study("shared", storage=postgres_url)
    trials = study.trials
    c = study.counts()
    assert (c.complete, c.running, c.waiting, c.failed) == (n, 0, 0, 0)
    assert sorted(t.number for t in trials) == list(range(n))
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == n  # no point evaluated twice
    # the workers took turns so exactly: trial k holds the seeded sampler's k-th draw, as if a
    # single worker had run the study
    for t in trials:
        assert dict(t.params) == _seeded_params(7, t.number)
    assert len({t.worker for t in trials}) == 3
    for t in trials:
        run_dir = tmp_path / "runs" / study_dir_name("shared")
        assert (run_dir / f"trial-{t.number:06d}" / "stdout.txt").exists()


@pytest.mark.parametrize("lost", ["requeue", "fail"])
def test_killed_worker_trial_is_recovered_by_a_live_worker(postgres_url, tmp_path, lost):
    n = 8
    cfg = _write_config(tmp_path, postgres_url, n, hold=1, heartbeat_interval=0.3, lost_trials=lost)
    victim = _tansaku("run", str(cfg), "-q", cwd=tmp_path)
    hold = tmp_path / "hold"
    _wait_for(lambda: hold.exists() and hold.read_text().strip(), what="the long trial")
    held_pid = int(hold.read_text())
    try:
        survivor = _tansaku(
            "worker", "--storage", postgres_url, "--study", "shared", "-q", cwd=tmp_path
        )
        study = tk.load_study("shared", storage=postgres_url)
        _wait_for(lambda: study.counts().complete >= 2, what="the survivor's first trials")
        os.kill(victim.pid, signal.SIGKILL)  # kill -9 the worker in the middle of its trial
        victim.wait(10)
        _finish([survivor])
    finally:  # the killed worker's program was in its own session and outlived it: stop it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(held_pid, signal.SIGKILL)
    trials = study.trials
    c = study.counts()
    lost_trials = [
        t
        for t in trials
        if "died" in (t.system_attrs.get("requeued") or "") or "died" in (t.message or "")
    ]
    assert len(lost_trials) == 1
    t = lost_trials[0]
    if lost == "requeue":  # the same trial (number, params) ran again, on the survivor
        assert t.state is TrialState.COMPLETE and (c.complete, c.failed) == (n, 0)
        assert t.worker.split(":")[1] == str(survivor.pid)
        assert len(trials) == n
    else:  # recorded as failed; a new trial took its place in the budget
        assert t.state is TrialState.FAILED and t.message.startswith("lost: worker")
        assert (c.complete, c.failed) == (n, 1) and len(trials) == n + 1
    assert c.running == c.waiting == 0


def test_silent_worker_on_another_host_is_recovered_by_heartbeat(postgres_url, tmp_path):
    n = 6
    cfg = _write_config(tmp_path, postgres_url, n, hold=1, heartbeat_interval=0.3, stale_after=2)
    victim = _tansaku("run", str(cfg), "-q", cwd=tmp_path, host="elsewhere")
    hold = tmp_path / "hold"
    _wait_for(lambda: hold.exists() and hold.read_text().strip(), what="the long trial")
    held_pid = int(hold.read_text())
    study = tk.load_study("shared", storage=postgres_url)
    running = [t for t in study.trials if t.state is TrialState.RUNNING]
    assert running and running[0].worker.startswith("elsewhere:")
    try:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        survivor = _tansaku(
            "worker", "--storage", postgres_url, "--study", "shared", "-q", cwd=tmp_path
        )
        t0 = time.monotonic()
        _finish([survivor])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(held_pid, signal.SIGKILL)
    again = study.storage.get_trial(running[0].trial_id)
    assert again.state is TrialState.COMPLETE and again.worker.split(":")[1] == str(survivor.pid)
    assert "no heartbeat" in again.system_attrs["requeued"]
    c = study.counts()
    assert (c.complete, c.running, c.waiting, c.failed) == (n, 0, 0, 0)
    assert time.monotonic() - t0 < 60


def test_a_study_rides_out_a_server_restart(restartable_postgres):
    """Trials finishing while the server is down are stored once it is back: none lost, none
    doubled."""
    url = restartable_postgres.url
    study = tk.create_study(SPACE, storage=url, name="restart", seed=0)
    bounced = threading.Event()

    def bounce() -> None:
        time.sleep(1.0)
        restartable_postgres.restart(downtime=2.0)
        bounced.set()

    def objective(trial):
        time.sleep(0.05)
        return trial.params["x"]

    th = threading.Thread(target=bounce)
    th.start()
    t0 = time.monotonic()
    study.optimize(objective, n_trials=80, stale_after=None)
    th.join()
    assert bounced.is_set() and time.monotonic() - t0 >= 3.0  # the run spanned the outage
    c = study.counts()
    assert (c.complete, c.running, c.waiting, c.failed) == (80, 0, 0, 0)
    assert sorted(t.number for t in study.trials) == list(range(80))
