"""Conditional spaces (issue 17): median regret of each sampler with ``when`` conditions, with the
flat workaround (every parameter always declared, the inactive ones ignored), and of Optuna's TPE
with define-by-run.

Two functions, both with known optimum 0:

* ``branch``: ``kind`` in {a, b}; branch a has its own 3 floats (optimum 0.2, -0.5, 0.7 at loss 0.0),
  branch b its own 4 floats (a shifted optimum, best loss 0.3), plus one shared log float;
* ``branch3``: ``kind`` in {a, b, c}: branches a and b as in ``branch``, branch c with its own 2
  floats (optimum 0.6, -0.2 at loss 0.15), the same shared log float;
* ``mlp``: ``examples/conditional``'s study: a scikit-learn MLP on the bundled digits data, with
  ``solver`` in {sgd, adam} (``momentum`` only for sgd, ``beta1`` only for adam) and one width per
  layer; the value is the validation error (not a regret: the optimum is unknown), run on request;
* ``depth``: ``n`` in 1..4 layers, one float per layer (``w1``..``w4``); the best depth is 3 with
  ``w_k = 0.1 k``; deeper or shallower pays 0.25 per layer of difference.

Each sampler runs the space three ways (``--kinds``): ``when`` (declared conditions), ``flat``
(every parameter declared, the inactive ones ignored) and ``dbr`` (define-by-run: the objective
calls ``trial.suggest_*``, no declared space), beside Optuna's TPE on the same define-by-run
objective.

Run (nice it; one core):
    nice python benchmarks/conditional.py --seeds 10 --budgets 50 100 200 --samplers tpe gp dngo random
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import tansaku as tk

A_OPT = (0.2, -0.5, 0.7)
B_OPT = (-0.3, 0.4, 0.1, -0.8)


def branch_space(conditional: bool) -> dict[str, Any]:
    wa = {"when": {"kind": "a"}} if conditional else {}
    wb = {"when": {"kind": "b"}} if conditional else {}
    space: dict[str, Any] = {"kind": tk.Categorical(["a", "b"]), "lr": tk.Float(1e-4, 1.0, log=True)}
    space |= {f"a{i}": tk.Float(-1.0, 1.0, **wa) for i in range(3)}
    space |= {f"b{i}": tk.Float(-1.0, 1.0, **wb) for i in range(4)}
    return space


def branch(p: dict[str, Any]) -> float:
    v = 0.1 * (math.log10(p["lr"]) + 2) ** 2
    if p["kind"] == "a":
        return v + sum((p[f"a{i}"] - o) ** 2 for i, o in enumerate(A_OPT))
    return v + 0.3 + sum((p[f"b{i}"] - o) ** 2 for i, o in enumerate(B_OPT))


C_OPT = (0.6, -0.2)


def branch3_space(conditional: bool) -> dict[str, Any]:
    space = branch_space(conditional)
    space["kind"] = tk.Categorical(["a", "b", "c"])
    wc = {"when": {"kind": "c"}} if conditional else {}
    return space | {f"c{i}": tk.Float(-1.0, 1.0, **wc) for i in range(2)}


def branch3(p: dict[str, Any]) -> float:
    if p["kind"] != "c":
        return branch(p)
    v = 0.1 * (math.log10(p["lr"]) + 2) ** 2
    return v + 0.15 + sum((p[f"c{i}"] - o) ** 2 for i, o in enumerate(C_OPT))


def depth_space(conditional: bool) -> dict[str, Any]:
    space: dict[str, Any] = {"n": tk.Int(1, 4)}
    for k in range(1, 5):
        when = {"when": {"n": list(range(k, 5))}} if conditional and k > 1 else {}
        space[f"w{k}"] = tk.Float(-1.0, 1.0, **when)
    return space


def depth(p: dict[str, Any]) -> float:
    n = p["n"]
    return 0.25 * abs(n - 3) + sum((p[f"w{k}"] - 0.1 * k) ** 2 for k in range(1, n + 1))


def mlp_space(conditional: bool) -> dict[str, Any]:
    def when(cond: dict[str, Any]) -> dict[str, Any]:
        return {"when": cond} if conditional else {}

    return {
        "solver": tk.Categorical(["sgd", "adam"]), "lr": tk.Float(1e-4, 0.3, log=True),
        "momentum": tk.Float(0.0, 0.99, **when({"solver": "sgd"})),
        "beta1": tk.Float(0.5, 0.999, **when({"solver": "adam"})),
        "layers": tk.Int(1, 3), "units1": tk.Int(8, 128, log=True),
        "units2": tk.Int(8, 128, log=True, **when({"layers": [2, 3]})),
        "units3": tk.Int(8, 128, log=True, **when({"layers": 3}))}


#: examples/conditional, holding train.py with the MLP objective (put on sys.path once, when used)
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "conditional")


def mlp(p: dict[str, Any]) -> float:
    """The example's validation error; it reads only the parameters its solver and depth use."""
    if EXAMPLE not in sys.path:
        sys.path.insert(0, EXAMPLE)
    from train import error

    return float(error(p))


PROBLEMS: dict[str, tuple[Callable[[bool], dict[str, Any]], Callable[[dict[str, Any]], float]]] = {
    "branch": (branch_space, branch),
    "depth": (depth_space, depth),
    "branch3": (branch3_space, branch3),
    "mlp": (mlp_space, mlp),
}


