"""The ``tansaku`` command line and its YAML config."""

from __future__ import annotations

from tansaku.cli._config import KEYS, StudyConfig, load_config, parse_config
from tansaku.cli._main import build_parser, main

__all__ = ["KEYS", "StudyConfig", "build_parser", "load_config", "main", "parse_config"]
