"""Per-trial framework cost as instructions, for comparing two revisions on a busy machine.

Wall and CPU times on the shared 2-core machine move with the other sessions' load (issue 14's
first after/before table was taken at load 15), so this counts instructions instead:
``valgrind --tool=callgrind`` runs a fixed sequential study (random sampler, trivial objective,
the four-parameter space and objective of ``benchmarks/overhead.py``) of ``--small`` and of
``--large`` trials, all runs at once, and the per-trial count is the difference over the extra trials (Python start-up, imports and
study creation cancel out).  The same count twice is the same code path; it does not move with
the load.  Alongside, plain runs (no valgrind) of the large study are timed interleaved
(A B A B ..., ``--repeats`` each) for wall and CPU ms/trial of the loop, medians reported.

Each revision is exported (``git archive``) to a temporary directory and run from there with the
current venv's Python; ``WORKTREE`` as a revision means the working tree's ``src``.

Run (numbers in benchmarks/RESULTS.md)::

    nice -n 10 python benchmarks/overhead_instructions.py --revs cef47dc WORKTREE
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(src: str, storage: str, n: int, api: str) -> None:
    """One fixed run; prints the timed loop's wall/CPU seconds as JSON."""
    sys.path.insert(0, src)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from overhead import _timed_loop, space_of, value_of

    import tansaku as tk

    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        url = None if storage == "memory" else f"sqlite:///{tmp}/o.db"
        study = tk.create_study(
            space_of(tk), sampler="random", storage=url, name="overhead", seed=0
        )

        def objective(trial: Any) -> float:
            p = trial.params
            return value_of(p["x"], p["y"], p["k"], p["c"])

        t0, c0, t1, c1 = _timed_loop(study, objective, n, api)
    print(json.dumps({"wall": t1 - t0, "cpu": c1 - c0, "n": n}))


def export(rev: str, into: Path) -> str:
    """The ``src`` directory of ``rev`` (exported under ``into``), or the working tree's."""
    if rev == "WORKTREE":
        return str(ROOT / "src")
    out = into / rev
    out.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return str(out / "src")


def _argv(src: str, storage: str, n: int, api: str) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--child",
        src,
        "--storage",
        storage,
        "--n",
        str(n),
        "--api",
        api,
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED="0", TANSAKU_NO_PROGRESS="1")
    env.pop("PYTHONPATH", None)
    return env


def instructions(src: str, storage: str, n: int, api: str) -> int:
    """Instructions of the whole child process under callgrind."""
    r = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            *_argv(src, storage, n, api),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    m = re.search(r"Collected\s*:\s*(\d+)", r.stderr)
    if m is None:
        raise RuntimeError(r.stderr[-2000:])
    return int(m.group(1))


def timed(src: str, storage: str, n: int, api: str) -> dict[str, float]:
    r = subprocess.run(
        _argv(src, storage, n, api), capture_output=True, text=True, env=_env(), check=True
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--storage", default="memory")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--api", default="optimize", choices=("optimize", "asktell"))
    ap.add_argument("--revs", nargs="+", default=["cef47dc", "WORKTREE"])
    ap.add_argument("--storages", nargs="+", default=["memory", "sqlite"])
    ap.add_argument("--apis", nargs="+", default=["optimize"])
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--large", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.storage, a.n, a.api)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        srcs = {rev: export(rev, Path(tmp)) for rev in a.revs}
        cells = [(st, api) for st in a.storages for api in a.apis]
        # every callgrind run at once: the counts do not depend on what else runs
        runs = [(st, api, rev, n) for st, api in cells for rev in srcs for n in (a.small, a.large)]
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            counts = dict(
                zip(runs, pool.map(lambda r: instructions(srcs[r[2]], r[0], r[3], r[1]), runs))
            )
        for storage, api in cells:
            row: dict[str, Any] = {"storage": storage, "api": api}
            for rev in srcs:
                small, large = (counts[(storage, api, rev, n)] for n in (a.small, a.large))
                row[f"{rev} instr/trial"] = (large - small) / (a.large - a.small)
            times: dict[str, list[dict[str, float]]] = {rev: [] for rev in srcs}
            for _ in range(a.repeats):  # interleaved: A B A B ...
                for rev, src in srcs.items():
                    times[rev].append(timed(src, storage, a.large, api))
            for rev, ts in times.items():
                row[f"{rev} wall ms"] = 1e3 * statistics.median(t["wall"] for t in ts) / a.large
                row[f"{rev} cpu ms"] = 1e3 * statistics.median(t["cpu"] for t in ts) / a.large
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
