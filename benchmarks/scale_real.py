"""Real processes at scale (issue 15.6): many concurrent commands, many workers on PostgreSQL.

Two measurements, each of real ``tansaku`` processes (no simulation):

* ``local``: ``tansaku run`` with the local executor and ``--workers`` concurrent external commands
  (``sh -c 'sleep S; echo X'`` with S drawn in ``[--low, --high]`` seconds).  Parallel efficiency
  = the wall time a zero-overhead scheduler would need for the same trials in the same order
  (greedy list scheduling on ``--workers`` slots) / the real wall time of ``tansaku run``, from
  start to exit.  Also the coordinator's own CPU seconds per trial and its peak memory (VmHWM),
  read from ``/proc`` (the commands' CPU is not counted).
* ``pg``: ``--procs`` ``tansaku worker`` processes (``--slots`` trials each at once) on one
  PostgreSQL study: every trial's command appends its number to a log, so a trial run twice or
  never is seen; the study must end with exactly ``n_trials`` finished trials.

    nice python benchmarks/scale_real.py local --workers 256 --trials 512
    nice python benchmarks/scale_real.py pg --procs 32 --slots 1 --trials 256

``pg`` starts a throwaway PostgreSQL server (``tests/services.py``).  The CI test
``tests/executors/test_scale_real.py`` runs both at a smaller size.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

CONFIG = """\
name: scale
storage: {storage}
sampler: {{name: random, seed: 0}}
n_trials: {trials}
n_workers: {workers}
max_failures: 5
heartbeat_interval: 2
space:
  s: {{type: float, low: {low}, high: {high}}}
  x: {{type: float, low: 0, high: 1}}
command: [sh, -c, 'echo "$TANSAKU_TRIAL_ID" >> {log}; sleep "$0"; echo "$1"', "{{s}}", "{{x}}"]
"""


def _env() -> dict[str, str]:
    """The processes' environment: this checkout's ``src`` first, and byte-code cached under the
    temp dir (this machine sets PYTHONDONTWRITEBYTECODE, which made every ``tansaku`` process
    compile sqlalchemy and tansaku from source: ~1-6 s per start under load)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "tansaku-scale-pycache")
    )
    env["PYTHONPATH"] = (
        f"{SRC}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(SRC)
    )
    return env


