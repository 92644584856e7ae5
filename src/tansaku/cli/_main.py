"""``tansaku`` command line: run, worker, status, best, export.

Errors a user can fix (bad config, unknown study, unreachable storage) print one line and exit
non-zero (2 for config errors, 1 otherwise); Ctrl-C exits 130 after putting running trials back in
the queue.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from tansaku import __version__
from tansaku._errors import ConfigError, StudyNotFoundError, TansakuError
from tansaku._progress import format_params
from tansaku._records import FrozenTrial, TrialState
from tansaku.cli._config import KEYS, StudyConfig, load_config, parse_config
from tansaku.storage._base import BaseStorage, StudyInfo
from tansaku.storage._url import get_storage

__all__ = ["main"]

EXPORT_PAGE = 5000


def _storage_exists(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :]).exists()
    return True


def _target(args: argparse.Namespace) -> tuple[BaseStorage, str, StudyConfig | None]:
    """The storage and study name named by CONFIG or by --storage/--study (read-only use)."""
    cfg = None
    if args.config:
        cfg = load_config(args.config)
        url, name = args.storage or cfg.storage, args.study or cfg.name
    else:
        if not args.storage or not args.study:
            raise ConfigError("give a config file, or both --storage URL and --study NAME")
        url, name = args.storage, args.study
    if not _storage_exists(url):
        raise StudyNotFoundError(
            f"no study {name!r}: {url.split(':///', 1)[-1]} does not exist yet"
        )
    return get_storage(url), name, cfg


# ------------------------------------------------------------------------------------------- run
def _config_from_study(storage: BaseStorage, info: StudyInfo, url: str) -> StudyConfig:
    raw = info.system_attrs.get("config")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"study {info.name!r} has no stored config (it was not started by `tansaku run`); "
            "pass the config file instead"
        )
    base = Path(str(info.system_attrs.get("base_dir", ".")))
    return parse_config(
        {**raw, "storage": url, "name": info.name}, base_dir=base, default_name=info.name
    )


def _run(cfg: StudyConfig, args: argparse.Namespace, *, enqueue: bool) -> int:
    from tansaku.study._study import create_study

    n_trials = args.n_trials if args.n_trials is not None else cfg.n_trials
    n_workers = args.n_workers if args.n_workers is not None else cfg.n_workers
    storage = get_storage(cfg.storage)
    try:
        storage.get_study(cfg.name)
        existed = True
    except StudyNotFoundError:
        existed = False
    study = create_study(
        cfg.space,
        sampler=cfg.sampler,
        storage=storage,
        name=cfg.name,
        direction=cfg.direction,
        seed=cfg.seed,
        pruner=cfg.pruner,
        load_if_exists=True,
        n_workers=n_workers,
    )
    if enqueue:
        raw = {k: v for k, v in cfg.raw.items() if k != "storage"}  # no credentials in the study
        storage.set_study_system_attrs(
            study.study_id, {"config": raw, "base_dir": str(cfg.base_dir)}
        )
        if not existed:
            for params in cfg.enqueue:
                study.enqueue(params)
    out = sys.stdout
    c = study.counts()
    if n_trials is not None and c.done >= n_trials:
        print(
            f"study {cfg.name!r} already has {c.done} finished trials (n_trials: {n_trials}); nothing to run",
            file=sys.stderr,
        )
    else:
        study.optimize(
            cfg.objective(),
            total_trials=n_trials,
            timeout=cfg.timeout,
            n_workers=n_workers,
            executor=cfg.executor,
            trial_timeout=cfg.trial_timeout,
            workdir=cfg.workdir,
            max_failures=cfg.max_failures,
            show_progress=not args.quiet,
            heartbeat_interval=cfg.heartbeat_interval,
            stale_after=cfg.stale_after,
        )
    _print_best(study.storage, study.storage.get_study(cfg.name), out)
    error = getattr(study, "run_error", None)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.storage:
        cfg = parse_config(
            {**cfg.raw, "storage": args.storage}, base_dir=cfg.base_dir, default_name=cfg.name
        )
    return _run(cfg, args, enqueue=True)


def cmd_worker(args: argparse.Namespace) -> int:
    if args.config:
        cfg = load_config(args.config)
        if args.storage:
            cfg = parse_config(
                {**cfg.raw, "storage": args.storage}, base_dir=cfg.base_dir, default_name=cfg.name
            )
        return _run(cfg, args, enqueue=False)
    if not args.storage or not args.study:
        raise ConfigError("give a config file, or both --storage URL and --study NAME")
    storage = get_storage(args.storage)
    cfg = _config_from_study(storage, storage.get_study(args.study), args.storage)
    return _run(cfg, args, enqueue=False)


# ------------------------------------------------------------------------------------------- read
def _best_dict(storage: BaseStorage, info: StudyInfo) -> dict[str, Any] | None:
    best = storage.best_trial(info.study_id, info.direction)
    if best is None:
        return None
    return {
        "study": info.name,
        "direction": info.direction,
        "number": best.number,
        "value": best.value,
        "params": dict(best.params),
    }


def _print_best(storage: BaseStorage, info: StudyInfo, out: TextIO) -> None:
    best = _best_dict(storage, info)
    if best is None:
        print(f"study {info.name!r}: no complete trial yet", file=out)
        return
    print(f"best value: {best['value']:.10g} (trial {best['number']}, {info.direction})", file=out)
    print("best params:", file=out)
    for k, v in best["params"].items():
        print(f"  {k}: {v!r}" if isinstance(v, str) else f"  {k}: {v}", file=out)


def cmd_best(args: argparse.Namespace) -> int:
    storage, name, _ = _target(args)
    info = storage.get_study(name)
    if args.json:
        print(json.dumps(_best_dict(storage, info)))
    else:
        _print_best(storage, info, sys.stdout)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    if not args.config and args.storage and not args.study:
        if not _storage_exists(args.storage):
            raise StudyNotFoundError(f"{args.storage.split(':///', 1)[-1]} does not exist yet")
        storage = get_storage(args.storage)
        for info in storage.list_studies():
            c = storage.counts(info.study_id)
            print(
                f"{info.name}: {c.done} done, {c.running} running, {c.waiting} waiting, {c.failed} failed "
                f"({info.direction}, sampler {info.sampler.get('name', '?')})"
            )
        return 0
    storage, name, cfg = _target(args)
    info = storage.get_study(name)
    c = storage.counts(info.study_id)
    target = (
        cfg.n_trials if cfg is not None else info.system_attrs.get("config", {}).get("n_trials")
    )
    of = f" of {target}" if target else ""
    print(
        f"study {info.name} ({info.direction}, sampler {info.sampler.get('name', '?')}, storage {storage.url})"
    )
    print(
        f"trials: {c.done}{of} done ({c.complete} complete, {c.pruned} pruned), {c.running} running, "
        f"{c.waiting} waiting, {c.failed} failed"
    )
    best = storage.best_trial(info.study_id, info.direction)
    if best is not None:
        print(f"best: {best.value:.10g} (trial {best.number}): {format_params(best.params, 400)}")
    running = [t for t in storage.pending_trials(info.study_id) if t.state is TrialState.RUNNING]
    for t in running[:20]:
        print(
            f"  running: trial {t.number} on {t.worker} since {t.started_at:%Y-%m-%d %H:%M:%S} UTC"
            if t.started_at
            else f"  running: trial {t.number}"
        )
    if c.failed:
        failed = storage.get_trials(info.study_id, states=[TrialState.FAILED], order="finish")[-3:]
        for t in failed:
            print(f"  failed: trial {t.number}: {t.message}")
    return 0


def _pages(storage: BaseStorage, study_id: int) -> Iterator[FrozenTrial]:
    offset = 0
    while True:
        page = storage.get_trials(study_id, limit=EXPORT_PAGE, offset=offset)
        yield from page
        if len(page) < EXPORT_PAGE:
            return
        offset += EXPORT_PAGE


def _record(t: FrozenTrial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.value,
        "value": None if t.value is None or not math.isfinite(t.value) else t.value,
        "params": dict(t.params),
        "started_at": t.started_at.isoformat() if t.started_at else None,
        "finished_at": t.finished_at.isoformat() if t.finished_at else None,
        "duration": t.duration,
        "worker": t.worker,
        "message": t.message,
        "user_attrs": dict(t.user_attrs),
        "system_attrs": dict(t.system_attrs),
    }


def cmd_export(args: argparse.Namespace) -> int:
    storage, name, _ = _target(args)
    info = storage.get_study(name)
    out: TextIO = (
        open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    )
    try:
        if args.format == "json":
            out.write("[")
            for i, t in enumerate(_pages(storage, info.study_id)):
                out.write(("," if i else "") + "\n" + json.dumps(_record(t), default=str))
            out.write("\n]\n")
        else:
            names = list(info.space.names)
            w = csv.writer(out)
            w.writerow(
                [
                    "number",
                    "state",
                    "value",
                    *[f"params_{n}" for n in names],
                    "started_at",
                    "finished_at",
                    "duration",
                    "worker",
                    "message",
                ]
            )
            for t in _pages(storage, info.study_id):
                r = _record(t)
                w.writerow(
                    [
                        r["number"],
                        r["state"],
                        "" if r["value"] is None else r["value"],
                        *[t.params.get(n, "") for n in names],
                        r["started_at"] or "",
                        r["finished_at"] or "",
                        "" if r["duration"] is None else f"{r['duration']:.3f}",
                        r["worker"] or "",
                        r["message"] or "",
                    ]
                )
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


# ------------------------------------------------------------------------------------------- parser
def _add_target(p: argparse.ArgumentParser, *, config_required: bool = False) -> None:
    if config_required:
        p.add_argument("config", help="the study's YAML config")
    else:
        p.add_argument(
            "config", nargs="?", help="the study's YAML config (or use --storage and --study)"
        )
    p.add_argument("--storage", help="storage URL (overrides the config's)")
    p.add_argument("--study", help="study name (overrides the config's)")


def build_parser() -> argparse.ArgumentParser:
    keys = "\n".join(f"  {k:<19}{v}" for k, v in KEYS.items())
    parser = argparse.ArgumentParser(
        prog="tansaku",
        description="Optimise expensive black-box programs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tansaku {__version__}")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "run",
        help="run (or resume) the study described by a YAML config",
        description="Run a study until it has n_trials finished trials; running it again resumes.",
        epilog=f"config keys:\n{keys}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="the study's YAML config")
    p.add_argument("--storage", help="storage URL (overrides the config's)")
    p.add_argument("--n-trials", type=int, help="override n_trials")
    p.add_argument("--n-workers", type=int, help="override n_workers")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "worker",
        help="join a (shared) study and run its trials until it is done",
        description="Join a study in a shared storage and run trials until it has n_trials. "
        "Start as many as you like, on any host that reaches the storage.",
    )
    _add_target(p)
    p.add_argument("--n-trials", type=int, help="override n_trials")
    p.add_argument("--n-workers", type=int, help="trials this worker runs at once")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser(
        "status",
        help="trial counts, best value, running and failed trials",
        description="Show a study's state; with only --storage, list the studies in it.",
    )
    _add_target(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("best", help="print the best value and parameters")
    _add_target(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_best)

    p = sub.add_parser("export", help="write every trial as CSV or JSON")
    _add_target(p)
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_export)
    return parser


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a batch scheduler's walltime SIGTERM stops as cleanly as Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TansakuError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: running trials were put back in the queue; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0
