"""Soak: ``tansaku worker`` processes sharing one SQLite study, killed with SIGKILL and restarted.

Three workers (the default ``n_workers: 1`` each) run trials that last longer than
``stale_after``, so a live worker's trial is only kept by its heartbeats.  Several times a random
worker is killed in the middle of a trial and a new one started.  At the end: exactly ``n_trials``
complete trials (0 lost), none failed (0 spurious FAILED: a victim is never chosen so that one
trial is lost twice, the one case where FAILED is right), every value the one its params give
and printed by a real evaluation, and no trial ever started again while the worker running it
was alive (0 doubled).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")
N_TRIALS = 8
N_WORKERS = 3
KILLS = 3

TRIAL = """
import json, os, sys, time
x = float(sys.argv[1])
rec = {"tid": int(os.environ["TANSAKU_TRIAL_ID"]), "w": int(os.environ["TANSAKU_COORDINATOR_PID"])}
def log(**kw):
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps({**rec, **kw}) + "\\n")
log(ev="start")
time.sleep(1.3)  # longer than stale_after: only the heartbeats keep this trial
value = (x - 0.3) ** 2
log(ev="done", value=value)
print(repr(value))
"""


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.mark.slow
def test_killed_and_restarted_workers_lose_and_double_nothing(tmp_path):
    (tmp_path / "trial.py").write_text(TRIAL)
    events = tmp_path / "events.jsonl"
    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: soak
        storage: sqlite:///study.db
        sampler: {{name: random, seed: 3}}
        n_trials: {N_TRIALS}
        heartbeat_interval: 0.25
        stale_after: 1.0
        trial_timeout: 60
        space:
          x: {{type: float, low: 0.0, high: 1.0}}
        command: [{PY}, trial.py, "{{x}}", {events}]
        """)
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    rng = random.Random(0)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [PY, "-m", "tansaku", "worker", "-q", str(cfg)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    workers = [start() for _ in range(N_WORKERS)]
    killed: set[int] = set()
    lost_once: set[int] = set()  # trials whose first attempt a kill ended
    try:
        deadline = time.monotonic() + 60
        while len(killed) < KILLS and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.0))
            ev = _events(events)
            done = {e["tid"] for e in ev if e["ev"] == "done"}
            running = {}  # worker pid -> its trial now
            for e in ev:
                if e["ev"] == "start" and e["tid"] not in done:
                    running[e["w"]] = e["tid"]
            victims = [
                w
                for w in workers
                if w.poll() is None and running.get(w.pid) not in (None, *lost_once)
            ]
            if not victims:
                continue
            victim = rng.choice(victims)
            lost_once.add(running[victim.pid])
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed.add(victim.pid)
            workers[workers.index(victim)] = start()
        assert len(killed) == KILLS, f"only {len(killed)} kills hit a running trial"
        for w in workers:
            _, err = w.communicate(timeout=120)
            assert w.returncode == 0, err.decode(errors="replace")[-2000:]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()

    con = sqlite3.connect(tmp_path / "study.db")
    rows = con.execute("SELECT number, state, value, params FROM tansaku_trials").fetchall()
    con.close()
    states = [s for _, s, _, _ in rows]
    assert states.count("complete") == N_TRIALS, states  # 0 lost
    assert states.count("failed") == 0, states  # 0 spurious FAILED
    assert len(rows) == N_TRIALS, states
    ev = _events(events)
    printed = {(e["tid"], e["value"]) for e in ev if e["ev"] == "done"}
    xs = []
    for tid, _, value, params in rows:
        x = json.loads(params)["x"]
        xs.append(x)
        assert value == (x - 0.3) ** 2 and (tid, value) in printed, (tid, value)
    assert len(set(xs)) == N_TRIALS, "the same point was evaluated twice"  # 0 doubled
    starts: dict[int, list[int]] = {}
    for e in ev:
        if e["ev"] == "start":
            starts.setdefault(e["tid"], []).append(e["w"])
    for tid, by in starts.items():  # started again only after its worker was killed
        assert all(w in killed for w in by[:-1]), (tid, by, killed)
    for tid in lost_once:  # each trial a kill interrupted was run again to the end
        assert len(starts[tid]) >= 2, (tid, starts[tid])
