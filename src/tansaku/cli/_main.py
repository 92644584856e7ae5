"""``tansaku`` command line: run, worker, status, best, export (+ report, dashboard).

Errors a user can fix (bad config, unknown study, unreachable storage) print one line and exit
non-zero (2 for config errors, 1 otherwise); Ctrl-C exits 130 after putting running trials back in
the queue.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TextIO

from tansaku import __version__
from tansaku._check import check_count
from tansaku._errors import ConfigError, StudyNotFoundError, TansakuError
from tansaku._options import describe, yaml_options
from tansaku._progress import format_params
from tansaku._records import TrialState
from tansaku.cli._common import add_target as _add_target
from tansaku.cli._common import config_from_study as _config_from_study
from tansaku.cli._common import short as _short
from tansaku.cli._common import storage_exists as _storage_exists
from tansaku.cli._common import target as _target
from tansaku.cli._config import (
    KEYS,
    StudyConfig,
    load_config,
    parse_config,
)
from tansaku.cli._noise import RUN_TARGET_ATTR, run_target
from tansaku.storage._base import BaseStorage, ExportRow, StudyInfo
from tansaku.storage._url import get_storage

__all__ = ["main"]


# ------------------------------------------------------------------------------------------- run
def _run(cfg: StudyConfig, args: argparse.Namespace, *, enqueue: bool) -> int:

    # everything is checked before the storage is opened: a rejected run leaves no database file
    # and does not overwrite a stored config that other hosts' workers rebuild their objective from
    n_trials = check_count(args.n_trials, "--n-trials", none_ok=True)
    n_trials = n_trials if n_trials is not None else cfg.n_trials
    given = check_count(args.n_workers, "--n-workers", none_ok=True) or cfg.n_workers
    # given is None when neither the flag nor the config names a number of workers
    n_workers = given or 1
    gpus, gpus_per_trial = cfg.gpus, cfg.gpus_per_trial
    if getattr(args, "gpus", None) is not None:  # this host's devices (tansaku worker --gpus)
        gpus = args.gpus
    if getattr(args, "gpus_per_trial", None) is not None:
        gpus_per_trial = check_count(args.gpus_per_trial, "--gpus-per-trial", none_ok=True)
    if gpus is not None or gpus_per_trial is not None:
        from tansaku.cli._config import check_gpu_options

        n_workers = check_gpu_options(gpus, gpus_per_trial, given, cfg.executor)
    if cfg.executor is not None and n_workers != (cfg.n_workers or 1):
        from tansaku.executors._registry import make_executor

        make_executor(cfg.executor, n_workers=n_workers).shutdown(cancel=True)
    from tansaku.executors._arrays import is_worker_array

    array = is_worker_array(cfg.executor)
    if array and not enqueue:  # a task of the array (or any worker): its trials run right here
        cfg = replace(cfg, run=replace(cfg.run, executor="local"))
        array = False
    objective = cfg.objective()  # a Python objective imports now (a typo is a ConfigError)
    storage = get_storage(cfg.storage)
    try:
        storage.get_study(cfg.name)
        existed = True
    except StudyNotFoundError:
        existed = False
    seed = _seed_source(cfg, args, existed)
    study = cfg.open_study(storage, n_workers=n_workers)
    if enqueue:
        raw = {k: v for k, v in cfg.raw.items() if k != "storage"}  # no credentials in the study
        storage.set_study_system_attrs(
            study.study_id, {"config": raw, "base_dir": str(cfg.base_dir)}
        )
        if not existed:
            for params in cfg.enqueue:
                study.enqueue(params)
    if study.resume_notice:
        print(study.resume_notice, file=sys.stderr)
    if seed is not None:
        _seed(study, seed)
    if n_trials is not None:
        storage.set_study_system_attrs(study.study_id, {RUN_TARGET_ATTR: n_trials})
    out = sys.stdout
    c = study.counts()
    done = c.done - study.uncounted_trials  # imported trials count toward nothing
    if n_trials is not None and done >= n_trials:
        print(
            f"study {cfg.name!r} already has {done} finished trials (n_trials: {n_trials}); nothing to run",
            file=sys.stderr,
        )
    elif array:
        return _run_worker_array(cfg, study, n_trials, quiet=args.quiet)
    else:
        options = {
            **cfg.run.kwargs(),
            "n_trials": None,
            "total_trials": n_trials,  # the config's n_trials counts the whole study
            "n_workers": n_workers,
            "gpus": gpus,
            "gpus_per_trial": gpus_per_trial,
            "workdir": cfg.run_dir(study),
            "show_progress": not args.quiet,
        }
        study.optimize(objective, **options)
    _print_best(study.storage, study.storage.get_study(cfg.name), out)
    error = getattr(study, "run_error", None)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _run_worker_array(cfg: StudyConfig, study: Any, n_trials: int | None, *, quiet: bool) -> int:
    """``mode: workers``: one array job of ``tansaku worker`` tasks runs the trials
    (:mod:`tansaku.executors._arrays`); this process waits for it."""
    from tansaku.executors._arrays import run_worker_array
    from tansaku.executors._batch import BatchExecutor
    from tansaku.executors._registry import make_executor

    ex = make_executor(cfg.executor)
    assert isinstance(ex, BatchExecutor)  # only the batch executors take mode: workers
    error = run_worker_array(
        ex,
        study,
        storage_url=cfg.storage,
        cwd=cfg.base_dir,
        run_dir=cfg.run_dir(study),
        n_trials=n_trials,
        out=None if quiet else sys.stderr,
    )
    _print_best(study.storage, study.storage.get_study(cfg.name), sys.stdout)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _seed_source(cfg: StudyConfig, args: argparse.Namespace, existed: bool) -> Any:
    """``run --seed-from NAME``: the trials of NAME that fit the config's space (read before
    anything is written), or None when not asked or the study exists already."""
    name = getattr(args, "seed_from", None)
    if not name:
        return None
    if existed:
        print(
            f"note: study {cfg.name!r} exists; --seed-from seeds a new study only (ignored)",
            file=sys.stderr,
        )
        return None
    from tansaku.study._import import read_study

    if name == cfg.name and not args.seed_storage:
        raise ConfigError("a study cannot be seeded from itself", field="--seed-from")
    source = get_storage(args.seed_storage or cfg.storage)
    return read_study(
        source, name, cfg.space, direction=cfg.direction, directions=cfg.directions,
        skip_invalid=True,
    )


def _seed(study: Any, src: Any) -> None:
    from tansaku.study._warm import add_checked

    added = add_checked(study, src.records, count=False)
    left = len(src.skipped_invalid)
    print(
        f"note: study {study.name!r} seeded with {len(added)} trials of {src.label} "
        f"({left} did not fit the space" + (f", the first: {src.skipped_invalid[0]})" if left else ")"),
        file=sys.stderr,
    )


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
    if not _storage_exists(args.storage):  # never create an empty database for a typo
        raise StudyNotFoundError(
            f"no study {args.study!r}: {args.storage.split(':///', 1)[-1]} does not exist yet"
        )
    storage = get_storage(args.storage)
    cfg = _config_from_study(storage, storage.get_study(args.study), args.storage)
    return _run(cfg, args, enqueue=False)


# ------------------------------------------------------------------------------------------- read
def _objective_labels(info: StudyInfo) -> list[str]:
    """The objectives' names, or ``value0``, ``value1`` ... when the study named none."""
    return list(info.objective_names) or [f"value{i}" for i in range(info.n_objectives)]


