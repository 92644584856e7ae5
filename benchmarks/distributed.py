"""Scheduling overhead and parallel efficiency of the local, dask and slurm executors.

    python benchmarks/distributed.py            # full run (a few minutes)
    python benchmarks/distributed.py --quick    # fewer trials
    python benchmarks/distributed.py --only local,dask

1. Overhead per trial: one worker, a trivial objective (a Python callable returning a number, and
   the command ``sh -c 'echo 1'``); wall time of ``optimize`` / trials, so it includes
   everything the study does per trial (storage writes, sampler, submit, wait, result parsing)
   and, for slurm, the scheduler's submit-to-start latency.
2. Parallel efficiency: 8 workers, trials that sleep 1 s.  efficiency = (trials x 1 s) /
   (8 x makespan); "wall" is the whole ``optimize`` call, "steady" is from the first trial's
   start to the last trial's end as stored in the study.

The dask rows use one LocalCluster of 8 single-threaded worker processes, started once (its
start-up time is printed) and given to the executor by ``address``; ``executor: dask`` without
an address would start its own, which adds that start-up to the first ``optimize`` call.

3. Worker arrays (``--arrays slurm,sge,pbs``): 8 trials at once on a batch scheduler, trials of
   1 s and 10 s, as a job per trial (``executor: slurm``) next to ONE array of 8 ``tansaku
   worker`` tasks (``mode: workers, jobs: 8``, a journal study, run by ``tansaku run``).
   efficiency = (trials x duration) / (8 x wall of the whole run, submit to last task gone).

Optuna's own thread pool (``n_jobs``) is shown as a reference for the local case.  Slurm needs a
node with 8 job slots (scripts/services/slurm_setup.sh makes one); rows of a scheduler that is
not there are skipped with the reason.  Storage: SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file is called distributed.py: keep its directory off the path, or "import distributed"
# (dask's) would find it instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import tansaku as tk  # noqa: E402

SPACE = {"x": tk.Float(0, 1)}


def trivial(trial):
    return trial.params["x"]


def one_second(trial):
    time.sleep(1.0)
    return trial.params["x"]


def _run(objective, *, executor, n_trials: int, n_workers: int, tmp: Path, name: str):
    study = tk.create_study(SPACE, storage=f"sqlite:///{tmp / (name + '.db')}", name=name)
    t0 = time.perf_counter()
    study.optimize(
        objective,
        n_trials=n_trials,
        n_workers=n_workers,
        executor=executor,
        workdir=tmp / "runs" / name,
        max_failures=3,
    )
    wall = time.perf_counter() - t0
    trials = study.trials
    done = [t for t in trials if t.state is tk.TrialState.COMPLETE]
    if len(done) != n_trials:
        raise RuntimeError(f"{name}: {len(done)}/{n_trials} complete: {trials[-1].message}")
    first = min(t.start_time for t in done)
    last = max(t.end_time for t in done)
    return wall, last - first


def _slurm_spec() -> tuple[dict | None, str]:
    if shutil.which("sinfo") is None:
        return None, "no Slurm here"
    r = subprocess.run(["sinfo", "-h", "-N", "-o", "%T %c %P"], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        return None, "Slurm not running"
    _state, cpus, part = r.stdout.split()[:3]
    if int(cpus) < 8:
        return None, f"the Slurm node has {cpus} job slots, 8 needed"
    return {"name": "slurm", "partition": part.rstrip("*"), "poll_interval": 2.0}, ""


def _batch_spec(name: str) -> dict:
    if name == "slurm":
        spec, why = _slurm_spec()
        if spec is None:
            raise RuntimeError(why)
        return spec
    if name == "sge":
        return {"name": "sge", "poll_interval": 2.0}
    return {"name": "pbs", "bin_dir": "/opt/pbs/bin", "poll_interval": 2.0}  # root: acl_roots


def _arrays(schedulers: list[str], quick: bool) -> None:
    import json

    print()
    print("## worker arrays vs a job per trial (8 at once)")
    print(f"{'scheduler':<10} {'mode':<14} {'trial s':>7} {'trials':>6} {'wall s':>8} {'eff.':>6}")
    for sch in schedulers:
        try:
            spec = _batch_spec(sch)
        except RuntimeError as e:
            print(f"{sch}: skipped ({e})")
            continue
        for dur in (1.0, 10.0):
            n = (16 if quick else 48) if dur == 1.0 else (8 if quick else 24)
            ideal = n * dur / 8
            cmd = ["sh", "-c", f"sleep {dur:g}; echo 1"]
            with tempfile.TemporaryDirectory(dir=Path.cwd()) as d:
                tmp = Path(d)
                wall, _ = _run(
                    tk.Command(cmd), executor=spec, n_trials=n, n_workers=8, tmp=tmp, name="j"
                )
                print(
                    f"{sch:<10} {'job per trial':<14} {dur:>7g} {n:>6} {wall:>8.2f} "
                    f"{ideal / wall:>6.2f}",
                    flush=True,
                )
                cfg = {
                    "name": "a",
                    "storage": "journal:///a.journal",
                    "n_trials": n,
                    "executor": {**spec, "mode": "workers", "jobs": 8},
                    "space": {"x": {"type": "float", "low": 0, "high": 1}},
                    "command": cmd,
                }
                (tmp / "a.yaml").write_text(json.dumps(cfg))
                t0 = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "tansaku", "run", "a.yaml", "-q"],
                    cwd=tmp,
                    check=True,
                    capture_output=True,
                )
                wall = time.perf_counter() - t0
                st = tk.load_study("a", storage=f"journal:///{tmp / 'a.journal'}")
                done = sum(t.state is tk.TrialState.COMPLETE for t in st.trials)
                if done != n:
                    raise RuntimeError(f"worker array on {sch}: {done}/{n} complete")
                print(
                    f"{sch:<10} {'worker array':<14} {dur:>7g} {n:>6} {wall:>8.2f} "
                    f"{ideal / wall:>6.2f}",
                    flush=True,
                )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer trials")
    ap.add_argument("--only", default="local,dask,slurm,optuna")
    ap.add_argument(
        "--arrays",
        default="",
        help="only the worker-array table, on these schedulers: slurm,sge,pbs",
    )
    args = ap.parse_args()
    if args.arrays:
        print(
            f"# worker arrays: python {sys.version.split()[0]}, {os.cpu_count()} cores, "
            f"load avg {os.getloadavg()[0]:.1f}, tansaku {tk.__version__}"
        )
        _arrays(args.arrays.split(","), args.quick)
        return
    only = set(args.only.split(","))
    n_serial = {
        "local": 20 if args.quick else 60,
        "dask": 20 if args.quick else 60,
        "slurm": 6 if args.quick else 20,
    }
    n_par = 16 if args.quick else 48
    py_cmd = tk.Command(["sh", "-c", "echo 1"])
    sleep_cmd = tk.Command(["sh", "-c", "sleep 1; echo 1"])
    slurm, why = _slurm_spec()
    cluster = None
    dask_ex: dict = {"name": "dask"}
    if "dask" in only:
        from distributed import LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=8,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        dask_start = time.perf_counter() - t0
        dask_ex["address"] = cluster.scheduler_address

    print(
        f"# distributed benchmark: python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load avg {os.getloadavg()[0]:.1f}, tansaku {tk.__version__}"
        + ("" if slurm else f"; slurm skipped: {why}")
    )
    if cluster is not None:
        print(f"# starting the dask LocalCluster (8 worker processes): {dask_start:.1f} s")
    print()
    print("## overhead per trial (1 worker, trivial objective)")
    print(f"{'executor':<10} {'objective':<10} {'trials':>6} {'wall s':>8} {'ms/trial':>9}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        if "local" in only:
            rows += [
                ("inline", "callable", trivial, "inline", n_serial["local"]),
                ("local", "callable", trivial, "local", n_serial["local"]),
                ("local", "command", py_cmd, "local", n_serial["local"]),
            ]
        if "dask" in only:
            rows += [
                ("dask", "callable", trivial, dask_ex, n_serial["dask"]),
                ("dask", "command", py_cmd, dask_ex, n_serial["dask"]),
            ]
        if "slurm" in only and slurm:
            rows += [
                ("slurm", "command", py_cmd, slurm, n_serial["slurm"]),
                ("slurm", "callable", trivial, slurm, n_serial["slurm"]),
            ]
        for i, (ex_name, kind, obj, ex, n) in enumerate(rows):
            wall, _ = _run(obj, executor=ex, n_trials=n, n_workers=1, tmp=tmp, name=f"o{i}")
            print(
                f"{ex_name:<10} {kind:<10} {n:>6} {wall:>8.2f} {wall / n * 1000:>9.1f}", flush=True
            )
        if "optuna" in only:
            try:
                import optuna

                optuna.logging.set_verbosity(optuna.logging.WARNING)
                st = optuna.create_study(storage=f"sqlite:///{tmp / 'optuna.db'}")
                n = n_serial["local"]
                t0 = time.perf_counter()
                st.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)
                wall = time.perf_counter() - t0
                print(
                    f"{'optuna':<10} {'callable':<10} {n:>6} {wall:>8.2f} "
                    f"{wall / n * 1000:>9.1f}   (reference: Optuna, SQLite, in-process)"
                )
            except ImportError:
                print("optuna not installed: no reference row")

        print()
        print(f"## parallel efficiency (8 workers, {n_par} trials of 1 s; ideal {n_par / 8:.0f} s)")
        print(
            f"{'executor':<10} {'objective':<10} {'wall s':>8} {'steady s':>9} "
            f"{'eff. wall':>10} {'eff. steady':>12}"
        )
        rows = []
        if "local" in only:
            rows += [
                ("local", "callable", one_second, "local"),
                ("local", "command", sleep_cmd, "local"),
            ]
        if "dask" in only:
            rows += [
                ("dask", "callable", one_second, dask_ex),
                ("dask", "command", sleep_cmd, dask_ex),
            ]
        if "slurm" in only and slurm:
            rows += [("slurm", "command", sleep_cmd, slurm)]
        ideal = n_par * 1.0 / 8
        for i, (ex_name, kind, obj, ex) in enumerate(rows):
            wall, steady = _run(
                obj, executor=ex, n_trials=n_par, n_workers=8, tmp=tmp, name=f"p{i}"
            )
            print(
                f"{ex_name:<10} {kind:<10} {wall:>8.2f} {steady:>9.2f} {ideal / wall:>10.2f} "
                f"{ideal / steady:>12.2f}",
                flush=True,
            )
        if "optuna" in only:
            try:
                import optuna

                def sleepy(t):
                    time.sleep(1.0)
                    return t.suggest_float("x", 0, 1)

                st = optuna.create_study(storage=f"sqlite:///{tmp / 'optuna-par.db'}")
                t0 = time.perf_counter()
                st.optimize(sleepy, n_trials=n_par, n_jobs=8)
                wall = time.perf_counter() - t0
                ts = st.trials
                steady = (
                    max(t.datetime_complete for t in ts) - min(t.datetime_start for t in ts)
                ).total_seconds()
                print(
                    f"{'optuna':<10} {'callable':<10} {wall:>8.2f} {steady:>9.2f} "
                    f"{ideal / wall:>10.2f} {ideal / steady:>12.2f}   (reference: threads)"
                )
            except ImportError:
                pass
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":
    main()
