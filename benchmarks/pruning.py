"""Pruning vs no pruning on the example training script (examples/training/train.py).

For each seed, every arm sees the *same* configurations in the same order (the random sampler
proposes by index, so pruning does not change what it proposes) with the same training seeds
(``{seed}`` comes from the study seed and the trial number), so a configuration gives the same
learning curve in every arm.  The reference arm ("none") runs N configurations to the end.  Each
pruning arm runs the same N, and then - only if the reference's best was pruned away - goes on
with the next configurations of the same sequence (at most 4N in all) until it has found a final
value at least as good as the reference's best.  Two views:

* **same N configurations**: trial time spent on them, and whether the best is the reference's;
* **equal final best**: trial time until each arm holds a final value <= the reference's best
  (for the reference: up to and including the trial that found it).

"Trial time" is measured three ways: the sum of trial durations (what a cluster bills; noisy on a
shared machine), the trials' CPU time (train.py ``--cpu-log``, also written when a pruned run gets
SIGTERM), and epochs trained (no machine noise at all).

Optuna's SuccessiveHalvingPruner and MedianPruner run the same configurations through the same
command (enqueued, reports read from stdout, the process group sent SIGTERM on prune).

    nice python benchmarks/pruning.py                  # seeds 0-2, N=40 configurations, 27 epochs
    nice python benchmarks/pruning.py --first-seed 3   # more seeds
    nice python benchmarks/pruning.py --quick          # 1 seed, N=15, 9 epochs

train.py reports the validation loss of its kept checkpoint (the best epoch so far) by default;
``--report last`` uses each epoch's raw loss instead (curves that rise when a run overfits).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tansaku as tk

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "examples" / "training" / "train.py"

SPACE = {
    "lr": tk.Float(1e-3, 1.0, log=True),
    "hidden": tk.Int(8, 256, log=True),
    "momentum": tk.Float(0.0, 0.95),
    "weight_decay": tk.Float(1e-6, 1e-1, log=True),
    "batch_size": tk.Categorical([32, 64, 128, 256]),
}


REPORT = "best"  # what train.py reports: best validation loss so far (its kept checkpoint)


ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def argv(epochs: int) -> list[str]:
    return [
        sys.executable, str(TRAIN), "--lr", "{lr}", "--hidden", "{hidden}",
        "--momentum", "{momentum}", "--weight-decay", "{weight_decay}",
        "--batch-size", "{batch_size}", "--epochs", str(epochs), "--seed", "{seed}",
        "--report", REPORT, "--cpu-log", "{workdir}/cpu.txt",
    ]  # fmt: skip


@dataclass
class Rec:
    """One trial: wall seconds, CPU seconds, epochs run, final value (None when pruned)."""

    seconds: float
    cpu: float
    epochs: int
    value: float | None


@dataclass
class Run:
    name: str
    recs: list[Rec]

    def best(self, k: int | None = None) -> tuple[float, int]:
        done = [(r.value, i) for i, r in enumerate(self.recs[:k]) if r.value is not None]
        return min(done) if done else (math.inf, -1)

    def reach(self, target: float) -> int | None:
        """Index of the first trial whose final value is <= target."""
        for i, r in enumerate(self.recs):
            if r.value is not None and r.value <= target:
                return i
        return None

    def cost(self, k: int) -> tuple[float, float, int]:
        head = self.recs[:k]
        return sum(r.seconds for r in head), sum(r.cpu for r in head), sum(r.epochs for r in head)


def cpu_of(workdir: Path) -> float:
    f = workdir / "cpu.txt"
    return sum(float(x) for x in f.read_text().split()) if f.exists() else math.nan


class StopAt:
    """Callback: stop once ``n`` trials are done and one of them reached ``target``."""

    def __init__(self, n: int, target: float | None) -> None:
        self.n, self.target, self.done, self.best = n, target, 0, math.inf

    def __call__(self, study: Any, trial: Any) -> None:
        self.done += 1
        value = getattr(trial, "value", None)
        if str(getattr(trial, "state", "")).lower().endswith("complete") and value is not None:
            self.best = min(self.best, value)
        if self.done >= self.n and (self.target is None or self.best <= self.target):
            study.stop()


def tansaku_run(
    name: str, pruner: Any, seed: int, n: int, target: float | None, epochs: int, tmp: Path
) -> Run:
    study = tk.create_study(
        SPACE, sampler={"name": "random", "seed": seed}, pruner=pruner, seed=seed
    )
    root = tmp / f"{name.replace(' ', '-')}-{seed}"
    cmd = tk.Command(argv(epochs), base_dir=ROOT, env=ENV)
    cap = n if target is None else 4 * n
    study.optimize(cmd, n_trials=cap, workdir=root, callbacks=[StopAt(n, target)])
    trials = study.get_trials()
    assert all(t.state is not tk.TrialState.FAILED for t in trials), [t.message for t in trials]
    return Run(
        name,
        [
            Rec(
                t.duration or 0.0,
                cpu_of(root / f"trial-{t.number:06d}"),
                t.last_step or 0,
                t.value if t.state is tk.TrialState.COMPLETE else None,
            )
            for t in trials
        ],
    )


def optuna_run(
    name: str, pruner: Any, configs: list[dict[str, Any]], n: int, target: float,
    epochs: int, tmp: Path,
) -> Run:  # fmt: skip
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))
    for c in configs:
        study.enqueue_trial({k: v for k, v in c.items() if k != "_seed"})
    recs: list[Rec] = []

    def objective(trial: optuna.Trial) -> float:
        p = {
            "lr": trial.suggest_float("lr", 1e-3, 1.0, log=True),
            "hidden": trial.suggest_int("hidden", 8, 256, log=True),
            "momentum": trial.suggest_float("momentum", 0.0, 0.95),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
            "seed": configs[trial.number]["_seed"],
            "workdir": tmp / f"{name.replace(' ', '-')}-{configs[0]['_seed']}-{trial.number}",
        }
        p["workdir"].mkdir(parents=True)
        args = [a.format(**p) if "{" in a else a for a in argv(epochs)]
        t0 = time.time()
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=p["workdir"],
            env={**os.environ, **ENV},
        )
        assert proc.stdout is not None
        last, step, pruned = math.nan, 0, False
        try:
            for line in proc.stdout:
                if line.startswith("tansaku:report"):
                    step = int(line.split("step=")[1].split()[0])
                    trial.report(float(line.split("value=")[1]), step)
                    if trial.should_prune():  # stopped as tansaku does: SIGTERM to the group
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGTERM)
                        pruned = True
                        raise optuna.TrialPruned()
                elif line.strip():
                    last = float(line)
            return last
        finally:
            proc.wait()
            recs.append(Rec(time.time() - t0, cpu_of(p["workdir"]), step, None if pruned else last))

    study.optimize(objective, n_trials=len(configs), callbacks=[StopAt(n, target)])
    return Run(name, recs)


def loose(best: float, tolerance: float) -> float:
    """The largest loss that counts as equal to ``best``."""
    return best + tolerance * abs(best)


def pct(part: float, whole: float) -> str:
    return f"{1 - part / whole:.0%}" if whole else "-"


def main() -> None:
    global REPORT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, N=15, 9 epochs")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=40, help="N")
    ap.add_argument("--epochs", type=int, default=27)
    ap.add_argument(
        "--report",
        choices=["best", "last"],
        default="best",
        help="train.py --report: best checkpoint so far (default) or each epoch's loss",
    )
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.001,
        help="'equal' best: within this fraction of the no-pruning best (default 0.1 %%; "
        "a configuration's final loss varies ~0.15 %% between training seeds)",
    )
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--json", help="also write every trial's record to this file")
    ap.add_argument("--from-json", help="only print the tables of a --json file")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.trials, args.epochs = 1, 15, 9
    REPORT = args.report
    try:
        import optuna
    except ImportError:
        optuna = None  # type: ignore[assignment]
        args.no_optuna = True
    e, n = args.epochs, args.trials
    ours = [
        ("tansaku asha", {"name": "asha", "min_resource": 3, "max_resource": e}),
        ("tansaku asha r1", {"name": "asha", "min_resource": 1, "max_resource": e}),
        ("tansaku median", {"name": "median"}),
        ("tansaku hyperband", {"name": "hyperband", "min_resource": 1, "max_resource": e}),
    ]
    results: dict[str, list[tuple[Run, Run]]] = {}  # arm -> [(run, reference run)] per seed
    t_start = time.time()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        vars(args).update(saved["args"])
        for name, pairs in saved["results"].items():
            results[name] = [
                (Run(name, [Rec(*r) for r in a]), Run("none", [Rec(*r) for r in b]))
                for a, b in pairs
            ]
        table(results, args, time.time() - t_start)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            ref = tansaku_run("none", None, seed, n, None, e, tmp)
            best, at = ref.best()
            target = loose(best, args.tolerance)
            results.setdefault("none", []).append((ref, ref))
            print(f"seed {seed}: no pruning: best {best:.6f} at trial {at}", flush=True)
            runs = [tansaku_run(name, p, seed, n, target, e, tmp) for name, p in ours]
            if not args.no_optuna:
                gen = tk.create_study(SPACE, sampler={"name": "random", "seed": seed}, seed=seed)
                configs = []
                for _ in range(4 * n):  # the same proposals and training seeds as above
                    t = gen.ask()
                    configs.append({**t.params, "_seed": tk.study.trial_seed(seed, t.number, 0)})
                    gen.tell(t, 0.0)
                for name, pruner in (
                    ("optuna SH", optuna.pruners.SuccessiveHalvingPruner(
                        min_resource=3, reduction_factor=3)),
                    ("optuna median", optuna.pruners.MedianPruner()),
                ):  # fmt: skip
                    runs.append(optuna_run(name, pruner, configs, n, target, e, tmp))
            for run in runs:
                results.setdefault(run.name, []).append((run, ref))
                best_n, i_n = run.best(n)
                k = run.reach(target)
                print(
                    f"seed {seed}: {run.name:<18} first {n}: best {best_n:.6f} (trial {i_n}); "
                    + (f"matched the reference best (within tolerance) at trial {k}" if k is not None
                       else f"did not match it in {len(run.recs)} trials"),
                    flush=True,
                )  # fmt: skip
    wall = time.time() - t_start
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": {k: v for k, v in vars(args).items() if k not in ("json", "from_json")},
                    "results": {
                        name: [
                            ([dataclasses.astuple(r) for r in a.recs],
                             [dataclasses.astuple(r) for r in b.recs])
                            for a, b in pairs
                        ]
                        for name, pairs in results.items()
                    },
                }
            )
        )  # fmt: skip
    table(results, args, wall)


def table(results: dict[str, list[tuple[Run, Run]]], args: Any, wall: float) -> None:
    n, e = args.trials, args.epochs
    print()
    print(
        f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}, N={n} configurations, "
        f"{e} epochs each, train.py --report {args.report}; wall {wall:.0f} s"
    )
    print()
    tol = f"{args.tolerance:.1%}"
    print(f"Same N={n} configurations (sums over seeds; saved = vs no pruning):")
    print()
    print("| arm | trial time (s) | saved | trial CPU (s) | saved | epochs | saved | "
          f"best within {tol} of no-pruning best | exactly equal | worst best vs no pruning |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, pairs in results.items():
        cost = [run.cost(n) for run, _ in pairs]
        ref_cost = [ref.cost(n) for _, ref in pairs]
        tot = [sum(c[j] for c in cost) for j in range(3)]
        rtot = [sum(c[j] for c in ref_cost) for j in range(3)]
        equal = sum(run.best(n)[0] == ref.best(n)[0] for run, ref in pairs)
        close = sum(run.best(n)[0] <= ref.best(n)[0] * (1 + args.tolerance) for run, ref in pairs)
        worst = max((run.best(n)[0] - ref.best(n)[0]) / ref.best(n)[0] for run, ref in pairs)
        print(
            f"| {name} | {tot[0]:.1f} | {pct(tot[0], rtot[0])} | {tot[1]:.1f} | "
            f"{pct(tot[1], rtot[1])} | {tot[2]} | {pct(tot[2], rtot[2])} | "
            f"{close} of {len(pairs)} | {equal} of {len(pairs)} | {worst:+.2%} |"
        )
    print()
    print(f"Equal final best: trial time until the arm holds a final value within {tol} of the")
    print("no-pruning best")
    print(
        "(sums over seeds; an arm that never matched in some seed counts all its 4N trials there,"
    )
    print("and its 'saved' is not a saving at equal best):")
    print()
    print("| arm | seeds matched | configurations run | trial time (s) | saved | trial CPU (s) "
          "| saved | epochs | saved |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, pairs in results.items():
        tot, rtot, matched, configs_run = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0, 0
        for run, ref in pairs:
            k = run.reach(loose(ref.best()[0], args.tolerance))
            used = len(run.recs) if k is None else k + 1
            matched += k is not None
            configs_run += used
            ref_k = ref.reach(loose(ref.best()[0], args.tolerance))
            assert ref_k is not None
            c, rc = run.cost(used), ref.cost(ref_k + 1)
            tot = [a + b for a, b in zip(tot, c)]
            rtot = [a + b for a, b in zip(rtot, rc)]
        mark = "" if matched == len(pairs) else " (not at equal best)"
        print(
            f"| {name} | {matched} of {len(pairs)} | {configs_run} | {tot[0]:.1f} | "
            f"{pct(tot[0], rtot[0])}{mark} | {tot[1]:.1f} | {pct(tot[1], rtot[1])}{mark} | "
            f"{int(tot[2])} | {pct(tot[2], rtot[2])}{mark} |"
        )


if __name__ == "__main__":
    main()