def _front(storage: BaseStorage, info: StudyInfo) -> list[Any]:
    from tansaku.study._front import pareto_front

    done = storage.get_trials(info.study_id, states=[TrialState.COMPLETE])
    return pareto_front(done, info.directions)


def _best_dict(storage: BaseStorage, info: StudyInfo) -> dict[str, Any] | None:
    if info.n_objectives > 1:
        front = _front(storage, info)
        if not front:
            return None
        return {
            "study": info.name,
            "directions": list(info.directions),
            "objective_names": _objective_labels(info),
            "front": [
                {
                    "number": t.number,
                    "values": list(t.values),
                    "params": dict(t.params),
                    **({"constraints": dict(t.constraints)} if t.constraints else {}),
                }
                for t in front
            ],
        }
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


def _no_best_line(storage: BaseStorage, info: StudyInfo) -> str:
    complete = storage.counts(info.study_id).complete
    if complete == 0:
        return f"study {info.name!r}: no complete trial yet"
    return (
        f"study {info.name!r}: no feasible trial (each of its {complete} complete trials "
        "violates a constraint)"
    )


def _print_best(storage: BaseStorage, info: StudyInfo, out: TextIO) -> None:
    best = _best_dict(storage, info)
    if best is None:
        print(_no_best_line(storage, info), file=out)
        return
    if "front" in best:
        labels = best["objective_names"]
        what = ", ".join(f"{n} {d}" for n, d in zip(labels, info.directions))
        print(f"Pareto front: {len(best['front'])} trials ({what})", file=out)
        for t in best["front"]:
            vals = "  ".join(f"{n}={v:.6g}" for n, v in zip(labels, t["values"]))
            print(f"  trial {t['number']}: {vals}  | {format_params(t['params'], 300)}", file=out)
        return
    print(f"best value: {best['value']:.10g} (trial {best['number']}, {info.direction})", file=out)
    print("best params:", file=out)
    for k, v in best["params"].items():
        print(f"  {k}: {v}", file=out)