def define_by_run(problem: str) -> Callable[[Any], float]:
    """The objective written define-by-run (``trial.suggest_*``), for tansaku and Optuna alike."""

    def objective(trial: Any) -> float:
        if problem in ("branch", "branch3"):
            kinds = ["a", "b"] if problem == "branch" else ["a", "b", "c"]
            p: dict[str, Any] = {"kind": trial.suggest_categorical("kind", kinds),
                                 "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True)}
            n = {"a": 3, "b": 4, "c": 2}[p["kind"]]
            for name in (f"{p['kind']}{i}" for i in range(n)):
                p[name] = trial.suggest_float(name, -1.0, 1.0)
            return branch(p) if problem == "branch" else branch3(p)
        if problem == "mlp":
            p = {"solver": trial.suggest_categorical("solver", ["sgd", "adam"]),
                 "lr": trial.suggest_float("lr", 1e-4, 0.3, log=True)}
            if p["solver"] == "sgd":
                p["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
            else:
                p["beta1"] = trial.suggest_float("beta1", 0.5, 0.999)
            p["layers"] = trial.suggest_int("layers", 1, 3)
            for k in range(1, p["layers"] + 1):
                p[f"units{k}"] = trial.suggest_int(f"units{k}", 8, 128, log=True)
            return mlp(p)
        p = {"n": trial.suggest_int("n", 1, 4)}
        for k in range(1, p["n"] + 1):
            p[f"w{k}"] = trial.suggest_float(f"w{k}", -1.0, 1.0)
        return depth(p)

    return objective


def run_tansaku(problem: str, sampler: str, seed: int, n: int, kind: str) -> list[float]:
    """``kind``: ``when`` (declared conditions), ``flat`` (the workaround) or ``dbr``
    (define-by-run, no declared space)."""
    make, f = PROBLEMS[problem]
    smp = {"name": sampler, "seed": seed}
    if kind == "dbr":
        study = tk.create_study(sampler=smp, storage=None)
        study.optimize(define_by_run(problem), n_trials=n)
    else:
        study = tk.create_study(make(kind == "when"), sampler=smp, storage=None)
        study.optimize(lambda t: f(dict(t.params)), n_trials=n)
    return [float(t.value) for t in study.trials]


def cached(cache: str | None, key: str, run: Callable[[], list[float]]) -> list[float]:
    """``run()``, or the values a previous run with the same key stored under ``cache``
    (one JSON file per run, written when it finishes, so an interrupted benchmark resumes)."""
    if cache is None:
        return run()
    path = os.path.join(cache, key + ".json")
    if os.path.exists(path):
        with open(path) as fh:
            return [float(v) for v in json.load(fh)]
    values = run()
    os.makedirs(cache, exist_ok=True)
    with open(path + ".tmp", "w") as fh:
        json.dump(values, fh)
    os.replace(path + ".tmp", path)
    return values


def run_optuna(problem: str, seed: int, n: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(define_by_run(problem), n_trials=n)
    return [float(t.value) for t in study.trials]


def best_at(values: list[float], n: int) -> float:
    return min(values[:n])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (10 for held-out seeds 10-19)")
    ap.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--samplers", nargs="+",
                    default=["tpe", "gp", "dngo", "random", "cmaes", "nelder-mead"])
    ap.add_argument("--problems", nargs="+", default=["branch", "depth"], choices=list(PROBLEMS),
                    help="branch3 (three branches) and mlp (the example's MLP) run only when named")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--kinds", nargs="+", default=["when", "flat", "dbr"],
                    help="when: declared conditions; flat: the workaround; dbr: define-by-run")
    ap.add_argument("--cache", default=None,
                    help="directory keeping each finished run's values (reused when present; "
                         "clear it after changing a sampler)")
    args = ap.parse_args()
    top = max(args.budgets)
    print("| problem | sampler | space | " + " | ".join(f"{b} evals" for b in args.budgets) + " | s |")
    print("|---|---|---|" + "---|" * (len(args.budgets) + 1))
    for problem in args.problems:
        rows: list[tuple[str, str, list[list[float]], float]] = []
        for sampler in args.samplers:
            for kind in args.kinds:
                t0 = time.perf_counter()
                runs = [cached(args.cache, f"{problem}-{sampler}-{kind}-{s}-{top}",
                               functools.partial(run_tansaku, problem, sampler, s, top, kind))
                        for s in range(args.first_seed, args.first_seed + args.seeds)]
                rows.append((sampler, kind, runs, time.perf_counter() - t0))
        if not args.no_optuna:
            t0 = time.perf_counter()
            runs = [cached(args.cache, f"{problem}-optuna-tpe-{s}-{top}",
                           functools.partial(run_optuna, problem, s, top))
                    for s in range(args.first_seed, args.first_seed + args.seeds)]
            rows.append(("optuna-tpe", "define-by-run", runs, time.perf_counter() - t0))
        for name, kind, runs, secs in rows:
            cells = [statistics.median(best_at(r, b) for r in runs) for b in args.budgets]
            print(f"| {problem} | {name} | {kind} | " + " | ".join(f"{c:.4f}" for c in cells)
                  + f" | {secs:.0f} |", flush=True)


if __name__ == "__main__":
    main()
