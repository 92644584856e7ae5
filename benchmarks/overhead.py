"""Per-trial framework overhead: tansaku vs Optuna on a trivial objective (issue 2).

What is timed: the whole trial cycle of a sequential study with a random sampler — ask the sampler,
create the trial, call a trivial objective, store the result — so the number is the framework's own
cost per trial.  Each cell (framework x storage x API x n_trials) runs in a fresh Python process
with a fresh database file in its own temporary directory, and is repeated; the table shows the
median run.

* storage: ``memory`` (tansaku's in-memory storage, Optuna's InMemoryStorage), ``sqlite``
  (tansaku's SQLStorage, Optuna's RDBStorage) or ``journal`` (tansaku's JournalStorage, Optuna's
  JournalStorage on a JournalFileBackend), each with its default settings.
* reopen s: after the run, the time a fresh storage object of the same URL takes to open the
  study and count its trials (what a new ``tansaku worker`` or ``tansaku status`` pays first; for
  a journal, replaying the whole file).
* api: ``optimize`` (``study.optimize(objective, n_trials=n)``) or ``asktell`` (a user loop of
  ``ask()`` / ``tell()``).  Optuna's objective asks its four parameters with ``suggest_*`` (its
  define-by-run API); tansaku's reads ``trial.params`` from the declared space.
* tail ms/trial: the mean per-trial time over the last ``--tail`` trials of a run; ``growth`` is the
  tail of the biggest run divided by the mean per-trial time of the smallest run, which shows
  whether per-trial cost grows with the number of stored trials.  ``cpu`` columns count only the
  benchmark process's own CPU time (``time.process_time``): on a loaded machine they are steadier
  than wall time, but they leave out waiting for the disk (fsync), which is part of the real cost.

Run (numbers in benchmarks/RESULTS.md)::

    nice -n 10 python benchmarks/overhead.py             # full: 1k and 10k trials
    nice -n 10 python benchmarks/overhead.py --quick     # smoke run, about a minute
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("tansaku", "optuna")
STORAGES = ("memory", "sqlite", "journal")
APIS = ("optimize", "asktell")
CATS = ("a", "b", "c")


def value_of(x: float, y: float, k: int, c: str) -> float:
    """The trivial objective, the same for both frameworks."""
    return x * x + y + k + CATS.index(c)


def space_of(tk: Any) -> dict[str, Any]:
    """The four-parameter space of every tansaku cell (also ``overhead_instructions.py``'s)."""
    return {
        "x": tk.Float(-5.0, 5.0),
        "y": tk.Float(1e-3, 1.0, log=True),
        "k": tk.Int(0, 10),
        "c": tk.Categorical(list(CATS)),
    }


# ---------------------------------------------------------------------------- one cell (child)
def count_statements(engine: Any, counter: dict[str, int]) -> None:
    """Count every SQL statement SQLite executes on ``engine``'s connections (BEGIN and COMMIT
    included), with sqlite3's trace callback on each new connection."""
    from sqlalchemy import event

    def trace(sql: str) -> None:
        counter["n"] += 1

    event.listen(engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.set_trace_callback(trace))
    engine.dispose()  # connections opened so far had no callback


def _timed_loop(study: Any, objective: Any, n: int, api: str) -> tuple[float, float, float, float]:
    """Run ``n`` trials through ``study.optimize`` or a user's ask/tell loop (the two frameworks
    spell both alike); wall and CPU clocks before and after."""
    t0, c0 = time.perf_counter(), time.process_time()
    if api == "optimize":
        study.optimize(objective, n_trials=n)
    else:
        for _ in range(n):
            trial = study.ask()
            study.tell(trial, objective(trial))
    return t0, c0, time.perf_counter(), time.process_time()


def run_tansaku(
    url: str | None, n: int, api: str, src: str, counter: dict[str, int] | None
) -> dict[str, Any]:
    sys.path.insert(0, src)
    import tansaku as tk

    study = tk.create_study(space_of(tk), sampler="random", storage=url, name="overhead", seed=0)
    if counter is not None and url is not None and url.startswith("sqlite"):
        count_statements(study.storage._engine, counter)
    stamps: list[tuple[float, float]] = []
    best = [float("inf")]

    def objective(trial: Any) -> float:
        stamps.append((time.perf_counter(), time.process_time()))
        p = trial.params
        v = value_of(p["x"], p["y"], p["k"], p["c"])
        best[0] = min(best[0], v)
        return v

    t0, c0, t1, c1 = _timed_loop(study, objective, n, api)
    statements = None if counter is None else counter["n"]  # the timed loop's only
    counts = study.counts()
    r0 = time.perf_counter()
    if url is not None:
        again = tk.load_study("overhead", storage=url)
        assert again.counts() == counts
    reopen = time.perf_counter() - r0
    return {
        "reopen": reopen,
        "elapsed": t1 - t0,
        "statements": statements,
        "cpu": c1 - c0,
        "stamps_end": (t1, c1),
        "stamps": stamps,
        "complete": counts.complete,
        "other_states": counts.total - counts.complete,
        "best_ok": study.best_value == best[0],
        "version": tk.__version__,
    }


def run_optuna(
    url: str | None, n: int, api: str, src: str, counter: dict[str, int] | None
) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def storage() -> Any:
        if url is not None and url.startswith("journal:///"):
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            return JournalStorage(JournalFileBackend(url[len("journal:///") :]))
        return url

    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0),
        storage=storage(),
        study_name="overhead",
    )
    if counter is not None and url is not None:
        rdb = getattr(study._storage, "_backend", study._storage)  # under its _CachedStorage
        count_statements(rdb.engine, counter)
    stamps: list[tuple[float, float]] = []
    best = [float("inf")]

    def objective(trial: Any) -> float:
        stamps.append((time.perf_counter(), time.process_time()))
        x = trial.suggest_float("x", -5.0, 5.0)
        y = trial.suggest_float("y", 1e-3, 1.0, log=True)
        k = trial.suggest_int("k", 0, 10)
        c = trial.suggest_categorical("c", list(CATS))
        v = value_of(x, y, k, c)
        best[0] = min(best[0], v)
        return v

    t0, c0, t1, c1 = _timed_loop(study, objective, n, api)
    statements = None if counter is None else counter["n"]  # the timed loop's only
    states = [t.state for t in study.get_trials(deepcopy=False)]
    complete = sum(s == optuna.trial.TrialState.COMPLETE for s in states)
    r0 = time.perf_counter()
    if url is not None:
        again = optuna.load_study(study_name="overhead", storage=storage())
        assert len(again.get_trials(deepcopy=False)) == len(states)
    reopen = time.perf_counter() - r0
    return {
        "reopen": reopen,
        "elapsed": t1 - t0,
        "statements": statements,
        "cpu": c1 - c0,
        "stamps_end": (t1, c1),
        "stamps": stamps,
        "complete": complete,
        "other_states": len(states) - complete,
        "best_ok": study.best_value == best[0],
        "version": optuna.__version__,
    }


