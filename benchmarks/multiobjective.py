"""Several objectives: hypervolume of tansaku's nsga2 and mo-tpe next to Optuna's NSGAIISampler
and TPESampler, in the same run, on ZDT1/ZDT2/ZDT3 (2 objectives, 30 variables) and DTLZ2
(3 objectives, 12 variables); and a constrained problem (Branin that must keep x1 + x2 >= 14,
single objective), tansaku's tpe against Optuna's TPESampler(constraints_func=...).

Each (problem, sampler, seed) is one run of the largest budget; the hypervolume at a smaller
budget is that of the run's first trials (what the sampler had found by then).  Reference points:
(11, 11) for ZDT, (3.5, 3.5, 3.5) for DTLZ2 (loose, so early fronts count).

    nice python benchmarks/multiobjective.py --seeds 10 --budgets 100,200,500
    nice python benchmarks/multiobjective.py --seeds 3 --budgets 100,200 --problems zdt1,dtlz2
    nice python benchmarks/multiobjective.py --seeds 10 --samplers optuna-tpe --cache runs.json
    nice python benchmarks/multiobjective.py --problems "" --seeds 5     # the constrained table only
    nice python benchmarks/multiobjective.py --samplers gp-parego --problems zdt1,dtlz2 --seeds 3 \
        --budgets 100,200

``gp-parego`` (tansaku's gp through ParEGO scalarising) is not in the default sampler list: a
GP fit per proposal makes it far slower than the others.

``--cache`` keeps every finished run (problem, sampler, seed, largest budget) in a JSON file, so
one long benchmark can be split over processes (each its own file; list them all, comma-separated,
to print the tables) and resumed after a stop; the tables then hold reused runs, same command.
The constrained table compares tansaku's tpe (infeasible trials ranked last) and gp (constrained
EI: a GP per constraint) with Optuna's TPESampler given the constraint.

Prints a markdown table per problem: mean (sd) hypervolume per sampler and budget, the best at
each budget in bold; then the constrained table (best feasible value found; mean over seeds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tansaku as tk
from tansaku.algorithms._pareto import hypervolume


# ------------------------------------------------------------------ problems (all minimised)
def zdt1(x: np.ndarray) -> tuple[float, ...]:
    g = 1 + 9 * x[1:].mean()
    return x[0], g * (1 - math.sqrt(x[0] / g))


def zdt2(x: np.ndarray) -> tuple[float, ...]:
    g = 1 + 9 * x[1:].mean()
    return x[0], g * (1 - (x[0] / g) ** 2)


def zdt3(x: np.ndarray) -> tuple[float, ...]:
    g = 1 + 9 * x[1:].mean()
    h = 1 - math.sqrt(x[0] / g) - (x[0] / g) * math.sin(10 * math.pi * x[0])
    return x[0], g * h


def dtlz2(x: np.ndarray) -> tuple[float, ...]:
    m = 3
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    c = np.cos(x[: m - 1] * math.pi / 2)
    s = np.sin(x[: m - 1] * math.pi / 2)
    return (
        (1 + g) * c[0] * c[1],
        (1 + g) * c[0] * s[1],
        (1 + g) * s[0],
    )


PROBLEMS: dict[str, tuple[Callable[[np.ndarray], tuple[float, ...]], int, list[float]]] = {
    "zdt1": (zdt1, 30, [11.0, 11.0]),
    "zdt2": (zdt2, 30, [11.0, 11.0]),
    "zdt3": (zdt3, 30, [11.0, 11.0]),
    "dtlz2": (dtlz2, 12, [3.5, 3.5, 3.5]),
}


def run_tansaku(name: str, problem: str, seed: int, n: int) -> list[tuple[float, ...]]:
    f, d, _ = PROBLEMS[problem]
    m = len(PROBLEMS[problem][2])
    study = tk.create_study(
        {f"x{i}": tk.Float(0.0, 1.0) for i in range(d)},
        directions=["minimize"] * m,
        sampler={"name": name, "seed": seed},
    )
    study.optimize(lambda t: f(np.array([t.params[f"x{i}"] for i in range(d)])), n_trials=n)
    return [tuple(t.values) for t in study.trials if t.values is not None]


def run_optuna(name: str, problem: str, seed: int, n: int) -> list[tuple[float, ...]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    f, d, ref = PROBLEMS[problem]
    sampler = (
        optuna.samplers.NSGAIISampler(seed=seed)
        if name == "optuna-nsga2"
        else optuna.samplers.TPESampler(seed=seed)
    )
    study = optuna.create_study(directions=["minimize"] * len(ref), sampler=sampler)
    study.optimize(
        lambda t: f(np.array([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(d)])),
        n_trials=n,
    )
    return [tuple(t.values) for t in study.trials if t.values is not None]


SAMPLERS = {
    "nsga2": lambda p, s, n: run_tansaku("nsga2", p, s, n),
    "mo-tpe": lambda p, s, n: run_tansaku("mo-tpe", p, s, n),
    "optuna-nsga2": lambda p, s, n: run_optuna("optuna-nsga2", p, s, n),
    "optuna-tpe": lambda p, s, n: run_optuna("optuna-tpe", p, s, n),
    # tansaku's gp through ParEGO scalarising (a random Chebyshev weighting per proposal); not in
    # the default list: a model fit per proposal makes it far slower than the rest
    "gp-parego": lambda p, s, n: run_tansaku("gp", p, s, n),
}
DEFAULT_SAMPLERS = ("nsga2", "mo-tpe", "optuna-nsga2", "optuna-tpe")


# ------------------------------------------------------------------ constrained
def branin(x1: float, x2: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    return a * (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def disc(x1: float, x2: float) -> float:
    """<= 0 when x1 + x2 >= 14 (27 % of the box): all three unconstrained minima of Branin are
    infeasible, so the constrained optimum lies on the line x1 + x2 = 14."""
    return 14.0 - x1 - x2


def constrained_tansaku(seed: int, n: int, sampler: str = "tpe") -> list[tuple[float, float]]:
    def objective(trial: tk.Trial) -> float:
        x1, x2 = trial.params["x1"], trial.params["x2"]
        trial.set_constraint("disc", disc(x1, x2))
        return branin(x1, x2)

    study = tk.create_study(
        {"x1": tk.Float(-5.0, 10.0), "x2": tk.Float(0.0, 15.0)},
        sampler={"name": sampler, "seed": seed},
    )
    study.optimize(objective, n_trials=n)
    return [(float(t.value), t.violation) for t in study.trials if t.value is not None]


def constrained_gp(seed: int, n: int) -> list[tuple[float, float]]:
    return constrained_tansaku(seed, n, "gp")


def constrained_optuna(seed: int, n: int) -> list[tuple[float, float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        x1, x2 = trial.suggest_float("x1", -5.0, 10.0), trial.suggest_float("x2", 0.0, 15.0)
        trial.set_user_attr("c", disc(x1, x2))
        if hasattr(trial, "set_constraint"):  # Optuna 5 (constraints_func is deprecated there)
            trial.set_constraint("disc", disc(x1, x2))
        return branin(x1, x2)

    if hasattr(optuna.Trial, "set_constraint"):
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(
            seed=seed, constraints_func=lambda t: (t.user_attrs["c"],)
        )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return [(float(t.value), max(0.0, t.user_attrs["c"])) for t in study.trials]


def best_feasible(rows: list[tuple[float, float]], n: int) -> float:
    vals = [v for v, viol in rows[:n] if viol <= 0]
    return min(vals) if vals else math.inf


# ------------------------------------------------------------------ driver
def _save(path: str, key: str, values: list[tuple[float, ...]], seconds: float) -> None:
    """Add one finished run to the cache file (re-read first: several processes may share it)."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        data = {}
    data[key] = {"values": [list(map(float, v)) for v in values], "seconds": seconds}
    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh)
    os.replace(path + ".tmp", path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="100,200,500")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--samplers", default=",".join(DEFAULT_SAMPLERS))
    ap.add_argument("--constrained-budgets", default="30,60")
    ap.add_argument("--json", help="also write every number to this file")
    ap.add_argument(
        "--cache",
        help="comma-separated JSON files of finished runs (problem|sampler|seed|n -> values): runs "
        "found there are reused, new ones are added to the first file as each finishes, so a long "
        "benchmark can be split over processes and resumed; the tables say which runs were reused",
    )
    ap.add_argument("--no-constrained", action="store_true", help="skip the constrained table")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="print the tables from the --cache files only (the seeds found there), run nothing",
    )
    args = ap.parse_args()
    cache_files = args.cache.split(",") if args.cache else []
    cache: dict[str, dict[str, Any]] = {}
    for path in cache_files:
        try:
            with open(path) as fh:
                cache.update(json.load(fh))
        except FileNotFoundError:
            pass
    budgets = [int(b) for b in args.budgets.split(",")]
    out: dict[str, dict[str, dict[int, list[float]]]] = {}
    seconds: dict[str, dict[str, float]] = {}
    for problem in [p for p in args.problems.split(",") if p]:
        ref = np.array(PROBLEMS[problem][2])
        out[problem], seconds[problem] = {}, {}
        for name in args.samplers.split(","):
            out[problem][name] = {b: [] for b in budgets}
            took = []
            for seed in range(args.seeds):
                key = f"{problem}|{name}|{seed}|{max(budgets)}"
                if key in cache:
                    values = [tuple(v) for v in cache[key]["values"]]
                    took.append(cache[key]["seconds"])
                elif args.report_only:
                    continue
                else:
                    t1 = time.perf_counter()
                    values = SAMPLERS[name](problem, seed, max(budgets))
                    took.append(time.perf_counter() - t1)
                    if cache_files:
                        _save(cache_files[0], key, values, took[-1])
                for b in budgets:
                    out[problem][name][b].append(hypervolume(np.array(values[:b]), ref))
            if not took:  # --report-only and no cached run
                del out[problem][name]
                continue
            seconds[problem][name] = float(np.mean(took))
            print(f"  {problem} {name}: {seconds[problem][name]:.1f} s per run", flush=True)
        if not out[problem]:
            continue
        print(f"\n### {problem} (hypervolume, reference {ref.tolist()}; mean (sd) over seeds)\n")
        print("| sampler | seeds | " + " | ".join(f"{b} evals" for b in budgets) + " | s per run |")
        print("|---|---:|" + "---:|" * (len(budgets) + 1))
        best = {b: max(np.mean(out[problem][s][b]) for s in out[problem]) for b in budgets}
        for name, per in out[problem].items():
            cells = []
            for b in budgets:
                m, sd = float(np.mean(per[b])), float(np.std(per[b]))
                text = f"{m:.3f} ({sd:.3f})"
                cells.append(f"**{text}**" if m == best[b] else text)
            n_seeds = len(per[budgets[0]])
            print(f"| {name} | {n_seeds} | " + " | ".join(cells) + f" | {seconds[problem][name]:.1f} |")
        print(flush=True)
    if args.no_constrained:
        return
    cb = [int(b) for b in args.constrained_budgets.split(",")]
    cons: dict[str, dict[int, list[float]]] = {}
    runners = (
        ("tansaku tpe", constrained_tansaku),
        ("tansaku gp (constrained EI)", constrained_gp),
        ("optuna tpe (constraints)", constrained_optuna),
    )
    for label, fn in runners:
        runs = []
        for seed in range(args.seeds):
            key = f"branin|{label}|{seed}|{max(cb)}"
            if key in cache:
                runs.append([tuple(v) for v in cache[key]["values"]])
                continue
            if args.report_only:
                continue
            t1 = time.perf_counter()
            runs.append(fn(seed, max(cb)))
            if cache_files:
                _save(cache_files[0], key, runs[-1], time.perf_counter() - t1)
        if runs:
            cons[label] = {b: [best_feasible(r, b) for r in runs] for b in cb}
        print(f"  constrained {label}: {len(runs)} seeds", flush=True)
    print("\n### constrained Branin (x1 + x2 >= 14): best feasible value, mean (sd) over seeds\n")
    print("| sampler | seeds | " + " | ".join(f"{b} evals" for b in cb) + " |")
    print("|---|---:|" + "---:|" * len(cb))
    for label, per in cons.items():
        cells = " | ".join(f"{np.mean(per[b]):.4f} ({np.std(per[b]):.4f})" for b in cb)
        print(f"| {label} | {len(per[cb[0]])} | {cells} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"hypervolume": out, "seconds": seconds, "constrained": cons}, fh)


if __name__ == "__main__":
    main()
