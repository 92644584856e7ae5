"""Helpers shared by the command-line modules (``_main``, ``_noise``, ``_report``): which study a
command means (a config file or ``--storage``/``--study``), rebuilding a stored config, and short
echoes of long values."""

from __future__ import annotations

import argparse
from pathlib import Path

from tansaku._errors import ConfigError, StudyNotFoundError
from tansaku.cli._config import StudyConfig, locate, parse_config
from tansaku.storage._base import BaseStorage, StudyInfo
from tansaku.storage._url import get_storage

__all__ = ["add_target", "config_from_study", "short", "storage_exists", "target"]


def storage_exists(url: str) -> bool:
    from tansaku.storage._url import storage_file

    path = storage_file(url)
    return path is None or path.exists()


def target(args: argparse.Namespace) -> tuple[BaseStorage, str, int | None]:
    """The storage, study name and n_trials named by CONFIG or by --storage/--study (read-only
    use: only the config's name and storage are read, see ``locate``)."""
    n_trials = None
    if args.config:
        cfg_name, cfg_storage, n_trials = locate(args.config)
        url, name = args.storage or cfg_storage, args.study or cfg_name
    else:
        if not args.storage or not args.study:
            raise ConfigError("give a config file, or both --storage URL and --study NAME")
        url, name = args.storage, args.study
    if not storage_exists(url):
        raise StudyNotFoundError(
            f"no study {name!r}: {url.split(':///', 1)[-1]} does not exist yet"
        )
    return get_storage(url), name, n_trials


def config_from_study(storage: BaseStorage, info: StudyInfo, url: str) -> StudyConfig:
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


def add_target(p: argparse.ArgumentParser, *, config_required: bool = False) -> None:
    if config_required:
        p.add_argument("config", help="the study's YAML config")
    else:
        p.add_argument(
            "config", nargs="?", help="the study's YAML config (or use --storage and --study)"
        )
    p.add_argument("--storage", help="storage URL (overrides the config's)")
    p.add_argument("--study", help="study name (overrides the config's)")


def short(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters (a 5000-digit value is not echoed whole)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
