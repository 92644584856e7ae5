"""Load: a 100,000-trial study on SQLite, memory per 10k trials, and status/best/export at 100k.

    python benchmarks/load.py                 # 100k trials (a few minutes)
    python benchmarks/load.py --trials 20000  # smaller

The study runs in a child process (trivial objective, random sampler, one worker) that prints its
peak RSS (VmHWM: ru_maxrss would carry the parent's peak across exec) after every 10k trials;
then the CLI commands are timed as a user runs them (fresh processes, so interpreter start-up is
included), each ``--repeat`` times (best and median wall time, and CPU time, which a busy machine
inflates less).  The load average is printed with the numbers: other jobs on the machine slow
everything down.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CHILD = textwrap.dedent("""
    import sys, time
    import tansaku as tk

    def hwm_mib():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024

    url, total = sys.argv[1], int(sys.argv[2])
    space = {"x": tk.Float(-5, 5), "y": tk.Int(0, 100), "c": tk.Categorical(["a", "b", "c"])}
    study = tk.create_study(space, storage=url, name="load", sampler={"name": "random", "seed": 0})
    t0 = time.perf_counter()
    def cb(study, trial):
        if (trial.number + 1) % 10000 == 0:
            print(f"{trial.number + 1} {time.perf_counter() - t0:.2f} {hwm_mib():.1f}", flush=True)
    study.optimize(lambda t: t.params["x"] ** 2 + t.params["y"], n_trials=total, callbacks=[cb])
""")


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (user + sys of the child), exit code, stdout bytes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.returncode, len(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each CLI command")
    ap.add_argument("--db", help="keep the study in this file (reused if it exists: CLI only)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = Path(args.db).resolve() if args.db else d / "load.db"
        url = f"sqlite:///{db}"
        print(
            f"# load benchmark: {args.trials:,} trials, SQLite, python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"
        )
        if not db.exists():
            print(
                f"{'trials':>8} {'elapsed s':>10} {'trials/s (last 10k)':>20} {'peak RSS MiB':>13}"
            )
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, url, str(args.trials)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            last_n, last_t = 0, 0.0
            for line in proc.stdout:
                n, t, rss = line.split()
                n_i, t_f = int(n), float(t)
                rate = (n_i - last_n) / (t_f - last_t)
                print(f"{n_i:>8} {t_f:>10.1f} {rate:>20.0f} {float(rss):>13.1f}", flush=True)
                last_n, last_t = n_i, t_f
            if proc.wait() != 0:
                raise SystemExit("the study failed")
            print(f"load avg after the study: {os.getloadavg()[0]:.1f}")
        print(f"\ndatabase: {db.stat().st_size / 2**20:.1f} MiB")
        cli = [sys.executable, "-m", "tansaku"]
        target = ["--storage", url, "--study", "load"]
        print(
            f"\n{'command':<32} {'best s':>7} {'median s':>9} {'CPU s':>6} {'exit':>5} "
            f"{'stdout bytes':>13}   (load avg {os.getloadavg()[0]:.1f})"
        )
        for name, extra in [
            ("status", []),
            ("best", []),
            ("best --json", ["--json"]),
            ("export --format csv", ["--format", "csv", "-o", str(d / "t.csv")]),
            ("export --format json", ["--format", "json", "-o", str(d / "t.json")]),
        ]:
            sub = name.split()[0]
            runs = [timed([*cli, sub, *target, *extra], d) for _ in range(args.repeat)]
            walls = sorted(r[0] for r in runs)
            cpu = sorted(r[1] for r in runs)[len(runs) // 2]
            code, size = runs[-1][2], runs[-1][3]
            print(
                f"{'tansaku ' + name:<32} {walls[0]:>7.2f} {walls[len(walls) // 2]:>9.2f} "
                f"{cpu:>6.2f} {code:>5} {size:>13}"
            )
        with open(d / "t.csv", "rb") as f:
            csv_rows = sum(1 for _ in f) - 1  # minus the header
        print(
            f"exported: t.csv {csv_rows} rows ({(d / 't.csv').stat().st_size / 2**20:.1f} MiB), "
            f"t.json {(d / 't.json').stat().st_size / 2**20:.1f} MiB"
        )
        if csv_rows != args.trials:
            raise SystemExit(f"export wrote {csv_rows} rows for {args.trials} trials")
        for label, code_ in [
            ('python -c "import tansaku"', "import tansaku"),
            ('python -c "import numpy"', "import numpy"),
        ]:
            runs = [timed([sys.executable, "-c", code_], d) for _ in range(args.repeat)]
            walls = sorted(r[0] for r in runs)
            cpu = sorted(r[1] for r in runs)[len(runs) // 2]
            print(f"{label:<32} {walls[0]:>7.2f} {walls[len(walls) // 2]:>9.2f} {cpu:>6.2f}")
        print(f"load avg at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
