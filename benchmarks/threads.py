"""Thread oversubscription with several local trials (issue 13.7 / 15.5).

10 trials of scikit-learn's HistGradientBoostingClassifier (OpenMP) on a bundled dataset, run by
``tansaku run`` with 2 local workers, twice:

* ``default``: every thread variable set to this machine's core count -- what OpenMP/OpenBLAS pick
  when nothing is set, i.e. what every trial got before tansaku sized them;
* ``tansaku``: nothing set, so the local executor gives each trial ``max(1, cores // 2)``.

    nice python benchmarks/threads.py [--trials 10] [--workers 2] [--repeats 1]

Prints the wall time of each run (and the mean trial duration).  Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from tansaku.executors._threads import THREAD_VARS, usable_cores  # noqa: E402

TRAIN = """
import sys
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score

lr, leaves = float(sys.argv[1]), int(sys.argv[2])
X, y = load_digits(return_X_y=True)
model = HistGradientBoostingClassifier(learning_rate=lr, max_leaf_nodes=leaves, max_iter=60,
                                       early_stopping=False, random_state=0)
print("error:", 1 - cross_val_score(model, X, y, cv=3).mean())
"""


def run(mode: str, trials: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "train.py").write_text(TRAIN)
        (d / "study.yaml").write_text(textwrap.dedent(f"""
            name: hgb
            n_trials: {trials}
            n_workers: {workers}
            sampler: {{name: random, seed: 0}}
            space:
              lr: {{type: float, low: 0.05, high: 0.3, log: true}}
              leaves: {{type: int, low: 8, high: 48}}
            command: [python, train.py, "{{lr}}", "{{leaves}}"]
        """))
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
        env["PYTHONPATH"] = str(SRC)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        if mode == "default":
            env.update(dict.fromkeys(THREAD_VARS, str(usable_cores())))
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "tansaku", "run", "study.yaml", "-q"],
                             cwd=d, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        exp = subprocess.run([sys.executable, "-m", "tansaku", "export", "study.yaml", "--format",
                              "json"], cwd=d, env=env, capture_output=True, text=True, check=True)
        rows = [r for r in json.loads(exp.stdout) if r["state"] == "complete"]
        return {"wall": wall, "trial": sum(r["duration"] for r in rows) / len(rows)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    print(f"{usable_cores()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{a.trials} trials, {a.workers} workers")
    for k in range(a.repeats):
        for mode in ("default", "tansaku"):
            r = run(mode, a.trials, a.workers)
            print(f"  {mode:8s} run {k}: wall {r['wall']:6.1f} s, mean trial {r['trial']:5.2f} s")


if __name__ == "__main__":
    main()
