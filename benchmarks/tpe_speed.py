"""Seconds per suggestion of tansaku's ``tpe`` against Optuna's and Hyperopt's TPE.

For each ``n`` (trials already finished) and ``d`` (continuous dims on [0, 1]) every sampler gets
the same ``n`` random finished trials, then ``reps`` rounds of *ask one point, tell its value* are
timed and the median round reported (the first round is a warm-up and not counted).  What is timed is what a study
pays per new trial:

* tansaku: ``TPESampler.ask(pending=[])`` + ``tell(trial)`` (the sampler alone, no storage);
* Optuna 5: ``study.ask(fixed_distributions)`` + ``study.tell`` on an in-memory study (the
  sampler cannot be called without a study; in-memory storage is the cheapest Optuna offers),
  ``TPESampler(multivariate=False)`` and ``TPESampler(multivariate=True)`` (Optuna 5's default);
* Hyperopt: ``tpe.suggest`` on a ``Trials`` object + inserting the finished trial.

Run from the repository root::

    PYTHONPATH=src nice python benchmarks/tpe_speed.py [--quick] [--reps 10]

``--quick``: n = 100 and 1,000 only, 4 timed rounds.  Ratios ``x`` are their time / ours.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from tansaku.study._records import FrozenTrial, TrialState  # noqa: E402

import tansaku as tk  # noqa: E402
from tansaku.samplers._tpe import TPESampler  # noqa: E402


def _history(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sum((x - 0.3) ** 2, axis=1) + 0.01 * rng.random(n)
    return x, y


def _f(x: np.ndarray) -> float:
    return float(np.sum((np.asarray(x) - 0.3) ** 2))


def _timed(step: Callable[[], None], reps: int) -> float:
    """Median seconds of ``reps`` rounds (robust to other processes on a shared machine)."""
    step()  # warm-up: caches, lazy imports, the first merge of the history
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_tansaku(n: int, d: int, reps: int, multivariate: bool = True) -> float:
    names = [f"x{i}" for i in range(d)]
    s = TPESampler(seed=0, multivariate=multivariate)
    s.bind(tk.Space({k: tk.Float(0.0, 1.0) for k in names}))
    x, y = _history(n, d)
    for i in range(n):
        s.tell(FrozenTrial(number=i, state=TrialState.COMPLETE,
                           params=dict(zip(names, map(float, x[i]))), value=float(y[i])))
    counter = [n]

    def step() -> None:
        p = s.ask([])
        s.tell(FrozenTrial(number=counter[0], state=TrialState.COMPLETE, params=p,
                           value=_f([p[k] for k in names])))
        counter[0] += 1

    return _timed(step, reps)


def time_optuna(n: int, d: int, reps: int, multivariate: bool) -> float:
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {f"x{i}": FloatDistribution(0.0, 1.0) for i in range(d)}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=multivariate))
    x, y = _history(n, d)
    study.add_trials([
        optuna.trial.create_trial(params={f"x{j}": float(x[i, j]) for j in range(d)},
                                  distributions=dists, value=float(y[i]))
        for i in range(n)
    ])

    def step() -> None:
        t = study.ask(dists)
        study.tell(t, _f([t.params[f"x{j}"] for j in range(d)]))

    return _timed(step, reps)


def time_hyperopt(n: int, d: int, reps: int) -> float:
    from hyperopt import JOB_STATE_DONE, STATUS_OK, Domain, Trials, hp, tpe

    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    space = {f"x{i}": hp.uniform(f"x{i}", 0.0, 1.0) for i in range(d)}
    domain = Domain(lambda p: 0.0, space)
    trials = Trials()

    def insert(tid: int, vals: dict[str, float], loss: float) -> None:
        misc = {"tid": tid, "cmd": domain.cmd, "workdir": None,
                "idxs": {k: [tid] for k in vals}, "vals": {k: [v] for k, v in vals.items()}}
        docs = trials.new_trial_docs([tid], [None], [{"status": STATUS_OK, "loss": loss}], [misc])
        docs[0]["state"] = JOB_STATE_DONE
        trials.insert_trial_docs(docs)
        trials.refresh()

    x, y = _history(n, d)
    for i in range(n):
        insert(trials.new_trial_ids(1)[0], {f"x{j}": float(x[i, j]) for j in range(d)}, float(y[i]))
    seed = [0]

    def step() -> None:
        tid = trials.new_trial_ids(1)[0]
        doc = tpe.suggest([tid], domain, trials, seed[0])[0]
        vals = {k: float(v[0]) for k, v in doc["misc"]["vals"].items()}
        insert(tid, vals, _f([vals[f"x{j}"] for j in range(d)]))
        seed[0] += 1

    return _timed(step, reps)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="n = 100, 1000 only; 4 timed rounds")
    ap.add_argument("--reps", type=int, default=None, help="timed rounds per cell (default 10)")
    ap.add_argument("--no-hyperopt", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    if os.nice(0) < 10:
        os.nice(10)
    ns = (100, 1000) if args.quick else (100, 1000, 5000)
    reps = args.reps or (4 if args.quick else 10)
    cols = ["tansaku tpe", "tansaku tpe (uni)", "optuna tpe (uni)", "optuna tpe (mv)"]
    if not args.no_hyperopt:
        cols.append("hyperopt tpe")
    print(f"ms per suggestion (ask + tell), median of {reps} rounds after a warm-up; "
          "x = their time / ours")
    print()
    header = "| d | n | " + " | ".join(cols) + " | optuna uni x | optuna mv x |"
    if not args.no_hyperopt:
        header += " hyperopt x |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for d in (6, 10):
        for n in ns:
            t = {
                "tansaku tpe": time_tansaku(n, d, reps),
                "tansaku tpe (uni)": time_tansaku(n, d, reps, multivariate=False),
                "optuna tpe (uni)": time_optuna(n, d, reps, multivariate=False),
                "optuna tpe (mv)": time_optuna(n, d, reps, multivariate=True),
            }
            if not args.no_hyperopt:
                t["hyperopt tpe"] = time_hyperopt(n, d, max(2, reps // 3) if n >= 5000 else reps)
            ours = t["tansaku tpe"]
            row = f"| {d} | {n} | " + " | ".join(f"{1e3 * t[c]:.2f}" for c in cols)
            row += f" | {t['optuna tpe (uni)'] / ours:.1f} | {t['optuna tpe (mv)'] / ours:.1f} |"
            if not args.no_hyperopt:
                row += f" {t['hyperopt tpe'] / ours:.1f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
