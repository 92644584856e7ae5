"""How long reports take on big studies: data objects, each figure, the whole HTML report.

A synthetic 100k-trial study (5 parameters of every kind; 85% complete, 10% pruned, 5% failed;
8 workers x 4 lanes with log-normal trial durations) is built as FrozenTrial records, so the times
are realistic; ``--sqlite`` also writes a 100k-trial study through the SQLite storage API (slow to
build: ~2 ms per trial, cached in the given file) and times ``tansaku report`` on it end to end.

    PYTHONPATH=src python benchmarks/report_render.py [--trials 100000] [--sqlite /tmp/big.db]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.report import TrialTable

SPACE = tk.Space(
    {
        "lr": tk.Float(1e-5, 1e-1, log=True),
        "momentum": tk.Float(0.0, 0.99),
        "layers": tk.Int(1, 8),
        "hidden": tk.Int(8, 512, log=True),
        "act": tk.Categorical(["relu", "tanh", "gelu"]),
    }
)


def synthetic_trials(n: int, *, seed: int = 0) -> list[FrozenTrial]:
    rng = np.random.default_rng(seed)
    lanes = [(f"node{w:02d}:{1000 + w}:abc{w:03d}", k) for w in range(8) for k in range(4)]
    free = np.zeros(len(lanes))
    t0 = 1.7e9
    out = []
    for i in range(n):
        lane = int(np.argmin(free))
        start = free[lane] + rng.exponential(0.5)
        dur = float(rng.lognormal(math.log(60), 0.6))
        free[lane] = start + dur
        p = {
            "lr": float(10 ** rng.uniform(-5, -1)),
            "momentum": float(rng.uniform(0, 0.99)),
            "layers": int(rng.integers(1, 9)),
            "hidden": round(2 ** rng.uniform(3, 9)),
            "act": str(rng.choice(["relu", "tanh", "gelu"])),
        }
        y = (math.log10(p["lr"]) + 3) ** 2 + 0.5 * p["momentum"] + rng.normal(0, 0.1)
        u = rng.random()
        state = (
            TrialState.COMPLETE
            if u < 0.85
            else (TrialState.PRUNED if u < 0.95 else TrialState.FAILED)
        )
        out.append(
            FrozenTrial(
                number=i,
                state=state,
                params=p,
                value=None if state is TrialState.FAILED else y,
                start_time=t0 + start,
                end_time=t0 + start + dur,
                worker=lanes[lane][0],
                message="RuntimeError: out of memory" if state is TrialState.FAILED else None,
            )
        )
    return out


def _cpu() -> float:
    """CPU seconds of this process and its finished children: on a shared machine this is close
    to what the wall time would be on an idle one (the code is single-threaded)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, fn, rows: list) -> object:  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), _cpu()
    out = fn()
    rows.append((label, time.perf_counter() - t, _cpu() - c))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--sqlite", help="also build/read a SQLite study of --trials trials here")
    args = ap.parse_args()

    import importlib.util

    import matplotlib  # noqa: F401  (import cost is measured apart, below)

    from tansaku import report
    from tansaku.plot import _render as r
    from tansaku.report._html import build_report, render_html, render_pngs

    model = "sklearn" if importlib.util.find_spec("sklearn") else "numpy"
    if model == "sklearn":
        import sklearn.ensemble  # noqa: F401

    rows: list[tuple[str, float]] = []
    trials = synthetic_trials(args.trials)
    table = timed(
        "TrialTable.from_trials",
        lambda: TrialTable.from_trials(trials, study="big", direction="minimize", space=SPACE),
        rows,
    )
    data = {}
    for name in (
        "history",
        "parallel_coordinates",
        "slices",
        "importance",
        "timeline",
        "top_trials",
    ):
        opts = {"model": model} if name == "importance" else {}
        data[name] = timed(
            f"data: {name}" + (f" ({model})" if opts else ""),
            lambda name=name, opts=opts: getattr(report, name)(table, **opts),
            rows,
        )
    if model == "sklearn":
        timed("data: importance (numpy)", lambda: report.importance(table, model="numpy"), rows)
    import io

    for name in ("history", "parallel_coordinates", "slices", "importance", "timeline"):
        fn = getattr(r, f"render_{name}")

        def draw(fn=fn, name=name) -> None:  # type: ignore[no-untyped-def]
            buf = io.BytesIO()
            fn(data[name]).savefig(buf, format="png", dpi=110)

        timed(f"draw+png: {name}", draw, rows)
    with tempfile.TemporaryDirectory() as d:

        def whole() -> int:
            rep = build_report(table)
            page = render_html(rep, render_pngs(rep))
            (Path(d) / "index.html").write_text(page)
            return len(page)

        size = timed("whole report (data + 5 PNGs + HTML)", whole, rows)
    if args.sqlite:
        db = Path(args.sqlite)
        url = f"sqlite:///{db}"
        from tansaku.storage import get_storage

        st = get_storage(url)
        try:
            info = st.get_study("big")
        except tk.StudyNotFoundError:
            info = st.create_study("big", space=SPACE, direction="minimize")
        have = st.counts(info.study_id).total
        if have < args.trials:
            print(f"writing {args.trials - have} trials to {db} (once) ...", file=sys.stderr)
            for tr in trials[have:]:
                new = st.start_trial(info.study_id, dict(tr.params), worker=tr.worker or "w")
                st.finish_trial(
                    new.trial_id,
                    worker=tr.worker,
                    state=tr.state,
                    value=tr.value,
                    message=tr.message,
                )
        timed("SQLite: TrialTable.load", lambda: TrialTable.load(st, "big"), rows)
        from tansaku.dashboard import StudyCache

        cache = StudyCache(st, "big", min_age=0.0)
        timed("dashboard: first poll (reads all trials)", cache.payload, rows)
        extra = st.start_trial(info.study_id, dict(trials[0].params), worker="bench")
        timed("dashboard: poll with 1 running trial", cache.payload, rows)
        st.finish_trial(extra.trial_id, worker="bench", state=TrialState.COMPLETE, value=1.0)
        cache._build_seconds = 0.0  # measure the rebuild, not the throttle
        timed("dashboard: poll after it finished", cache.payload, rows)
        import json

        kb = len(json.dumps(cache.payload())) / 1e3
        rows.append((f"dashboard: JSON payload {kb:.0f} kB", math.nan, math.nan))
        with tempfile.TemporaryDirectory() as d:
            cmd = [
                sys.executable,
                "-m",
                "tansaku",
                "report",
                "--storage",
                url,
                "--study",
                "big",
                "--out",
                d,
            ]
            timed(
                "SQLite: `tansaku report` (new process)",
                lambda: subprocess.run(cmd, check=True, capture_output=True),
                rows,
            )
    load = os.getloadavg()[0]
    print(
        f"\nreport timings, {args.trials} trials (python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end)"
    )
    print(f"| {'step':<44} | {'wall s':>7} | {'CPU s':>7} |")
    print(f"|{'-' * 46}|{'-' * 8}:|{'-' * 8}:|")
    for label, wall, cpu in rows:
        w = "" if math.isnan(wall) else f"{wall:.2f}"
        c = "" if math.isnan(cpu) else f"{cpu:.2f}"
        print(f"| {label:<44} | {w:>7} | {c:>7} |")
    print(f"HTML size: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
