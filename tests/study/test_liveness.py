"""Liveness (study/_liveness.py): heartbeats flow whatever the executor does, ask() trials hold a
lease, a pid is compared only inside its own PID namespace, and a stopped proposer does not hold
the ask lock for ever.

Real processes on real SQLite and PostgreSQL: a trial is "stolen" when another process's
``recover()`` finds its heartbeat older than ``stale_after``, so every case here runs trials
longer than ``stale_after`` next to a second process that reclaims.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import TansakuError, TrialState
from tansaku.study._liveness import known_dead, namespace_tag, new_worker_id, parse_worker

PY = sys.executable
SPACE = {"x": tk.Float(0, 1)}
BEAT, STALE, LONG = 0.3, 1.5, 3.5  # trials last > 2 x stale_after


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'study.db'}"


def _wait_for(cond, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _finish(procs: list[subprocess.Popen], timeout: float = 120) -> list[str]:
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        text = out.decode(errors="replace")
        assert p.returncode == 0, text[-2000:]
        outs.append(text)
    return outs


def _runs(log: Path) -> list[int]:
    """Trial numbers, one per evaluation that started (the objective appends to ``log``)."""
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def _check_exact(url: str, name: str, n: int, log: Path) -> None:
    study = tk.load_study(name, storage=url)
    c = study.counts()
    trials = study.trials
    assert (c.complete, c.failed, c.running, c.waiting) == (n, 0, 0, 0), [
        (t.number, t.state.value, t.message) for t in trials if t.state is not TrialState.COMPLETE
    ]
    assert not [t.number for t in trials if "requeued" in t.system_attrs]
    assert sorted(_runs(log)) == list(range(n))  # each trial evaluated once: none stolen
    assert len({t.worker for t in trials}) == 2  # both processes ran trials


# ------------------------------------------------------------------ 20.1 inline heartbeats
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_cli_workers_with_inline_trials_longer_than_stale_after(kind, tmp_path, request):
    """`tansaku run` + `tansaku worker`, default n_workers 1 (the inline executor runs the whole
    command inside executor.wait), each trial 2 x stale_after: no trial is taken from a live
    worker."""
    url = _url(kind, tmp_path, request)
    log = tmp_path / "runs.log"
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: hb
        storage: {url}
        sampler: {{name: random, seed: 3}}
        n_trials: 4
        heartbeat_interval: {BEAT}
        stale_after: {STALE}
        space:
          x: {{type: float, low: 0, high: 1}}
        command: [sh, -c, 'echo $TANSAKU_TRIAL_NUMBER >> {log}; sleep {LONG}; echo {{x}}']
        """)
    )
    first = subprocess.Popen(
        [PY, "-m", "tansaku", "run", str(cfg), "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    _wait_for(lambda: bool(_runs(log)), what="the first trial")
    second = subprocess.Popen(
        [PY, "-m", "tansaku", "worker", "--storage", url, "--study", "hb", "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    _finish([first, second])
    _check_exact(url, "hb", 4, log)


PY_WORKER = """
import sys, time
import tansaku as tk
url, log = sys.argv[1], sys.argv[2]
study = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="hbpy", seed=1,
                        load_if_exists=True)
def objective(trial):
    with open(log, "a") as f:
        f.write(f"{trial.number}\\n")
    end = time.monotonic() + %(long)s
    while time.monotonic() < end:   # busy in Python, not only sleeping
        sum(range(1000))
    return trial.params["x"]
study.optimize(objective, total_trials=4, heartbeat_interval=%(beat)s, stale_after=%(stale)s)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_python_optimize_processes_with_inline_trials_longer_than_stale_after(
    kind, tmp_path, request
):
    url = _url(kind, tmp_path, request)
    log = tmp_path / "runs.log"
    script = tmp_path / "w.py"
    script.write_text(PY_WORKER % {"long": LONG, "beat": BEAT, "stale": STALE})
    tk.create_study(SPACE, storage=url, name="hbpy", seed=1)
    procs = [
        subprocess.Popen([PY, str(script), url, str(log)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    _finish(procs)
    _check_exact(url, "hbpy", 4, log)


# ------------------------------------------------------------------ 20.8 pid namespaces
def _running_trial(url: str, worker: str) -> tuple[tk.Study, int]:
    study = tk.create_study(SPACE, storage=url, name="ns", seed=0, load_if_exists=True)
    t = study.storage.start_trial(study.study_id, {"x": 0.5}, worker=worker)
    return study, t.trial_id


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_same_host_other_pid_namespace_is_judged_by_heartbeat(tmp_path):
    """A worker of a container sharing our hostname: its pid means nothing here.  With a fresh
    heartbeat it keeps its trial, however dead the pid looks; only silence reclaims it."""
    url = f"sqlite:///{tmp_path / 'ns.db'}"
    host, pid = socket.gethostname(), _dead_pid()
    other_ns = "0" * 8 if namespace_tag() != "0" * 8 else "1" * 8
    worker = f"{host}:{pid}:abcdef-{other_ns}"
    assert not known_dead(worker)
    study, tid = _running_trial(url, worker)
    study.optimize(lambda t: t.params["x"], n_trials=2, stale_after=30)  # recover() runs first
    assert study.storage.get_trial(tid).state is TrialState.RUNNING
    assert study.storage.get_trial(tid).worker == worker
    # the same record in *our* namespace is dead at once (the pid check still works there)
    ours = f"{host}:{pid}:abcdef-{namespace_tag()}"
    assert namespace_tag() and known_dead(ours)
    _, tid2 = _running_trial(url, ours)
    study.optimize(lambda t: t.params["x"], n_trials=1, stale_after=30)
    assert "died" in study.storage.get_trial(tid2).system_attrs.get("requeued", "")


def test_worker_ids_without_a_namespace_are_left_to_heartbeats(tmp_path):
    """An id written before namespaces were recorded (host:pid:token): no pid verdict."""
    host, pid = socket.gethostname(), _dead_pid()
    assert not known_dead(f"{host}:{pid}:abcdef")
    w = parse_worker(new_worker_id("manual@"))
    assert w is not None and w.manual and w.pid == os.getpid() and w.ns == namespace_tag()


# ------------------------------------------------------------------ 20.7 + 13.6 ask leases
def test_asked_trials_with_a_lease_do_not_block_optimize(tmp_path):
    """Four ask() trials never told used to make optimize(total_trials=7) start nothing for
    ever; with a lease they go back to the queue and optimize evaluates them."""
    study = tk.create_study(SPACE, storage=f"sqlite:///{tmp_path / 'a.db'}", seed=0)
    asked = [study.ask(lease=0.5) for _ in range(4)]
    t0 = time.monotonic()
    study.optimize(lambda t: t.params["x"], total_trials=7, timeout=30)
    assert time.monotonic() - t0 < 20
    c = study.counts()
    assert (c.complete, c.running, c.failed) == (7, 0, 0)
    again = {t.number: t for t in study.trials}
    for a in asked:  # the same numbers and params, evaluated by optimize
        assert again[a.number].state is TrialState.COMPLETE
        assert dict(again[a.number].params) == dict(a.params)
    with pytest.raises(TansakuError, match="re-queued"):
        study.tell(asked[0], 1.0)  # its lease ran out: this late result is not taken


ASKER = """
import os, signal, sys, time
import tansaku as tk
study = tk.load_study("ask", storage=sys.argv[1])
study.heartbeat_interval = %(beat)s
t = study.ask()
print(t.number, flush=True)
if sys.argv[2] == "die":
    os._exit(0)     # no tell, no clean-up
time.sleep(60)
"""


def _asker(tmp_path: Path, url: str, mode: str) -> tuple[subprocess.Popen, int]:
    script = tmp_path / "asker.py"
    script.write_text(ASKER % {"beat": BEAT})
    p = subprocess.Popen([PY, str(script), url, mode], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    return p, int(p.stdout.readline())


@pytest.mark.parametrize("how", ["died", "stopped"])
def test_an_asked_trial_of_a_lost_process_is_reclaimed(tmp_path, how):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = tk.create_study(SPACE, storage=url, name="ask", seed=0)
    p, number = _asker(tmp_path, url, "die" if how == "died" else "sleep")
    try:
        if how == "died":
            p.wait(10)
        else:
            os.kill(p.pid, signal.SIGSTOP)  # alive, but silent: only its heartbeat can tell
        study.optimize(lambda t: t.params["x"], total_trials=3, stale_after=STALE, timeout=30)
        t = study.storage.get_trial_by_number(study.study_id, number)
        assert t.state is TrialState.COMPLETE
        why = "died" if how == "died" else "no heartbeat"
        assert why in t.system_attrs["requeued"]
        assert study.counts().complete == 3
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
        p.wait()


def test_a_live_askers_trial_is_kept_past_stale_after(tmp_path):
    """The asking process beats for its trial: another process's optimize with a short
    stale_after leaves it alone, and the asker's tell is stored."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = tk.create_study(SPACE, storage=url, name="ask", seed=0)
    study.heartbeat_interval = BEAT
    t = study.ask()
    other = subprocess.Popen(
        [PY, "-c", textwrap.dedent(f"""
            import time, tansaku as tk
            s = tk.load_study("ask", storage={url!r})
            def f(t):
                time.sleep(0.5)
                return t.params["x"]
            s.optimize(f, n_trials=6, heartbeat_interval={BEAT}, stale_after={STALE})
        """)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    _finish([other])  # 3 s of reclaiming while our trial is held
    assert study.storage.get_trial(t.trial_id).state is TrialState.RUNNING
    assert study.tell(t, 0.25).state is TrialState.COMPLETE


def test_tansaku_run_says_what_it_waits_for_and_trial_fail_clears_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: ask
        storage: {url}
        sampler: {{name: random, seed: 3}}
        n_trials: 2
        heartbeat_interval: {BEAT}
        space:
          x: {{type: float, low: 0, high: 1}}
        command: [sh, -c, 'echo {{x}}']
        """)
    )
    tk.create_study(SPACE, storage=url, name="ask", seed=0)
    p, number = _asker(tmp_path, url, "sleep")  # holds one trial, alive, never tells
    try:
        run = subprocess.Popen(
            [PY, "-m", "tansaku", "run", str(cfg)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert run.stdout is not None
        seen = []
        for line in run.stdout:
            seen.append(line)
            if "waiting for 1 running trial" in line:
                break
        assert "study.ask()" in seen[-1] and f"trial {number}" in seen[-1], seen
        assert sum("waiting for" in x for x in seen) == 1
        out = subprocess.run(
            [PY, "-m", "tansaku", "trial", "fail", str(number), str(cfg)],
            capture_output=True, text=True, cwd=tmp_path,
        )
        assert out.returncode == 0 and f"trial {number}: failed" in out.stdout, out.stderr
        rest, _ = run.communicate(timeout=60)
        assert run.returncode == 0, "".join(seen) + rest
        study = tk.load_study("ask", storage=url)
        c = study.counts()
        assert (c.complete, c.failed, c.running) == (2, 1, 0)
        again = subprocess.run(
            [PY, "-m", "tansaku", "trial", "fail", str(number), str(cfg)],
            capture_output=True, text=True, cwd=tmp_path,
        )
        assert again.returncode == 1 and "is failed, not running" in again.stderr
    finally:
        p.kill()
        p.wait()


def test_tell_by_number_from_another_process_clears_an_asked_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    tk.create_study(SPACE, storage=url, name="ask", seed=0)
    p, number = _asker(tmp_path, url, "sleep")
    try:
        other = tk.load_study("ask", storage=url)
        done = other.tell(number, state="failed", message="abandoned")
        assert done.state is TrialState.FAILED and done.message == "abandoned"
    finally:
        p.kill()
        p.wait()


def test_ask_lease_must_be_positive():
    study = tk.create_study(SPACE)
    with pytest.raises(tk.ConfigError, match="lease"):
        study.ask(lease=0)
    assert json.dumps(study.counts().running) == "0"