def cmd_best(args: argparse.Namespace) -> int:
    check_count(getattr(args, "min_evaluations", None), "--min-evaluations", none_ok=True)
    # (checked even when unused)
    storage, name, _ = _target(args)
    info = storage.get_study(name)
    if getattr(args, "by", "value") == "mean":
        from tansaku.cli._noise import print_best_by_mean

        return print_best_by_mean(storage, info, args)
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
                f"({info.direction}, sampler {info.sampler_text()})"
            )
        return 0
    storage, name, n_trials = _target(args)
    info = storage.get_study(name)
    c = storage.counts(info.study_id)
    configured = (
        n_trials if n_trials is not None else info.system_attrs.get("config", {}).get("n_trials")
    )
    target = run_target(info.system_attrs, configured)
    from tansaku.storage._base import uncounted_trials

    imported = uncounted_trials(info.system_attrs)  # count toward no budget (study/_warm.py)
    own = c.done - imported
    done = f"{own} of {target} done" if target else f"{own} done"
    if target and own > target:  # e.g. workers that each finished the trial they were running
        done = f"{own} done (n_trials: {target})"
    if imported:
        done += f" + {imported} imported"
    sampler = info.sampler_text()
    if info.sampler.get("name") == "auto":  # which algorithm it picked for how many trials
        from tansaku._records import sampler_label

        sampler = sampler_label("auto", storage.get_trials(info.study_id))
    how = info.direction if info.n_objectives == 1 else ", ".join(info.directions)
    print(f"study {info.name} ({how}, sampler {sampler}, storage {storage.url})")
    print(
        f"trials: {done} ({c.complete} complete, {c.pruned} pruned), {c.running} running, "
        f"{c.waiting} waiting, {c.failed} failed"
    )
    if info.n_objectives > 1:
        front = _front(storage, info)
        if front:
            shown = ", ".join(str(t.number) for t in front[:20]) + (
                ", ..." if len(front) > 20 else ""
            )
            print(f"Pareto front: {len(front)} trials ({shown}); tansaku best lists them")
        elif c.complete:
            print("Pareto front: empty (no complete trial is feasible)")
    else:
        best = storage.best_trial(info.study_id, info.direction)
        if best is not None:
            print(
                f"best: {best.value:.10g} (trial {best.number}): {format_params(best.params, 400)}"
            )
        elif c.complete:
            print(f"best: none feasible ({c.complete} complete trials violate a constraint)")
    setup = info.system_attrs.get("setup")
    if isinstance(setup, dict):
        print(f"setup step: {setup.get('state')} in {setup.get('dir')}")
    running = [t for t in storage.pending_trials(info.study_id) if t.state is TrialState.RUNNING]
    for t in running[:20]:
        print(
            f"  running: trial {t.number} on {t.worker} since {t.started_at:%Y-%m-%d %H:%M:%S} UTC"
            if t.started_at
            else f"  running: trial {t.number}"
        )
    if c.failed:
        failed = storage.get_trials(  # the last three to fail, without reading them all
            info.study_id,
            states=[TrialState.FAILED],
            order="finish",
            limit=3,
            offset=max(0, c.failed - 3),
        )
        for t in failed:
            print(f"  failed: trial {t.number}: {t.message}")
    return 0


_ISO_SECONDS: dict[int, str] = {}  # "2026-11-24T11:07:38" by whole second (trials cluster)


