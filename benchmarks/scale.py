"""Samplers with many workers, on a simulated clock (issue 15, items 1-3).

Every number comes from :class:`tansaku.testing.simulate.SimulatedStudy` driving the real sampler
classes through the sampler contract, trial durations lognormal (``--sigma``), on hartmann6 (6-D)
or rosenbrock10 (10-D).  Three sections, each can be run alone:

* ``cost``: CPU ms per proposal (``time.thread_time`` around ``ask``), median and p95, at P
  pending trials: a study with P + 1 workers, measured over the asks after the first P (each of
  them sees P running trials).  ``--finished N`` first tells N random finished trials.
* ``util``: worker utilisation with W workers and trials of median ``--trial-seconds`` (60) when
  each proposal's and tell's CPU time is charged to the simulated clock (``charge_proposals``),
  measured when ``--trials-per-worker`` x W trials have finished (the others still running, so the
  end-of-run tail, when no trial is left to start, does not count).
* ``ratio``: the simulated time a W-worker run needs to reach the best value of a sequential
  200-evaluation run, over that run's wall time (lower is better), median over ``--seeds``
  (a seed that never reaches it within ``--cap`` x 200 trials counts as inf).
  ``optuna-tpe-cl`` is Optuna's ``TPESampler(constant_liar=True)`` driven on the same clock.

Run from the repository root (niced; the machine is shared)::

    PYTHONPATH=src nice python benchmarks/scale.py cost --samplers random,tpe --pending 16,64
    PYTHONPATH=src nice python benchmarks/scale.py util --samplers random --workers 256
    PYTHONPATH=src nice python benchmarks/scale.py ratio --samplers nelder-mead --workers 16 --seeds 3
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from tansaku._records import FrozenTrial, TrialState  # noqa: E402
from tansaku.samplers import make_sampler  # noqa: E402
from tansaku.samplers._base import Sampler  # noqa: E402
from tansaku.testing import functions as F  # noqa: E402
from tansaku.testing.simulate import SimulatedStudy, lognormal  # noqa: E402

FAST = ("random", "sobol", "tpe", "cmaes", "nelder-mead", "coordinate", "one-axis")
MODEL = ("gp", "dngo")


class OptunaTPE(Sampler):
    """Optuna 5's TPESampler(constant_liar=True) behind the tansaku sampler contract (for the
    comparison only): asks create RUNNING Optuna trials, tells finish them."""

    name = "optuna-tpe-cl"

    def setup(self) -> None:
        import optuna
        from optuna.distributions import FloatDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(constant_liar=True, seed=self.seed))
        self._dists = {n: FloatDistribution(d.low, d.high) for n, d in self.space.items()}
        self._open: dict[tuple[float, ...], Any] = {}

    def _key(self, params: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float(params[n]) for n in self._dists)

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        trial = self._study.ask(self._dists)
        self._open[self._key(trial.params)] = trial
        return dict(trial.params)

    def tell(self, trial: FrozenTrial) -> None:
        ot = self._open.pop(self._key(dict(trial.params)), None)
        if ot is None:
            return
        if trial.state is TrialState.COMPLETE and trial.value is not None:
            self._study.tell(ot, float(trial.value))
        else:
            self._study.tell(ot, state=__import__("optuna").trial.TrialState.FAIL)


def _sampler(name: str, seed: int, options: dict[str, Any] | None = None) -> Sampler:
    if name == "optuna-tpe-cl":
        return OptunaTPE(seed=seed)
    return make_sampler({**(options or {}), "name": name, "seed": seed})


def _objective(f: F.TestFunction):
    names = [f"x{i}" for i in range(f.dim)]
    return lambda p: f([p[n] for n in names])


def _stats(ms: np.ndarray) -> tuple[str, str]:
    if ms.size == 0:
        return "-", "-"
    return f"{np.median(ms):.2f}", f"{np.percentile(ms, 95):.2f}"


def cost(args: argparse.Namespace) -> None:
    f = F.get(args.function)
    print(f"## CPU ms per proposal ({f.name}, {args.finished} finished first)\n")
    print("| sampler | pending | asks | median ms | p95 ms | wall s |\n|---|---|---|---|---|---|")
    for name in args.samplers:
        for p in args.pending:
            sim = SimulatedStudy(f.space(), _objective(f), n_workers=p + 1,
                                 duration=lognormal(args.sigma), seed=0)
            rng = np.random.default_rng(1)
            for _ in range(args.finished):  # finished trials at random points, told on attach
                u = rng.random(f.dim)
                x = np.asarray(f.lower) + u * (np.asarray(f.upper) - np.asarray(f.lower))
                sim.enqueue({f"x{i}": float(v) for i, v in enumerate(x)})
            if args.finished:
                sim.attach(_sampler("random", 0))
                sim.n_workers = args.finished
                sim.run(args.finished)
                sim.n_workers = p + 1
            sim.attach(_sampler(name, 0))
            t0 = time.perf_counter()
            first = len(sim.ask_seconds)
            sim.run(args.finished + p + args.extra,
                    stop=lambda s, t0=t0: time.perf_counter() - t0 > args.budget)
            ms = np.array(sim.ask_seconds[first + p:]) * 1000.0
            med, p95 = _stats(ms)
            print(f"| {name} | {p} | {ms.size} | {med} | {p95} | {time.perf_counter() - t0:.1f} |",
                  flush=True)


def util(args: argparse.Namespace) -> None:
    f = F.get(args.function)
    print(f"## utilisation, proposal cost charged ({f.name}, trials median "
          f"{args.trial_seconds:g} s)\n")
    print("| sampler | workers | trials | utilisation | median ask ms |\n|---|---|---|---|---|")
    for name in args.samplers:
        for w in args.workers:
            med = args.trial_seconds
            sim = SimulatedStudy(f.space(), _objective(f), n_workers=w, seed=0,
                                 duration=lambda r, m=med: m * float(r.lognormal(0.0, args.sigma)),
                                 charge_proposals=True)
            sim.attach(_sampler(name, 0))
            # stop after that many finished, the rest still running: no end-of-run tail
            sim.run(10 * args.trials_per_worker * w, max_finished=args.trials_per_worker * w)
            ms = np.array(sim.ask_seconds) * 1000.0
            print(f"| {name} | {w} | {len(sim.trials)} | {sim.utilisation:.3f} | "
                  f"{np.median(ms):.2f} |", flush=True)


def _first_reach(sim: SimulatedStudy, target: float) -> float:
    """Simulated time at which ``sim``'s best first reached ``target`` (inf if it never did)."""
    ends = [t.end_time or 0.0 for t in sim.finished if t.value is not None and t.value <= target]
    return min(ends) if ends else math.inf