def _proc_usage(pid: int) -> tuple[float, int] | None:
    """(CPU seconds of the process itself, peak resident KiB), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime (children not counted)
    hwm = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0
    )
    return cpu, hwm


def ideal_wall(durations: list[float], workers: int) -> float:
    """Makespan of the trials in this order on ``workers`` slots with no overhead at all."""
    free = [0.0] * min(workers, max(1, len(durations)))
    for d in durations:
        heapq.heapreplace(free, free[0] + d)
    return max(free)


@dataclass
class LocalResult:
    trials: int
    workers: int
    wall: float
    span: float  # first trial started -> last trial finished
    ideal: float
    cpu_per_trial_ms: float
    peak_mb: float
    complete: int
    ran: int
    duplicates: int

    @property
    def efficiency(self) -> float:
        """Counting the whole ``tansaku run`` (interpreter start, study creation, exit)."""
        return self.ideal / self.wall

    @property
    def span_efficiency(self) -> float:
        """Counting from the first trial's start to the last one's end."""
        return self.ideal / self.span


def _trials(storage: str, cwd: Path) -> list[dict]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tansaku",
            "export",
            "--storage",
            storage,
            "--study",
            "scale",
            "--format",
            "json",
        ],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout)


def _span(rows: list[dict]) -> float:
    from datetime import datetime

    starts = [datetime.fromisoformat(r["started_at"]) for r in rows]
    ends = [datetime.fromisoformat(r["finished_at"]) for r in rows]
    return (max(ends) - min(starts)).total_seconds()


def run_local(workers: int, trials: int, low: float, high: float, tmp: Path) -> LocalResult:
    log = tmp / "ran.log"
    storage = f"sqlite:///{tmp / 'scale.db'}"
    cfg = tmp / "scale.yaml"
    cfg.write_text(
        CONFIG.format(storage=storage, trials=trials, workers=workers, low=low, high=high, log=log)
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tansaku", "run", str(cfg), "-q"],
        cwd=tmp,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    usage = (0.0, 0)
    while proc.poll() is None:
        u = _proc_usage(proc.pid)
        if u is not None:
            usage = u
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"tansaku run failed: {err[-2000:]}")
    rows = sorted(_trials(storage, tmp), key=lambda r: r["number"])
    complete = [r for r in rows if r["state"] == "complete"]
    ran = Counter(log.read_text().split())
    return LocalResult(
        trials=trials,
        workers=workers,
        wall=wall,
        span=_span(rows),
        ideal=ideal_wall([r["params"]["s"] for r in rows], workers),
        cpu_per_trial_ms=1000 * usage[0] / max(1, len(rows)),
        peak_mb=usage[1] / 1024,
        complete=len(complete),
        ran=len(ran),
        duplicates=sum(1 for c in ran.values() if c > 1),
    )


@dataclass
class PgResult:
    procs: int
    slots: int
    trials: int
    wall: float
    complete: int
    other_states: dict[str, int]
    ran: int
    never_ran: int
    duplicates: int
    numbers_unique: bool


def run_pg(
    url: str, procs: int, slots: int, trials: int, low: float, high: float, tmp: Path
) -> PgResult:
    log = tmp / "ran.log"
    cfg = tmp / "scale.yaml"
    cfg.write_text(
        CONFIG.format(storage=url, trials=trials, workers=slots, low=low, high=high, log=log)
    )
    t0 = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tansaku", "worker", str(cfg), "-q"],
            cwd=tmp,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    errors = []
    for w in workers:
        _, err = w.communicate(timeout=3600)
        if w.returncode != 0:
            errors.append(err.strip().splitlines()[-1:] or [f"exit {w.returncode}"])
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} worker(s) failed: {errors[:3]}")
    rows = _trials(url, tmp)
    states = Counter(r["state"] for r in rows)
    ran = Counter(log.read_text().split())
    numbers = [r["number"] for r in rows]
    return PgResult(
        procs=procs,
        slots=slots,
        trials=trials,
        wall=wall,
        complete=states.pop("complete", 0),
        other_states=dict(states),
        ran=len(ran),
        never_ran=sum(1 for n in numbers if str(n) not in ran),
        duplicates=sum(1 for c in ran.values() if c > 1),
        numbers_unique=len(set(numbers)) == len(numbers),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("local")
    a.add_argument("--workers", type=int, default=256)
    a.add_argument("--trials", type=int, default=512)
    a.add_argument("--low", type=float, default=3.0)
    a.add_argument("--high", type=float, default=10.0)
    b = sub.add_parser("pg")
    b.add_argument("--procs", type=int, default=32)
    b.add_argument("--slots", type=int, default=1)
    b.add_argument("--trials", type=int, default=256)
    b.add_argument("--low", type=float, default=0.5)
    b.add_argument("--high", type=float, default=2.0)
    args = p.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="tansaku-scale-real-") as d:
        tmp = Path(d)
        if args.what == "local":
            r = run_local(args.workers, args.trials, args.low, args.high, tmp)
            print(
                f"local: {r.trials} trials on {r.workers} workers: wall {r.wall:.1f} s, ideal "
                f"{r.ideal:.1f} s, efficiency {r.efficiency:.3f} (trial span {r.span:.1f} s: "
                f"{r.span_efficiency:.3f}); coordinator CPU "
                f"{r.cpu_per_trial_ms:.1f} ms/trial, peak RSS {r.peak_mb:.0f} MB; "
                f"{r.complete} complete, {r.ran} ran, {r.duplicates} ran twice"
            )
        else:
            sys.path.insert(0, str(ROOT))
            from tests.services import PostgresServer

            with PostgresServer.create() as server:
                r2 = run_pg(
                    server.create_database(),
                    args.procs,
                    args.slots,
                    args.trials,
                    args.low,
                    args.high,
                    tmp,
                )
            print(
                f"pg: {r2.procs} workers x {r2.slots} slots, n_trials {r2.trials}: wall "
                f"{r2.wall:.1f} s; {r2.complete} complete, other {r2.other_states}; "
                f"{r2.ran} ran, {r2.never_ran} never ran, {r2.duplicates} ran twice, "
                f"numbers unique: {r2.numbers_unique}"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