def child(spec: dict[str, Any]) -> None:
    fw, storage, n, api, tmp = (
        spec["fw"],
        spec["storage"],
        spec["n"],
        spec["api"],
        spec["dir"],
    )
    url = {
        "memory": None,
        "sqlite": f"sqlite:///{Path(tmp) / 'study.db'}",
        "journal": f"journal:///{Path(tmp) / 'study.journal'}",
    }[storage]
    counter = {"n": 0} if spec.get("count") else None
    src = spec.get("src") or str(ROOT / "src")
    res = (run_tansaku if fw == "tansaku" else run_optuna)(url, n, api, src, counter)
    stamps = res.pop("stamps")
    end = res.pop("stamps_end")
    tail = min(spec["tail"], len(stamps))
    res["tail_per_trial"] = (end[0] - stamps[-tail][0]) / tail if tail else float("nan")
    res["tail_cpu_per_trial"] = (end[1] - stamps[-tail][1]) / tail if tail else float("nan")
    print(json.dumps(res))


# ---------------------------------------------------------------------------- driver (parent)
def run_cell(spec: dict[str, Any], base_dir: str | None) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="tk-overhead-", dir=base_dir)
    try:
        load = os.getloadavg()[0]
        proc = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--cell",
                json.dumps({**spec, "dir": tmp}),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"cell {spec} failed:\n{proc.stderr[-3000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["load"] = max(load, os.getloadavg()[0])
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def machine_info(base_dir: str | None) -> list[str]:
    import sqlite3

    def version(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception:
            return "-"

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    tmp = base_dir or tempfile.gettempdir()
    fs = "?"
    try:
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, kind = line.split()[:3]
            if Path(tmp).resolve().as_posix().startswith(mnt) and len(mnt) >= len(best):
                best, fs = mnt, f"{kind} ({dev} on {mnt})"
    except OSError:
        pass
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"machine: {cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.platform()}",
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
        f"sqlalchemy {version('sqlalchemy')}, numpy {version('numpy')}, optuna {version('optuna')}",
        f"tansaku at {rev or '?'}; temp dir {tmp} on {fs}; niceness {os.nice(0)}",
        f"load average at start (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def fmt(x: float, digits: int = 3) -> str:
    if x != x:
        return "-"
    return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.0f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 50 and 200 trials, once")
    ap.add_argument("--sizes", default="1000,10000", help="trial counts (default 1000,10000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell; median shown")
    ap.add_argument(
        "--once-over",
        type=float,
        default=600.0,
        help="a cell whose first run takes longer than this many seconds is not repeated",
    )
    ap.add_argument("--tail", type=int, default=1000, help="trials in the tail measurement")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--storages", default=",".join(STORAGES))
    ap.add_argument("--apis", default=",".join(APIS))
    ap.add_argument("--dir", default=None, help="where the temporary databases go")
    ap.add_argument(
        "--src",
        default=None,
        help="tansaku source tree to measure (default: this checkout's src/), e.g. an old commit",
    )
    ap.add_argument(
        "--count-statements",
        action="store_true",
        help="also count SQL statements per trial on SQLite (adds a little time per statement)",
    )
    ap.add_argument("--json", default=None, help="also write the raw results to this file")
    ap.add_argument("--cell", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cell is not None:
        child(json.loads(args.cell))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    repeats, tail = args.repeats, args.tail
    if args.quick:
        sizes, repeats, tail = [50, 200], 1, 50
    fws = [f for f in args.frameworks.split(",") if f]
    storages = [s for s in args.storages.split(",") if s]
    apis = [a for a in args.apis.split(",") if a]
    for name, got, allowed in (
        ("--frameworks", fws, FRAMEWORKS),
        ("--storages", storages, STORAGES),
        ("--apis", apis, APIS),
    ):
        bad = sorted(set(got) - set(allowed))
        if bad:
            ap.error(f"{name}: unknown {', '.join(bad)} (choose from {', '.join(allowed)})")

    info = machine_info(args.dir)
    print("\n".join(info), flush=True)
    results: dict[tuple[str, str, str, int], list[dict[str, Any]]] = {}
    for storage in storages:
        for api in apis:
            for n in sizes:
                for fw in fws:
                    key = (fw, storage, api, n)
                    spec = {
                        "fw": fw,
                        "storage": storage,
                        "api": api,
                        "n": n,
                        "tail": tail,
                        "src": args.src,
                        "count": args.count_statements,
                    }
                    runs = results.setdefault(key, [])
                    for _ in range(repeats):
                        r = run_cell(spec, args.dir)
                        runs.append(r)
                        print(
                            f"  {fw:8s} {storage:7s} {api:9s} n={n:<6d} {r['elapsed']:8.2f} s "
                            f"({1e3 * r['elapsed'] / n:.3f} ms/trial, load {r['load']:.1f})",
                            file=sys.stderr,
                            flush=True,
                        )
                        if r["elapsed"] > args.once_over:
                            break

    def med(key: tuple[str, str, str, int], field: str) -> float:
        runs = results.get(key)
        return statistics.median(r[field] for r in runs) if runs else float("nan")

    rows = []
    small, big = min(sizes), max(sizes)
    for (fw, storage, api, n), runs in results.items():
        elapsed = med((fw, storage, api, n), "elapsed")
        per = elapsed / n
        growth = med((fw, storage, api, big), "tail_per_trial") / (
            med((fw, storage, api, small), "elapsed") / small
        )
        cpu_growth = med((fw, storage, api, big), "tail_cpu_per_trial") / (
            med((fw, storage, api, small), "cpu") / small
        )
        ok = all(r["complete"] == n and r["other_states"] == 0 and r["best_ok"] for r in runs)
        rows.append(
            [
                fw,
                storage,
                api,
                str(n),
                str(len(runs)),
                fmt(elapsed),
                f"{n / elapsed:.0f}",
                fmt(1e3 * per),
                fmt(1e3 * med((fw, storage, api, n), "cpu") / n),
                fmt(1e3 * med((fw, storage, api, n), "tail_per_trial")),
                fmt(growth, 2) if n == big and big > small else "",
                fmt(cpu_growth, 2) if n == big and big > small else "",
                f"{max(r['load'] for r in runs):.1f}",
                "yes" if ok else "NO",
                fmt(med((fw, storage, api, n), "reopen")) if storage != "memory" else "",
            ]
        )
        if args.count_statements:
            stmts = [r["statements"] for r in runs if r.get("statements") is not None]
            rows[-1].append(fmt(statistics.median(stmts) / n, 3) if stmts else "-")
    print()
    print(
        table(
            [
                "framework",
                "storage",
                "api",
                "trials",
                "runs",
                "total s",
                "trials/s",
                "ms/trial",
                "cpu ms/trial",
                f"tail ms/trial (last {tail})",
                f"growth {big}/{small}",
                "cpu growth",
                "max load",
                "counts+best ok",
                "reopen s",
                *(["SQL stmts/trial"] if args.count_statements else []),
            ],
            rows,
        )
    )

    if "tansaku" in fws and "optuna" in fws:
        ratio_rows = []
        for storage in storages:
            for api in apis:
                for n in sizes:
                    tk_ = med(("tansaku", storage, api, n), "elapsed")
                    op = med(("optuna", storage, api, n), "elapsed")
                    tkc = med(("tansaku", storage, api, n), "cpu")
                    opc = med(("optuna", storage, api, n), "cpu")
                    ratio_rows.append(
                        [
                            storage,
                            api,
                            str(n),
                            fmt(op / tk_, 3) + "x",
                            fmt(opc / tkc, 3) + "x",
                        ]
                    )
        print()
        print("tansaku throughput / Optuna throughput (= Optuna time / tansaku time):")
        print(table(["storage", "api", "trials", "speed-up", "cpu speed-up"], ratio_rows))

    print()
    if "tansaku" in fws and "sqlite" in storages and "optimize" in apis:
        if "optuna" in fws:
            worst = min(
                med(("optuna", "sqlite", "optimize", n), "elapsed")
                / med(("tansaku", "sqlite", "optimize", n), "elapsed")
                for n in sizes
            )
            print(
                f"target 1, SQLite throughput >= 10x Optuna's: lowest speed-up {worst:.1f}x -> "
                f"{'MET' if worst >= 10 else 'NOT MET'}"
            )
        if big > small:
            g = med(("tansaku", "sqlite", "optimize", big), "tail_per_trial") / (
                med(("tansaku", "sqlite", "optimize", small), "elapsed") / small
            )
            gc = med(("tansaku", "sqlite", "optimize", big), "tail_cpu_per_trial") / (
                med(("tansaku", "sqlite", "optimize", small), "cpu") / small
            )
            print(
                f"target 2, SQLite per-trial time at {big} within 1.5x of that at {small}: "
                f"growth {g:.2f} wall, {gc:.2f} cpu -> {'MET' if max(g, gc) <= 1.5 else 'NOT MET'}"
            )
    print(f"load average at end (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "info": info,
                    "runs": [[*k, r] for k, rs in results.items() for r in rs],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