def _iso(ts: float | None) -> str | None:
    """``datetime.fromtimestamp(ts, utc).isoformat()``, a third of the cost for 100k rows."""
    if ts is None:
        return None
    sec = math.floor(ts)
    us = round((ts - sec) * 1e6)
    if us >= 1_000_000 or not 0 <= sec < 2**40:
        return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()
    head = _ISO_SECONDS.get(sec)
    if head is None:
        if len(_ISO_SECONDS) > 100_000:
            _ISO_SECONDS.clear()
        head = _ISO_SECONDS[sec] = datetime.fromtimestamp(sec, tz=timezone.utc).isoformat()[:19]
    return f"{head}.{us:06d}+00:00" if us else f"{head}+00:00"


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


def _json_str(text: str | None) -> str:
    return "null" if text is None else encode_basestring_ascii(text)


def _valid_json(text: str) -> str:
    """Stored JSON text as strict JSON: NaN and +-Infinity (which attributes may hold) become
    ``null``.  Text without those words is returned as it is (the fast, usual case)."""
    if "NaN" not in text and "Infinity" not in text:
        return text

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(json.loads(text)), allow_nan=False)


def _json_line(r: ExportRow) -> str:
    """One trial as a JSON object; params and attributes are inserted as the JSON text the storage
    keeps (not parsed and re-dumped: that was most of the time of exporting 100k trials)."""
    done = r.start_time is not None and r.end_time is not None
    duration = r.end_time - r.start_time if done else None  # type: ignore[operator]
    value = _finite(r.value)
    start = "null" if r.start_time is None else '"' + _iso(r.start_time) + '"'  # type: ignore[operator]
    end = "null" if r.end_time is None else '"' + _iso(r.end_time) + '"'  # type: ignore[operator]
    return (
        f'{{"number": {r.number}, "state": "{r.state}", '
        f'"value": {"null" if value is None else repr(value)}, "params": {_valid_json(r.params)}, '
        f'"started_at": {start}, "finished_at": {end}, '
        f'"duration": {"null" if duration is None else repr(duration)}, '
        f'"worker": {_json_str(r.worker)}, "message": {_json_str(r.message)}, '
        f'"stderr": {_json_str(r.stderr)}, '
        f'"user_attrs": {_valid_json(r.user_attrs)}, '
        f'"system_attrs": {_valid_json(r.system_attrs)}{_json_objectives(r)}}}'
    )


def _row_feasible(r: ExportRow) -> bool:
    """COMPLETE with every constraint ``<= 0`` (the rule of ``FrozenTrial.is_feasible``)."""
    from tansaku._records import constraint_violation

    return r.state == "complete" and constraint_violation(json.loads(r.constraints or "{}")) == 0


def _json_objectives(r: ExportRow) -> str:
    """``, "values": [...], "constraints": {...}, "feasible": b`` for a trial of a multi-objective
    study or with constraints; nothing otherwise (single-objective exports stay as they were)."""
    if r.values is None and r.constraints in (None, "", "{}"):
        return ""
    values = "null" if r.values is None else _valid_json(r.values)
    return (
        f', "values": {values}, "constraints": {_valid_json(r.constraints or "{}")}, '
        f'"feasible": {"true" if _row_feasible(r) else "false"}'
    )


_EXPORT_EXTENSIONS = {".csv": "csv", ".json": "json"}


def export_format(output: str | None, given: str | None) -> str:
    """The export format: ``--format`` when given, else the output file's extension (.csv or
    .json), else CSV.  A ``--format`` that contradicts a .csv/.json extension is a ConfigError."""
    by_ext = _EXPORT_EXTENSIONS.get(Path(output).suffix.lower()) if output else None
    if given and by_ext and given != by_ext:
        raise ConfigError(
            f"--format {given} contradicts the file name {output!r}; "
            f"drop --format or name the file *.{given}",
            field="--format",
        )
    return given or by_ext or "csv"


def _attr_text(value: Any) -> Any:
    """An attribute value for a CSV cell: numbers and text as they are, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return json.dumps(value)


def _attr_columns(rows: Iterable[ExportRow]) -> tuple[list[str], list[str]]:
    """The user and system attribute keys any trial has, in the order first seen."""
    user: dict[str, None] = {}
    system: dict[str, None] = {}
    for r in rows:
        if r.user_attrs not in ("{}", ""):
            user.update(dict.fromkeys(json.loads(r.user_attrs)))
        if r.system_attrs not in ("{}", ""):
            system.update(dict.fromkeys(json.loads(r.system_attrs)))
    return list(user), list(system)


def _constraint_columns(rows: Iterable[ExportRow]) -> list[str]:
    """The constraint names any trial has, in the order first seen."""
    keys: dict[str, None] = {}
    for r in rows:
        if r.constraints not in (None, "", "{}"):
            keys.update(dict.fromkeys(json.loads(r.constraints)))
    return list(keys)


def _open_output(path: str) -> TextIO:
    """``path`` opened for writing, its folder made; an OSError becomes one line."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, "w", newline="", encoding="utf-8")
    except OSError as e:
        raise TansakuError(f"cannot write {path}: {e.strerror or e}") from None


