"""Load: a 100,000-trial study on SQLite, memory per 10k trials, and status/best/export at 100k.

    python benchmarks/load.py                 # 100k trials (a few minutes)
    python benchmarks/load.py --trials 20000  # smaller

The study runs in a child process (trivial objective, random sampler, one worker) that prints its
peak RSS after every 10k trials; then the CLI commands are timed as a user runs them (fresh
processes, so interpreter start-up is included).
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
    import resource, sys, time
    import tansaku as tk
    url, total = sys.argv[1], int(sys.argv[2])
    space = {"x": tk.Float(-5, 5), "y": tk.Int(0, 100), "c": tk.Categorical(["a", "b", "c"])}
    study = tk.create_study(space, storage=url, name="load", sampler={"name": "random", "seed": 0})
    t0 = time.perf_counter()
    def cb(study, trial):
        if (trial.number + 1) % 10000 == 0:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{trial.number + 1} {time.perf_counter() - t0:.2f} {rss:.1f}", flush=True)
    study.optimize(lambda t: t.params["x"] ** 2 + t.params["y"], n_trials=total, callbacks=[cb])
""")


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True)
    return time.perf_counter() - t0, out.returncode, len(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--trials", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = d / "load.db"
        url = f"sqlite:///{db}"
        print(
            f"# load benchmark: {args.trials:,} trials, SQLite, python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"
        )
        print(f"{'trials':>8} {'elapsed s':>10} {'trials/s (last 10k)':>20} {'peak RSS MiB':>13}")
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(args.trials)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        last_n, last_t = 0, 0.0
        for line in proc.stdout:
            n, t, rss = line.split()
            n_i, t_f = int(n), float(t)
            print(
                f"{n_i:>8} {t_f:>10.1f} {(n_i - last_n) / (t_f - last_t):>20.0f} {float(rss):>13.1f}"
            )
            last_n, last_t = n_i, t_f
        if proc.wait() != 0:
            raise SystemExit("the study failed")
        print(f"\ndatabase: {db.stat().st_size / 2**20:.1f} MiB")
        cli = [sys.executable, "-m", "tansaku"]
        target = ["--storage", url, "--study", "load"]
        print(f"\n{'command':<32} {'seconds':>8} {'exit':>5} {'stdout bytes':>13}")
        for name, extra in [
            ("status", []),
            ("best", []),
            ("best --json", ["--json"]),
            ("export --format csv", ["--format", "csv", "-o", str(d / "t.csv")]),
            ("export --format json", ["--format", "json", "-o", str(d / "t.json")]),
        ]:
            sub = name.split()[0]
            secs, code, size = timed([*cli, sub, *target, *extra], d)
            print(f"{'tansaku ' + name:<32} {secs:>8.2f} {code:>5} {size:>13}")
        start, code, _ = timed([sys.executable, "-c", "import tansaku"], d)
        label = 'python -c "import tansaku"'
        print(f"{label:<32} {start:>8.2f} {code:>5}")
        print(
            f"\nthis process' peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
