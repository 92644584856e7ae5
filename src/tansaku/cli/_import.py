"""``tansaku import CONFIG --from-study NAME | --from-csv FILE | --from-optuna URL``: seed the
config's study with trials evaluated elsewhere (``tansaku.study._warm``, ``tansaku.study._import``).

The study is created from the config when it does not exist yet.  Every record is checked before
anything is stored; the first bad one is one line naming where it is (row and column of a CSV)
and the study is left as it was (exit 2).  ``--skip-invalid`` imports the others and says how
many were left out.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tansaku._errors import ConfigError
from tansaku.cli._config import load_config, parse_config

__all__ = ["add_commands", "cmd_import", "read_source"]


def read_source(args: argparse.Namespace, cfg: Any, *, skip_invalid: bool) -> Any:
    """The :class:`~tansaku.study._import.Source` named by the import options."""
    from tansaku.storage._url import get_storage
    from tansaku.study import _import

    given = [o for o in ("from_study", "from_csv", "from_optuna") if getattr(args, o, None)]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of --from-study, --from-csv, --from-optuna", field="import"
        )
    if args.from_csv:
        objectives: tuple[str, ...] = ()
        if cfg.directions and len(cfg.directions) > 1:
            objectives = cfg.objective_names or tuple(
                f"value{i}" for i in range(len(cfg.directions))
            )
        return _import.read_csv(
            args.from_csv,
            cfg.space,
            value_column=args.value_column,
            objectives=objectives,
            skip_invalid=skip_invalid,
        )
    if args.from_optuna:
        return _import.read_optuna(
            args.from_optuna,
            args.study,
            cfg.space,
            direction=cfg.direction,
            directions=cfg.directions,
            skip_invalid=skip_invalid,
        )
    source = get_storage(args.storage or cfg.storage)
    if args.from_study == cfg.name and not args.storage:
        raise ConfigError("a study cannot import its own trials", field="--from-study")
    return _import.read_study(
        source,
        args.from_study,
        cfg.space,
        direction=cfg.direction,
        directions=cfg.directions,
        skip_invalid=skip_invalid,
    )


def cmd_import(args: argparse.Namespace) -> int:
    from tansaku.study._import import describe_skips
    from tansaku.study._warm import add_checked

    cfg = load_config(args.config)
    if args.to_storage:
        cfg = parse_config(
            {**cfg.raw, "storage": args.to_storage}, base_dir=cfg.base_dir, default_name=cfg.name
        )
    src = read_source(args, cfg, skip_invalid=args.skip_invalid)  # nothing opened for writing yet
    if not src.records:
        for line in describe_skips(src):
            print(f"note: {line}", file=sys.stderr)
        raise ConfigError(f"{src.label} has no finished trial to import", field="import")
    study = cfg.open_study()
    if study.resume_notice:
        print(study.resume_notice, file=sys.stderr)
    added = add_checked(study, src.records, count=args.count)
    for line in describe_skips(src):
        print(f"note: {line}", file=sys.stderr)
    counted = "counted toward n_trials" if args.count else "counted toward no budget"
    first, last = added[0].number, added[-1].number
    print(
        f"imported {len(added)} trials from {src.label} into study {cfg.name!r} "
        f"(trials {first}-{last}; {counted})"
    )
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="seed the study with trials from another study, a CSV file or an Optuna study",
        description="Add finished trials evaluated elsewhere to the config's study (created if "
        "needed): all or none, each checked against the config's space. Imported trials are "
        "marked (system_attrs.imported), every sampler learns from them, and they count toward "
        "no budget unless --count.",
    )
    p.add_argument("config", help="the study's YAML config")
    p.add_argument("--from-study", metavar="NAME", help="a tansaku study (in --storage)")
    p.add_argument(
        "--storage", help="with --from-study: the storage holding it (default: the config's)"
    )
    p.add_argument(
        "--from-csv",
        metavar="FILE",
        help="a CSV: what `tansaku export` writes, or one column per parameter and a value column",
    )
    p.add_argument(
        "--value-column", default="value", help="with --from-csv: the objective's column (value)"
    )
    p.add_argument(
        "--from-optuna", metavar="URL", help="an Optuna storage, e.g. sqlite:///optuna.db"
    )
    p.add_argument(
        "--study", help="with --from-optuna: the Optuna study's name (if it has several)"
    )
    p.add_argument("--to-storage", help="the target storage (overrides the config's)")
    p.add_argument("--count", action="store_true", help="count the imported trials toward n_trials")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out records that do not fit the space (default: refuse the whole import)",
    )
    p.set_defaults(func=cmd_import)