def cmd_export(args: argparse.Namespace) -> int:
    """Stream every trial (memory does not grow with the study; see ``export_rows``: CSV reads
    the rows twice, first for the attribute columns)."""
    storage, name, _ = _target(args)
    info = storage.get_study(name)
    fmt = export_format(args.output, args.format)
    out: TextIO = _open_output(args.output) if args.output else sys.stdout
    try:
        if fmt == "json":
            out.write("[")
            for i, r in enumerate(storage.export_rows(info.study_id)):
                out.write(("," if i else "") + "\n" + _json_line(r))
            out.write("\n]\n")
        else:
            names = list(info.searched_space.names)
            user_keys, system_keys = _attr_columns(storage.export_rows(info.study_id))
            cons_keys = _constraint_columns(storage.export_rows(info.study_id))
            labels = _objective_labels(info) if info.n_objectives > 1 else []
            extra = bool(labels or cons_keys)  # values, constraints and feasible columns
            w = csv.writer(out)
            w.writerow(
                [
                    "number",
                    "state",
                    "value",
                    *[f"values_{n}" for n in labels],
                    *[f"constraints.{k}" for k in cons_keys],
                    *(["feasible"] if extra else []),
                    *[f"params_{n}" for n in names],
                    "started_at",
                    "finished_at",
                    "duration",
                    "worker",
                    "message",
                    *[f"user_attrs.{k}" for k in user_keys],
                    *[f"system_attrs.{k}" for k in system_keys],
                ]
            )
            for r in storage.export_rows(info.study_id):
                params = json.loads(r.params)
                value = _finite(r.value)
                done = r.start_time is not None and r.end_time is not None
                user = json.loads(r.user_attrs) if user_keys else {}
                system = json.loads(r.system_attrs) if system_keys else {}
                vals = json.loads(r.values) if labels and r.values else []
                cons = json.loads(r.constraints or "{}") if cons_keys else {}
                w.writerow(
                    [
                        r.number,
                        r.state,
                        "" if value is None else value,
                        *[vals[i] if i < len(vals) else "" for i in range(len(labels))],
                        *[_attr_text(cons.get(k)) for k in cons_keys],
                        *([int(_row_feasible(r))] if extra else []),
                        *[params.get(n, "") for n in names],
                        _iso(r.start_time) or "",
                        _iso(r.end_time) or "",
                        f"{r.end_time - r.start_time:.3f}" if done else "",  # type: ignore[operator]
                        r.worker or "",
                        r.message or "",
                        *[_attr_text(user.get(k)) for k in user_keys],
                        *[_attr_text(system.get(k)) for k in system_keys],
                    ]
                )
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


# ------------------------------------------------------------------------------------------- parser
def cmd_trial(args: argparse.Namespace) -> int:
    """``tansaku trial fail N ...``: RUNNING trials -> FAILED (whoever holds them)."""
    numbers = [int(x) for x in args.items if x.lstrip("-").isdigit()]
    configs = [x for x in args.items if not x.lstrip("-").isdigit()]
    if len(configs) > 1 or not numbers:
        raise ConfigError("give trial numbers and at most one config file", field="trial")
    args.config = configs[0] if configs else None
    storage, name, _ = _target(args)
    info = storage.get_study(name)
    bad = 0
    for n in numbers:
        try:
            t = storage.get_trial_by_number(info.study_id, n)
        except TansakuError:
            print(f"error: study {name!r} has no trial {n}", file=sys.stderr)
            bad += 1
            continue
        done = storage.finish_trial(
            t.trial_id, worker=None, state=TrialState.FAILED, message=str(args.message)
        )
        if done is None:
            state = storage.get_trial(t.trial_id).state.value
            print(f"error: trial {n} is {state}, not running; left as it is", file=sys.stderr)
            bad += 1
        else:
            print(f"trial {n}: failed")
    return 1 if bad else 0


