"""Pruning vs no pruning on the example training script (examples/training/train.py).

For each seed, every arm evaluates the *same* configurations in the same order (the random sampler
proposes by index, so pruning does not change what it proposes) with the same training seeds
(``{seed}`` comes from the study seed and the trial number), so a configuration gives the same
learning curve in every arm and the final bests can be compared exactly.  The reference arm runs
every configuration to the end; the pruning arms stop some.  Measured per arm:

* trial time: the sum of the trials' durations (what a cluster bills); their CPU time (train.py
  ``--cpu-log``, also written when a pruned run gets SIGTERM: robust when the machine is shared);
  and epochs trained (the same quantity without any machine noise);
* the best final validation loss, and whether it equals the reference's.

Optuna's SuccessiveHalvingPruner and MedianPruner run the same configurations through the same
command (enqueued, reports read from stdout, the process group killed on prune) as a reference.

    nice python benchmarks/pruning.py                  # seeds 0-2 x 40 configurations, 27 epochs
    nice python benchmarks/pruning.py --first-seed 3   # held-out seeds 3-5
    nice python benchmarks/pruning.py --quick          # 1 seed x 15 configurations, 9 epochs

train.py reports the validation loss of its kept checkpoint (the best epoch so far) by default;
``--report last`` uses each epoch's raw loss instead (curves that rise when a run overfits).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import statistics
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
        "--report", REPORT, "--cpu-log", "{cpu_log}",
    ]  # fmt: skip


@dataclass
class Arm:
    name: str
    seconds: float
    cpu: float
    epochs: int
    best: float
    best_trial: int
    n_pruned: int


def cpu_seconds(log: Path) -> float:
    return sum(float(x) for x in log.read_text().split()) if log.exists() else 0.0


def tansaku_arm(name: str, pruner: Any, seed: int, n: int, epochs: int, tmp: Path) -> Arm:
    study = tk.create_study(
        SPACE, sampler={"name": "random", "seed": seed}, pruner=pruner, seed=seed
    )
    log = tmp / f"{name}-{seed}.cpu"
    cmd = tk.Command(
        [a.replace("{cpu_log}", str(log)) for a in argv(epochs)], base_dir=ROOT, env=ENV
    )
    study.optimize(cmd, n_trials=n, workdir=tmp / f"{name}-{seed}")
    trials = study.get_trials(with_intermediate=True)
    assert all(t.state is not tk.TrialState.FAILED for t in trials), [t.message for t in trials]
    best = study.best_trial
    return Arm(
        name,
        sum(t.duration or 0.0 for t in trials),
        cpu_seconds(log),
        sum(t.last_step or 0 for t in trials),
        float(best.value or math.nan),
        best.number,
        sum(t.state is tk.TrialState.PRUNED for t in trials),
    )


def optuna_arm(
    name: str, pruner: Any, configs: list[dict[str, Any]], epochs: int, tmp: Path
) -> Arm:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))
    for c in configs:
        study.enqueue_trial({k: v for k, v in c.items() if k != "_seed"})
    seeds = [c["_seed"] for c in configs]
    log = tmp / f"{name.replace(' ', '-')}-{seeds[0]}.cpu"
    durations: list[float] = []
    steps: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        p = {
            "lr": trial.suggest_float("lr", 1e-3, 1.0, log=True),
            "hidden": trial.suggest_int("hidden", 8, 256, log=True),
            "momentum": trial.suggest_float("momentum", 0.0, 0.95),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
            "seed": seeds[trial.number],
        }
        args = [a.format(**p, cpu_log=log) if "{" in a else a for a in argv(epochs)]
        t0 = time.time()
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=tmp,
            env={**os.environ, **ENV},
        )
        assert proc.stdout is not None
        last, step = math.nan, 0
        try:
            for line in proc.stdout:
                if line.startswith("tansaku:report"):
                    step = int(line.split("step=")[1].split()[0])
                    value = float(line.split("value=")[1])
                    trial.report(value, step)
                    if trial.should_prune():  # stopped as tansaku does: SIGTERM to the group
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGTERM)
                        raise optuna.TrialPruned()
                elif line.strip():
                    last = float(line)
            proc.wait()
            return last
        finally:
            proc.wait()
            durations.append(time.time() - t0)
            steps.append(step)

    study.optimize(objective, n_trials=len(configs))
    best = study.best_trial
    return Arm(
        name,
        sum(durations),
        cpu_seconds(log),
        sum(steps),
        float(best.value),
        best.number,
        sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
    )


def main() -> None:
    global REPORT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, 15 configurations, 9 epochs")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=27)
    ap.add_argument(
        "--report",
        choices=["best", "last"],
        default="best",
        help="train.py --report: best checkpoint so far (default) or each epoch's loss",
    )
    ap.add_argument("--no-optuna", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.trials, args.epochs = 1, 15, 9
    REPORT = args.report
    try:
        import optuna
    except ImportError:
        optuna = None  # type: ignore[assignment]
        args.no_optuna = True
    e = args.epochs
    ours = [
        ("none", None),
        ("tansaku asha", {"name": "asha", "min_resource": 3, "max_resource": e}),
        ("tansaku asha r1", {"name": "asha", "min_resource": 1, "max_resource": e}),
        ("tansaku median", {"name": "median"}),
        ("tansaku hyperband", {"name": "hyperband", "min_resource": 1, "max_resource": e}),
    ]
    arms: dict[str, list[Arm]] = {}
    t_start = time.time()

    def show(seed: int, arm: Arm) -> None:
        print(
            f"seed {seed} {arm.name:<18} {arm.seconds:7.1f} s  cpu {arm.cpu:7.1f} s  "
            f"{arm.epochs:5d} epochs  "
            f"{arm.n_pruned:3d} pruned  best {arm.best:.6f} (trial {arm.best_trial})",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        for seed in seeds:
            for name, pruner in ours:
                arm = tansaku_arm(name.replace(" ", "-"), pruner, seed,
                                  args.trials, e, tmp)  # fmt: skip
                arm.name = name
                arms.setdefault(name, []).append(arm)
                show(seed, arm)
            if args.no_optuna:
                continue
            ref = tk.create_study(SPACE, sampler={"name": "random", "seed": seed}, seed=seed)
            configs = []
            for _ in range(args.trials):  # the same proposals and training seeds as above
                t = ref.ask()
                configs.append({**t.params, "_seed": tk.study.trial_seed(seed, t.number, 0)})
                ref.tell(t, 0.0)
            for name, pruner in (
                ("optuna SH", optuna.pruners.SuccessiveHalvingPruner(
                    min_resource=3, reduction_factor=3)),
                ("optuna median", optuna.pruners.MedianPruner()),
            ):  # fmt: skip
                arm = optuna_arm(name, pruner, configs, e, tmp)
                arms.setdefault(name, []).append(arm)
                show(seed, arm)
    ref_arms = arms["none"]
    print()
    print(
        f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}: {args.trials} "
        f"configurations x {e} epochs each, train.py --report {args.report} "
        f"(wall {time.time() - t_start:.0f} s)"
    )
    print(
        "| arm | trial time (s) | time saved | trial CPU (s) | CPU saved | epochs | epochs saved "
        "| pruned | best = no-pruning best | mean best | worst best vs no pruning |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in arms.items():
        secs = sum(a.seconds for a in runs)
        cpu = sum(a.cpu for a in runs)
        ep = sum(a.epochs for a in runs)
        equal = sum(a.best == r.best for a, r in zip(runs, ref_arms))
        worst = max((a.best - r.best) / r.best for a, r in zip(runs, ref_arms))
        print(
            f"| {name} | {secs:.1f} | {1 - secs / sum(a.seconds for a in ref_arms):.0%} | "
            f"{cpu:.1f} | {1 - cpu / sum(a.cpu for a in ref_arms):.0%} | {ep} | {1 - ep / sum(a.epochs for a in ref_arms):.0%} | "
            f"{sum(a.n_pruned for a in runs)} | {equal} of {len(runs)} | "
            f"{statistics.mean(a.best for a in runs):.4f} | {worst:+.2%} |"
        )


if __name__ == "__main__":
    main()