def _median_ratio(r: np.ndarray) -> str:
    """Median of ratios with an unreached seed counted as inf ("inf" when half or more never
    reached)."""
    m = float(np.median(r)) if r.size else math.inf
    return f"{m:.3f}" if math.isfinite(m) else "inf"


def ratio(args: argparse.Namespace) -> None:
    """Per seed: the sampler's own sequential run (``--sequential`` evaluations, one worker) gives
    the target (its best) and the denominator (its simulated wall time, the same for every sampler:
    durations are drawn per trial number and seed); the W-worker run goes until it reaches the
    target or ``--cap`` x sequential trials.  ratio = time of the first parallel trial at or below
    the target / sequential wall time, inf when never reached.  With ``--common`` the same parallel
    run is also timed against one target for every sampler: ``optuna-tpe-cl``'s sequential best
    for that seed (same function, seeds and clock)."""
    f = F.get(args.function)
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    print(f"## time to the sequential {args.sequential}-evaluation best / sequential wall time "
          f"({f.name}, seeds {seeds.start}-{seeds.stop - 1}, sigma {args.sigma}, cap "
          f"{args.cap} x {args.sequential})\n")
    print("| sampler | workers | median ratio (inf = unreached) | mean of reached | reached | "
          "best at equal time (W vs 1) | common target: median / reached |")
    print("|---|---|---|---|---|---|---|")
    common: dict[int, float] = {}
    if args.common:
        for seed in seeds:
            ref = SimulatedStudy(f.space(), _objective(f), n_workers=1,
                                 duration=lognormal(args.sigma), seed=seed)
            ref.attach(_sampler("optuna-tpe-cl", seed))
            ref.run(args.sequential)
            common[seed] = ref.best_value
    for name in args.samplers:
        for w in args.workers:
            ratios, cratios, better = [], [], 0
            for seed in seeds:
                seq = SimulatedStudy(f.space(), _objective(f), n_workers=1,
                                     duration=lognormal(args.sigma), seed=seed)
                seq.attach(_sampler(name, seed))
                seq.run(args.sequential)
                target, t_seq = seq.best_value, seq.now
                goal = min(target, common.get(seed, target))  # run until both are reached
                par = SimulatedStudy(f.space(), _objective(f), n_workers=w,
                                     duration=lognormal(args.sigma), seed=seed)
                par.attach(_sampler(name, seed, args.parallel_options))
                par.run(args.sequential * args.cap,
                        stop=lambda s, tg=goal: s.best_value <= tg)
                ratios.append(_first_reach(par, target) / t_seq)
                if args.common:
                    cratios.append(_first_reach(par, common[seed]) / t_seq)
                # best at equal simulated time: the parallel run's best by the time seq finished
                eq = [t.value for t in par.finished
                      if t.value is not None and (t.end_time or 0.0) <= t_seq]
                better += bool(eq) and min(eq) <= target
                if args.per_seed:  # partial results survive a run cut short
                    extra = (f", common target {common[seed]:.4g}: ratio {cratios[-1]:.3f}"
                             if args.common else "")
                    print(f"  {name} W={w} seed {seed}: ratio {ratios[-1]:.3f}, target "
                          f"{target:.4g}, best at equal time {min(eq) if eq else math.nan:.4g}, "
                          f"trials {len(par.trials)}{extra}", flush=True)
            r = np.array(ratios)
            fin = r[np.isfinite(r)]
            cr = np.array(cratios)
            ctext = (f"{_median_ratio(cr)} / {int(np.isfinite(cr).sum())}/{len(cr)}"
                     if args.common else "-")
            print(f"| {name} | {w} | {_median_ratio(r)} | "
                  f"{f'{fin.mean():.3f}' if fin.size else '-'} | {fin.size}/{r.size} | "
                  f"{better}/{r.size} | {ctext} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("section", choices=("cost", "util", "ratio"))
    ap.add_argument("--samplers", type=lambda s: s.split(","), default=list(FAST + MODEL))
    ap.add_argument("--function", default="hartmann6")
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--pending", type=lambda s: [int(v) for v in s.split(",")],
                    default=[16, 64, 256, 1024])
    ap.add_argument("--finished", type=int, default=0)
    ap.add_argument("--extra", type=int, default=32, help="asks measured per pending size")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per cost measurement")
    ap.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[256])
    ap.add_argument("--trial-seconds", type=float, default=60.0)
    ap.add_argument("--trials-per-worker", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=0, help="ratio: first seed")
    ap.add_argument("--parallel-options", type=json.loads, default=None,
                    help="ratio: sampler options (JSON) for the W-worker run only; the target "
                         "stays the default sampler's sequential best")
    ap.add_argument("--common", action="store_true",
                    help="ratio: also time every sampler against optuna-tpe-cl's sequential best")
    ap.add_argument("--sequential", type=int, default=200)
    ap.add_argument("--cap", type=int, default=4, help="parallel runs stop at cap x sequential")
    ap.add_argument("--per-seed", action="store_true", help="ratio: print each seed as it ends")
    args = ap.parse_args(argv)
    {"cost": cost, "util": util, "ratio": ratio}[args.section](args)


if __name__ == "__main__":
    main()
