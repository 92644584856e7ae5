"""What the ``cmaes`` sampler stores per trial, and what resuming by replay costs.

For d = 2 / 10 / 50 continuous dims on a sphere: JSON bytes of every trial's ``system_attrs``
after ``--trials`` trials, tansaku's ``cmaes`` (``{"sampler": {"cma": [r, g, i], "seed": s}}``)
against Optuna 5's ``CmaEsSampler`` (which stores its pickled optimiser, hex-encoded, with the
trials); then the seconds a fresh tansaku sampler needs to replay ``--replay`` finished trials and
make its next proposal (what a resume costs), next to the sampler time of the live run.

Run from the repository root::

    PYTHONPATH=src nice python benchmarks/cmaes_state.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import tansaku as tk
from tansaku.samplers._cmaes import CmaEsSampler
from tansaku.testing.driver import drive, replay


def _sphere(params: dict) -> float:
    return float(sum((v - 0.3) ** 2 for v in params.values()))


def stored_bytes(d: int, n: int) -> tuple[float, int, float, int]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    theirs = optuna.create_study(sampler=optuna.samplers.CmaEsSampler(seed=0))
    theirs.optimize(lambda t: _sphere({i: t.suggest_float(f"x{i}", -1, 1) for i in range(d)}), n_trials=n)
    t_sizes = [len(json.dumps(dict(t.system_attrs))) for t in theirs.trials]
    ours = tk.create_study({f"x{i}": tk.Float(-1, 1) for i in range(d)},
                           sampler={"name": "cmaes", "seed": 123456789})
    ours.optimize(lambda t: _sphere(dict(t.params)), n_trials=n)
    o_sizes = [len(json.dumps(dict(t.system_attrs))) for t in ours.trials]
    return float(np.mean(o_sizes)), max(o_sizes), float(np.mean(t_sizes)), max(t_sizes)


def replay_seconds(d: int, n: int) -> tuple[float, float]:
    space = {f"x{i}": tk.Float(-1, 1) for i in range(d)}
    t0 = time.perf_counter()
    live = drive(CmaEsSampler(seed=0), space, _sphere, n_trials=n)
    t1 = time.perf_counter()
    fresh = replay(CmaEsSampler(seed=0), space, live.finished)
    fresh.ask([])
    return t1 - t0, time.perf_counter() - t1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="d = 2, 10 only; fewer trials")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--replay", type=int, default=5000)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    dims = (2, 10) if args.quick else (2, 10, 50)
    n_replay = 500 if args.quick else args.replay
    print(f"bytes of JSON system_attrs per trial after {args.trials} trials (mean / max)")
    print()
    print("| d | tansaku cmaes | optuna CmaEsSampler | optuna / tansaku (mean) |")
    print("|---|---|---|---|")
    for d in dims:
        om, ox, tm, tx = stored_bytes(d, args.trials)
        print(f"| {d} | {om:.0f} / {ox} | {tm:.0f} / {tx} | {tm / om:.0f}x |", flush=True)
    print()
    print(f"seconds: live run of {n_replay} trials (sampler + a trivial objective) vs replaying "
          "them into a fresh sampler + its next ask")
    print()
    print("| d | live run | replay + next ask |")
    print("|---|---|---|")
    for d in dims:
        live, rep = replay_seconds(d, n_replay)
        print(f"| {d} | {live:.2f} | {rep:.2f} |", flush=True)


if __name__ == "__main__":
    main()