def _text(value: str) -> str:
    """A text option's value: anything but empty, blank or containing a NUL byte (which no
    path, URL, name or message can hold)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if "\0" in value:
        raise argparse.ArgumentTypeError("must not contain a NUL byte")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with the house's error form: one line ``error: --opt: problem`` and exit 2,
    instead of the usage block followed by the message."""

    def error(self, message: str) -> Any:
        message = message.removeprefix("argument ")
        message = re.sub(r"'([^']{41,})'", lambda m: repr(_short(m.group(1))), message)
        message = " ".join(message.replace("\0", "\\0").split())
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _check_text_options(parser: argparse.ArgumentParser) -> None:
    """Give every free-text option of ``parser`` and its subcommands the :func:`_text` check."""
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                _check_text_options(sub)
        elif a.option_strings and a.nargs != 0 and a.type is None and a.choices is None:
            a.type = _text


def build_parser() -> argparse.ArgumentParser:
    keys = "\n".join(f"  {k:<19}{v}" for k, v in KEYS.items())
    run_keys = "\n".join(f"  {f.name:<19}{describe(f)}" for f in yaml_options())
    parser = _Parser(
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
    p.add_argument("--gpus", help="device ids of this host for the trials, e.g. 0,1,2,3, or auto")
    p.add_argument("--gpus-per-trial", type=int, help="devices each trial gets (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--seed-from",
        metavar="NAME",
        help="when the study is new: seed it with the finished trials of study NAME (e.g. the "
        "one this config had before its space changed) that fit the config's space",
    )
    p.add_argument("--seed-storage", help="with --seed-from: the storage holding it (default: the config's)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "worker",
        help="join a (shared) study and run its trials until it is done",
        description="Join a study in a shared storage and run trials until it has n_trials. "
        "Start as many as you like, on any host that reaches the storage.",
        epilog=f"run options (config keys; the stored config's are used):\n{run_keys}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_target(p)
    p.add_argument("--n-trials", type=int, help="override n_trials")
    p.add_argument("--n-workers", type=int, help="trials this worker runs at once")
    p.add_argument("--gpus", help="device ids of this host for the trials, e.g. 0,1,2,3, or auto")
    p.add_argument("--gpus-per-trial", type=int, help="devices each trial gets (default 1)")
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
    p.add_argument(
        "--by",
        choices=["value", "mean"],
        default="value",
        help="value: the best trial value (default); mean: the point with the best mean over "
        "its repeats and re-evaluations",
    )
    p.add_argument(
        "--min-evaluations",
        type=int,
        help="with --by mean: only points evaluated at least this often (default: 2 if any "
        "point was evaluated twice, else 1)",
    )
    p.set_defaults(func=cmd_best)

    from tansaku.cli._noise import add_commands

    add_commands(sub, _add_target)
    from tansaku.cli._import import add_commands as add_import_commands

    add_import_commands(sub)

    p = sub.add_parser("export", help="write every trial as CSV or JSON")
    _add_target(p)
    p.add_argument(
        "--format",
        choices=["csv", "json"],
        help="csv or json (default: the output file's extension, else csv)",
    )
    p.add_argument("-o", "--output", help="file to write, its folder made (default: stdout)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "trial",
        help="act on single trials: `trial fail N` ends a RUNNING trial nobody will finish",
        description="`tansaku trial fail N [N ...]` records RUNNING trials as FAILED, e.g. "
        "study.ask() trials that were never told, or a trial whose worker you know is gone.",
    )
    p.add_argument("action", choices=["fail"])
    p.add_argument(
        "items",
        nargs="+",
        metavar="N|CONFIG",
        help="trial numbers, and the study's YAML config (or use --storage and --study)",
    )
    p.add_argument("--storage", help="storage URL (overrides the config's)")
    p.add_argument("--study", help="study name (overrides the config's)")
    p.add_argument("--message", default="failed by `tansaku trial fail`", help="reason stored")
    p.set_defaults(func=cmd_trial)

    from tansaku.cli._report import add_commands as add_report_commands

    add_report_commands(sub)  # report, dashboard
    _check_text_options(parser)
    return parser


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a batch scheduler's walltime SIGTERM stops as cleanly as Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)
        # a shell starts background jobs with SIGINT ignored; Ctrl-C must still stop us cleanly
        signal.signal(signal.SIGINT, signal.default_int_handler)
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
