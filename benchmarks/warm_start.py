"""Warm start (issue 17.4): new evaluations a study needs to reach a regret when it is first
seeded with 50 trials evaluated earlier, against a cold start — for ``tpe`` and ``gp``.

For every seed, the "earlier" trials are a 50-evaluation random search (its own seed) stored
three ways, each imported through the code ``tansaku import`` runs:

* ``study``: a tansaku study in SQLite (``tansaku.study._import.read_study``);
* ``csv``: that study written by ``tansaku export`` and read back (``read_csv``);
* ``optuna``: the same 50 trials in an Optuna 5 SQLite database, read through ``optuna``
  (``read_optuna``).

The three carry the same points and values, so their columns should agree (they differ only
by float round trips through the CSV text); that they do shows that each path hands the
sampler the whole history.  Then ``--budget`` new evaluations are run; the regret of the best
value so far counts the imported trials (they were paid for earlier), and "new evaluations to
the target" counts only the new ones.  Cold: the same sampler and seed, nothing imported.

Run from the repository root (2 niced worker processes)::

    PYTHONPATH=src nice python benchmarks/warm_start.py [--seeds 8] [--budget 60] [--quick]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import tansaku as tk  # noqa: E402
from tansaku.testing import functions as F  # noqa: E402

N_IMPORTED = 50
TARGETS = {"branin": 0.05, "hartmann6": 0.5}  # regret to reach
STARTS = ("cold", "study", "csv", "optuna")


def _sources(fname: str, seed: int, root: Path) -> dict[str, str]:
    """The 50 earlier trials as a tansaku study, its CSV export and an Optuna database."""
    import optuna

    from tansaku.cli import main

    f = F.get(fname)
    d = root / f"{fname}-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{d / 'old.db'}"
    old = tk.create_study(
        f.space(), sampler={"name": "random", "seed": 1000 + seed}, storage=url, name="old"
    )
    old.optimize(f.objective(), n_trials=N_IMPORTED)
    with contextlib.redirect_stdout(io.StringIO()):
        main(["export", "--storage", url, "--study", "old", "-o", str(d / "old.csv")])
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    ourl = f"sqlite:///{d / 'optuna.db'}"
    ost = optuna.create_study(study_name="old", storage=ourl)
    dists = {n: optuna.distributions.FloatDistribution(s.low, s.high) for n, s in f.space().items()}
    ost.add_trials(
        [
            optuna.trial.create_trial(params=dict(t.params), distributions=dists, value=t.value)
            for t in old.trials
        ]
    )
    return {"study": url, "csv": str(d / "old.csv"), "optuna": ourl}


def _run(job: tuple[str, str, str, int, int, dict[str, str]]) -> dict:
    fname, sampler, start, seed, budget, sources = job
    warnings.filterwarnings("ignore")
    if os.nice(0) < 10:
        os.nice(10)
    from tansaku.study import _import
    from tansaku.study._warm import add_checked

    f = F.get(fname)
    study = tk.create_study(f.space(), sampler={"name": sampler, "seed": seed})
    if start == "study":
        src = _import.read_study(
            tk.storage.get_storage(sources["study"]), "old", study.space, direction="minimize"
        )
    elif start == "csv":
        src = _import.read_csv(sources["csv"], study.space)
    elif start == "optuna":
        src = _import.read_optuna(sources["optuna"], "old", study.space, direction="minimize")
    if start != "cold":
        assert len(src.records) == N_IMPORTED
        add_checked(study, src.records, count=False)
    before = study.best_value if start != "cold" else float("inf")
    t0 = time.perf_counter()
    study.optimize(f.objective(), n_trials=budget)
    seconds = time.perf_counter() - t0
    new = [t.value for t in study.trials[(0 if start == "cold" else N_IMPORTED) :]]
    trace = np.minimum.accumulate([before, *new])[1:]
    return {
        "function": fname,
        "sampler": sampler,
        "start": start,
        "seed": seed,
        "regret": [f.regret(v) for v in trace],
        "seconds": seconds,
        "imported_best": f.regret(before) if start != "cold" else None,
    }


def _to_target(regret: list[float], target: float) -> int | None:
    for i, r in enumerate(regret):
        if r <= target:
            return i + 1
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--budget", type=int, default=60, help="new evaluations per run")
    ap.add_argument("--functions", nargs="+", default=list(TARGETS))
    ap.add_argument("--samplers", nargs="+", default=["tpe", "gp"])
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20 evaluations")
    ap.add_argument("--json", help="write every run's trace here")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.budget = 2, 20
    with tempfile.TemporaryDirectory() as tmp:
        sources = {
            (fn, s): _sources(fn, s, Path(tmp)) for fn in args.functions for s in range(args.seeds)
        }
        jobs = [
            (fn, smp, st, s, args.budget, sources[fn, s])
            for fn in args.functions
            for smp in args.samplers
            for st in STARTS
            for s in range(args.seeds)
        ]
        with ProcessPoolExecutor(2) as pool:
            runs = list(pool.map(_run, jobs))
    if args.json:
        Path(args.json).write_text(json.dumps(runs))
    marks = [k for k in (10, 25, 50) if k <= args.budget]
    print(
        f"median over {args.seeds} seeds; {N_IMPORTED} imported trials; {args.budget} new evaluations\n"
    )
    print(
        "| function (target) | sampler | start | new evals to target | reached | "
        + " | ".join(f"regret @{k} new" for k in marks)
        + " | s/run |"
    )
    print("|---|---|---|---:|---:|" + "---:|" * len(marks) + "---:|")
    for fn in args.functions:
        for smp in args.samplers:
            for st in STARTS:
                rs = [
                    r
                    for r in runs
                    if r["function"] == fn and r["sampler"] == smp and r["start"] == st
                ]
                hits = [_to_target(r["regret"], TARGETS[fn]) for r in rs]
                # a run that never reached it counts as budget + 1 (so the median is a lower bound)
                med = np.median([h if h is not None else args.budget + 1 for h in hits])
                reached = sum(h is not None for h in hits)
                shown = f"{med:.0f}" if med <= args.budget else f">{args.budget}"
                cells = " | ".join(
                    f"{np.median([r['regret'][k - 1] for r in rs]):.4f}" for k in marks
                )
                secs = np.median([r["seconds"] for r in rs])
                print(
                    f"| {fn} ({TARGETS[fn]}) | {smp} | {st} | {shown} | {reached}/{len(rs)} | {cells} | {secs:.1f} |"
                )
    imp = [r["imported_best"] for r in runs if r["imported_best"] is not None]
    print(f"\nmedian regret of the best imported trial: {np.median(imp):.4f}")


if __name__ == "__main__":
    main()
