"""Crash safety: ``kill -9`` of ``tansaku run`` at random moments loses and duplicates nothing.

Each case runs a 4-worker study of external commands on SQLite, kills the coordinator with
SIGKILL at a random moment several times (resuming in between), then lets ``tansaku run`` finish.
Checked after every kill: every trial stored as finished before it is still there with the same
params and value, and no process of the study is left running (the reaper).  At the end: exactly
``n_trials`` complete trials, none running or waiting, every value the one its params give and
one that a real evaluation printed, and no process of the study anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tansaku._reaper import find_trial_processes

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")
N_TRIALS = 24
KILLS_PER_CASE = 4
CASES = 5  # 20 kills in all

TRIAL = """
import json, os, random, subprocess, sys, time
x = float(sys.argv[1])
if random.random() < 0.3:
    subprocess.Popen(["sleep", "30"])  # something the trial started, in its process group
time.sleep(random.uniform(0.05, 0.6))
value = (x - 0.3) ** 2
with open(sys.argv[2], "a") as f:
    f.write(json.dumps({"n": int(os.environ["TANSAKU_TRIAL_ID"]), "x": x, "value": value}) + "\\n")
print(repr(value))
"""


def _config(tmp: Path, name: str) -> Path:
    (tmp / "trial.py").write_text(TRIAL)
    cfg = tmp / "study.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: {name}
        storage: sqlite:///study.db
        sampler: {{name: random, seed: 1}}
        n_trials: {N_TRIALS}
        n_workers: 4
        trial_timeout: 60
        space:
          x: {{type: float, low: 0.0, high: 1.0}}
        command: [{PY}, trial.py, "{{x}}", {tmp / "evaluations.jsonl"}]
        """)
    )
    return cfg


def _trials(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(
            "SELECT number, state, value, params, system_attrs FROM tansaku_trials ORDER BY number"
        ).fetchall()
    except sqlite3.OperationalError:  # killed before the schema was created
        return []
    finally:
        con.close()


def _complete(db: Path) -> dict[int, tuple[str, float]]:
    return {n: (p, v) for n, s, v, p, _ in _trials(db) if s == "complete"}


def _describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return f"[{cmd}] state {stat[0]} ppid {stat[1]} pgrp {stat[2]}"
    except OSError:
        return "(gone)"


def _no_study_processes(name: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = find_trial_processes(name)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = find_trial_processes(name)
    return left


@pytest.mark.slow
@pytest.mark.parametrize("case", range(CASES))
def test_kill_9_at_random_moments_then_resume(tmp_path, case):
    name = f"crash-{case}-{uuid.uuid4().hex[:6]}"
    cfg = _config(tmp_path, name)
    db = tmp_path / "study.db"
    env = {**os.environ, "PYTHONPATH": SRC}
    rng = random.Random(case)
    stored: dict[int, tuple[str, float]] = {}
    killed_with_running = kills = 0
    try:
        # KILLS_PER_CASE kills that hit running trials (plus the start-up kills in between);
        # a cycle whose run finished before its kill moment does not count
        for k in range(3 * KILLS_PER_CASE):
            if killed_with_running >= KILLS_PER_CASE:
                break
            run = subprocess.Popen(
                [PY, "-m", "tansaku", "run", "-q", str(cfg)],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            # a quarter of the kills at any moment of start-up, the rest at a random moment after
            # the first trial process appeared (under load, start-up alone can take seconds)
            t0 = time.monotonic()
            if k % 4 == 0:
                time.sleep(rng.uniform(0.0, 1.5))
            else:
                while not find_trial_processes(name) and time.monotonic() - t0 < 60:
                    if run.poll() is not None:
                        break
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 1.0))
            delay = time.monotonic() - t0
            if run.poll() is not None:  # finished already: fine, nothing to kill
                continue
            running_before = find_trial_processes(name)
            run.kill()
            run.wait()
            kills += 1
            killed_with_running += bool(running_before)
            now = _complete(db)
            for n, (params, value) in stored.items():
                assert now.get(n) == (params, value), (
                    f"kill {k} after {delay:.2f} s: trial {n} finished as {value} before, "
                    f"now {now.get(n)}"
                )
            stored = now
            left = _no_study_processes(name, timeout=10)
            assert not left, f"kill {k}: trial processes outlived the coordinator: " + ", ".join(
                f"{pid} {_describe(pid)}" for pid in left
            )

        final = subprocess.run(
            [PY, "-m", "tansaku", "run", "-q", str(cfg)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert final.returncode == 0, final.stderr
        rows = _trials(db)
        complete = {n: (p, v) for n, s, v, p, _ in rows if s == "complete"}
        states = [s for _, s, _, _, _ in rows]
        assert len(complete) == N_TRIALS, f"{len(complete)} complete trials, states {states}"
        assert "running" not in states and "waiting" not in states
        for n, (params, value) in stored.items():
            assert complete.get(n) == (params, value), f"trial {n} changed after resume"
        evaluations = [
            json.loads(line) for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()
        ]
        printed = {(e["n"], e["value"]) for e in evaluations}
        xs = []
        for n, (params, value) in complete.items():
            x = json.loads(params)["x"]
            xs.append(x)
            assert value == (x - 0.3) ** 2, f"trial {n}: value {value} is not f({x})"
            assert (n, value) in printed, f"trial {n}: value {value} was never printed"
        assert len(set(xs)) == len(xs), "the same point was counted twice"
        assert _no_study_processes(name, timeout=10) == []
        requeued = sum("requeued" in sa for *_, sa in rows)
        print(
            f"case {case}: kills with trials running {killed_with_running}, requeued {requeued}, "
            f"failed {states.count('failed')}, evaluations {len(evaluations)}"
        )
        # the case really crashed something: kills hit running trials
        assert kills >= KILLS_PER_CASE and killed_with_running >= KILLS_PER_CASE - 1, (
            kills,
            killed_with_running,
        )
    finally:
        for pid in find_trial_processes(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
