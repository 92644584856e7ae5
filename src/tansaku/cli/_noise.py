"""``tansaku reevaluate``, ``tansaku enqueue`` and ``tansaku best --by mean``.

Kept apart from ``_main.py`` so the noise and warm-start commands stay one module.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import Any

from tansaku._check import check_count
from tansaku._errors import ConfigError
from tansaku.cli._common import config_from_study
from tansaku.cli._config import StudyConfig, load_config, parse_config, refuse_unknown
from tansaku.storage._base import BaseStorage, StudyInfo
from tansaku.storage._url import get_storage

__all__ = [
    "RUN_TARGET_ATTR",
    "add_commands",
    "cmd_enqueue",
    "cmd_reevaluate",
    "parse_params",
    "print_best_by_mean",
    "run_target",
]

#: study system attribute: the n_trials of the last ``tansaku run`` / ``worker`` (with --n-trials)
RUN_TARGET_ATTR = "run_n_trials"


def _config(args: argparse.Namespace) -> StudyConfig:
    """The study's config: the file given, or the one stored with the study."""
    if args.config:
        cfg = load_config(args.config)
        if args.storage or args.study:
            raw = {**cfg.raw}
            if args.storage:
                raw["storage"] = args.storage
            if args.study:
                raw["name"] = args.study
            cfg = parse_config(raw, base_dir=cfg.base_dir, default_name=cfg.name)
        return cfg
    if not args.storage or not args.study:
        raise ConfigError("give a config file, or both --storage URL and --study NAME")

    storage = get_storage(args.storage)
    return config_from_study(storage, storage.get_study(args.study), args.storage)


def _study(cfg: StudyConfig) -> Any:
    from tansaku.study._study import load_study

    return load_study(cfg.name, storage=cfg.storage, sampler="random")


def cmd_reevaluate(args: argparse.Namespace) -> int:
    from tansaku.study._reevaluate import format_ranking, reevaluate

    check_count(args.top, "--top", none_ok=True)
    check_count(args.repeats, "--repeats", none_ok=True)
    check_count(args.n_workers, "--n-workers", none_ok=True)
    cfg = _config(args)
    study = _study(cfg)
    n_workers = args.n_workers if args.n_workers is not None else (cfg.n_workers or 1)
    ranked = reevaluate(
        study,
        cfg.objective(),
        top=args.top,
        repeats=args.repeats,
        n_workers=n_workers,
        executor=cfg.executor,
        workdir=cfg.run_dir(study),
        trial_timeout=cfg.trial_timeout,
    )
    if args.json:
        print(json.dumps([p.as_dict() for p in ranked]))
    else:
        print(format_ranking(ranked, study.direction))
    return 0


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ConfigError(f"duplicate key {key!r}", field="--params")
        out[key] = value
    return out


def parse_params(text: str) -> dict[str, Any]:
    """``--params`` JSON: an object of parameter values, each key once (ConfigError otherwise)."""
    try:
        params = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise ConfigError(f"not valid JSON: {e}", field="--params") from None
    except RecursionError:
        raise ConfigError("not valid JSON: nested too deeply", field="--params") from None
    except ValueError as e:  # an integer beyond Python's int-str digit limit
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"not valid JSON: {e}", field="--params") from None
    if not isinstance(params, dict):
        raise ConfigError("must be a JSON object of parameter values", field="--params")
    return params


def cmd_enqueue(args: argparse.Namespace) -> int:
    params = parse_params(args.params)
    check_count(args.from_trial, "--from-trial", low=0, none_ok=True)
    cfg = _config(args)
    study = _study(cfg)
    if cfg.command is not None:  # a command suggests nothing: only declared names
        refuse_unknown(study.space.split_enqueued(params)[1])
    number = study.enqueue(params, from_trial=args.from_trial)
    start = f", starting from trial {args.from_trial}" if args.from_trial is not None else ""
    c = study.counts()
    target = run_target(study.system_attrs, cfg.n_trials)
    if target is not None and c.done >= target:
        where = args.config or f"--storage {args.storage} --study {args.study}"
        command = "run" if args.config else "worker"
        print(
            f"enqueued trial {number}{start}; the study already has {c.done} finished trials "
            f"(n_trials: {target}), so run it with `tansaku {command} {where} "
            f"--n-trials {c.done + c.waiting}`"
        )
    else:
        print(f"enqueued trial {number}{start}; `tansaku run` (or a worker) will run it next")
    return 0


def run_target(system_attrs: Any, configured: int | None) -> int | None:
    """The n_trials the study's last ``tansaku run`` / worker aimed at (``--n-trials`` included),
    else ``configured``."""
    recorded = system_attrs.get(RUN_TARGET_ATTR) if isinstance(system_attrs, Mapping) else None
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        return recorded
    return configured


def _best_by_mean(
    storage: BaseStorage, info: StudyInfo, min_evaluations: int | None
) -> dict[str, Any] | None:
    from tansaku.study._reevaluate import rank_by_mean
    from tansaku.study._study import load_study

    study = load_study(info.name, storage=storage, sampler="random")
    ranked = rank_by_mean(study, min_evaluations=min_evaluations)
    if not ranked:
        return None
    best = ranked[0]
    return {
        "study": info.name,
        "direction": info.direction,
        "by": "mean",
        "number": best.trial,
        "mean": best.mean,
        "std_err": best.sem,
        "n": best.n,
        "params": dict(best.params),
        "points_ranked": len(ranked),
    }


def print_best_by_mean(storage: BaseStorage, info: StudyInfo, args: argparse.Namespace) -> int:
    min_n = check_count(getattr(args, "min_evaluations", None), "--min-evaluations", none_ok=True)
    best = _best_by_mean(storage, info, min_n)
    if args.json:
        print(json.dumps(best))
        return 0
    if best is None:
        print(f"study {info.name!r}: no complete point with enough evaluations yet")
        return 0
    err = "" if best["std_err"] is None else f" ± {best['std_err']:.4g} (std err)"
    print(
        f"best mean: {best['mean']:.10g}{err} over {best['n']} evaluations "
        f"(trial {best['number']}, {info.direction}; {best['points_ranked']} points ranked)"
    )
    print("best params:")
    for k, v in best["params"].items():
        print(f"  {k}: {v}")
    return 0


def add_commands(sub: Any, add_target: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "reevaluate",
        help="re-run the best points with new seeds and rank them by mean",
        description="Evaluate the K best points R more times each (new seeds) and rank them by "
        "the mean of all their evaluations, with a standard error. Evaluations are stored with "
        "the trials; each call adds R more.",
    )
    add_target(p)
    p.add_argument("--top", type=int, default=5, help="how many of the best points (default 5)")
    p.add_argument("--repeats", type=int, default=5, help="new evaluations per point (default 5)")
    p.add_argument("--n-workers", type=int, help="evaluations run at once (default: n_workers)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_reevaluate)

    p = sub.add_parser(
        "enqueue",
        help="queue a parameter set, optionally starting from another trial's directory",
        description="Queue fixed parameters to run before the sampler's proposals. With "
        "--from-trial N the trial gets trial N's directory as {parent_dir} / TANSAKU_PARENT_DIR "
        "(e.g. to fine-tune from its checkpoint).",
    )
    add_target(p)
    p.add_argument("--params", required=True, help="JSON object, e.g. '{\"lr\": 0.01}'")
    p.add_argument("--from-trial", type=int, help="start from this finished trial's directory")
    p.set_defaults(func=cmd_enqueue)
