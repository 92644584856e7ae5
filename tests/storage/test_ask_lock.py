"""The ask lock's bounded wait: a stopped proposer does not stall the other workers.

A real second process takes the study's ask lock and is SIGSTOPped while it holds it; a worker
process must still run its trials, after one wait of ``TANSAKU_ASK_LOCK_TIMEOUT`` seconds and one
warning naming the holder, and the study must still end with exactly ``n_trials`` trials when the
stopped process resumes and tries to start one more.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.storage import get_storage

SRC = str(Path(__file__).resolve().parents[2] / "src")
N_TRIALS = 6

HOLDER = textwrap.dedent("""
    import sys
    from tansaku.storage import get_storage
    st = get_storage(sys.argv[1])
    sid = st.get_study("lock").study_id
    with st.ask_lock(sid):
        print("held", flush=True)
        sys.stdin.readline()  # SIGSTOPped here; after SIGCONT the parent sends a line
        late = st.start_trial(sid, {"x": 0.5}, worker="late", limit=int(sys.argv[2]))
        print("late trial:", late is not None, flush=True)
""")

WORKER = textwrap.dedent("""
    import sys, time
    import tansaku as tk
    study = tk.load_study("lock", storage=sys.argv[1])
    t0 = time.monotonic()
    study.optimize(lambda t: t.params["x"], n_trials=int(sys.argv[2]), n_workers=1)
    print(f"elapsed {time.monotonic() - t0:.2f}", flush=True)
""")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stopped_lock_holder_does_not_stall_workers(kind, tmp_path, request):
    url = (
        request.getfixturevalue("postgres_url")
        if kind == "postgres"
        else f"sqlite:///{tmp_path / 'lock.db'}"
    )
    tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="lock", sampler="random", seed=0)
    env = {**os.environ, "PYTHONPATH": SRC, "TANSAKU_ASK_LOCK_TIMEOUT": "1"}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(N_TRIALS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)
        worker = subprocess.run(
            [sys.executable, "-c", WORKER, url, str(N_TRIALS)],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert worker.returncode == 0, worker.stderr[-2000:]
        elapsed = float(worker.stdout.split()[-1])
        assert elapsed < 8, worker.stdout  # one 1 s wait, not one per trial, not forever
        warnings = [ln for ln in worker.stderr.splitlines() if "ask lock" in ln]
        assert len(warnings) == 1, worker.stderr
        assert f"pid {holder.pid} on" in warnings[0]  # names the holder
        assert "proposing without it" in warnings[0]

        os.kill(holder.pid, signal.SIGCONT)
        out, _ = holder.communicate("go\n", timeout=30)
        assert holder.returncode == 0, out
        assert "late trial: False" in out  # the budget was used up by the worker: no 7th trial
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGCONT)
            holder.kill()
            holder.wait()
    st = get_storage(url)
    trials = st.get_trials(st.get_study("lock").study_id)
    assert len(trials) == N_TRIALS
    assert all(t.state is tk.TrialState.COMPLETE for t in trials)
    st.close()
