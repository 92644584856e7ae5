"""Worker utilisation of a real run with a slow sampler, proposals buffered or not (issue 15.1).

A real ``study.optimize`` on the local executor (one process per trial slot), SQLite storage,
a 4-D quadratic whose trials sleep 1-2 s (the duration drawn from the trial's own params, so it
is the same whichever way the run goes), sampler ``gp`` or ``dngo``.  Each configuration runs
twice: with the proposal buffer switched off (``Coordinator.BUFFER_AFTER = inf``: the sampler is
asked when a worker frees, as before issue 15.1) and on (the default).

Printed per run: wall time from the first trial's start to the last one's end, worker
utilisation (trial-seconds over workers x that wall time), the median and p90 gap between a
trial's end and the next start, and the sampler's mean seconds per proposal.

Run from the repository root (niced; the machine is shared)::

    PYTHONPATH=src nice python benchmarks/proposal_buffer.py --samplers dngo,gp --workers 2,4 --trials 30
    PYTHONPATH=src nice python benchmarks/proposal_buffer.py --ask-cost 256,1024
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import tansaku as tk
from tansaku.study._optimize import Coordinator

SPACE = {f"x{i}": tk.Float(0.0, 1.0) for i in range(4)}


def objective(trial: tk.Trial) -> float:
    p = trial.params
    time.sleep(1.0 + p["x0"])  # 1-2 s, fixed by the params
    return float(sum((p[f"x{i}"] - 0.3) ** 2 for i in range(4)))


class CountingSampler:
    """Wraps a sampler's ask to add up its time (from whichever thread calls it)."""

    def __init__(self, sampler: Any) -> None:
        self.seconds = 0.0
        self.asks = 0
        real = sampler.ask

        def ask(pending: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return real(pending)
            finally:
                self.seconds += time.perf_counter() - t0
                self.asks += 1

        sampler.ask = ask


def run(sampler_name: str, workers: int, trials: int, buffered: bool, seed: int) -> dict[str, Any]:
    Coordinator.BUFFER_AFTER = 0.02 if buffered else math.inf
    with tempfile.TemporaryDirectory() as d:
        sampler = tk.samplers.make_sampler({"name": sampler_name, "seed": seed})
        count = CountingSampler(sampler)
        study = tk.create_study(SPACE, sampler=sampler, storage=f"sqlite:///{Path(d)}/b.db")
        study.optimize(objective, n_trials=trials, n_workers=workers, workdir=d)
        done = [t for t in study.trials if t.start_time and t.end_time]
    start = min(t.start_time for t in done)  # type: ignore[type-var]
    end = max(t.end_time for t in done)  # type: ignore[type-var]
    busy = sum(t.end_time - t.start_time for t in done)  # type: ignore[operator]
    starts = sorted(t.start_time for t in done)  # type: ignore[type-var]
    gaps = []
    for t in done:
        later = [s for s in starts if s >= t.end_time]  # type: ignore[operator]
        if later:
            gaps.append(later[0] - t.end_time)  # type: ignore[operator]
    gaps.sort()
    return {
        "wall": end - start,
        "util": busy / (workers * (end - start)),
        "gap50": statistics.median(gaps) if gaps else math.nan,
        "gap90": gaps[int(0.9 * (len(gaps) - 1))] if gaps else math.nan,
        "ask": count.seconds / max(1, count.asks),
        "best": study.best_value,
    }


def ask_cost(pending: int) -> float:
    """Milliseconds per ``study.ask()`` (random sampler, SQLite) while ``pending`` to
    ``2 * pending`` trials are RUNNING: what reading the sampler's pending trials costs."""
    with tempfile.TemporaryDirectory() as d:
        study = tk.create_study(SPACE, sampler="random", seed=0, storage=f"sqlite:///{d}/a.db")
        for _ in range(pending):
            study.ask()
        t0 = time.perf_counter()
        for _ in range(pending):
            study.ask()
        return (time.perf_counter() - t0) / pending * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samplers", default="dngo,gp")
    ap.add_argument("--workers", default="2,4")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ask-cost", default="", help="e.g. 256,1024: only the per-ask cost at "
                    "that many pending trials (runs with any version of tansaku)")
    a = ap.parse_args()
    if a.ask_cost:
        for n in (int(x) for x in a.ask_cost.split(",")):
            print(f"ask with {n}-{2 * n} pending: {ask_cost(n):.2f} ms", flush=True)
        return
    print("| sampler | workers | buffer | wall s | utilisation | gap median s | gap p90 s "
          "| s per proposal | best |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in a.samplers.split(","):
        for w in (int(x) for x in a.workers.split(",")):
            for buffered in (False, True):
                r = run(name, w, a.trials, buffered, a.seed)
                print(f"| {name} | {w} | {'on' if buffered else 'off'} | {r['wall']:.1f} | "
                      f"{r['util']:.2f} | {r['gap50']:.3f} | {r['gap90']:.3f} | {r['ask']:.3f} "
                      f"| {r['best']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
