"""The run options are declared once (``tansaku._options``): Study.optimize, the YAML config,
``--help`` and the README table all follow that declaration, and every way in checks by one rule."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import _options
from tansaku.cli._config import KEYS, parse_config
from tansaku.cli._main import build_parser

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {f.name: f for f in dataclasses.fields(_options.RunOptions)}
YAML = [f.name for f in _options.yaml_options()]


def test_optimize_keywords_are_the_declared_options_with_their_defaults() -> None:
    sig = inspect.signature(tk.Study.optimize)
    params = {
        n: p for n, p in sig.parameters.items() if n not in ("self", "objective")
    }
    assert set(params) == set(FIELDS)
    for name, p in params.items():
        assert p.default == FIELDS[name].default, name


def test_a_config_without_run_options_gets_the_declared_defaults(tmp_path: Path) -> None:
    cfg = parse_config(
        {"space": {"x": {"type": "float", "low": 0, "high": 1}}, "objective": "m:f", "timeout": 5},
        base_dir=tmp_path,
    )
    for name in YAML:
        expected = 5 if name == "timeout" else FIELDS[name].default
        assert getattr(cfg, name) == expected, name
        assert getattr(cfg.run, name) == expected, name


def test_null_means_none_only_where_none_means_something(tmp_path: Path) -> None:
    base = {"space": {"x": {"type": "float", "low": 0, "high": 1}}, "objective": "m:f"}
    cfg = parse_config(
        {
            **base,
            "n_trials": 3,
            "max_failures": None,
            "stale_after": None,
            "n_workers": None,
            "heartbeat_interval": None,
            "repeats": None,
        },
        base_dir=tmp_path,
    )
    assert cfg.max_failures is None and cfg.stale_after is None  # never stop / never re-queue
    assert cfg.n_workers is None  # not given: 1, or one per GPU slot with gpus (the Coordinator)
    assert (cfg.heartbeat_interval, cfg.repeats) == (10.0, 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_trials", 0),
        ("n_workers", 2.5),
        ("max_failures", -1),
        ("stale_after", "2m"),
        ("heartbeat_interval", float("nan")),
        ("repeats", True),
        ("patience", 0),
        ("max_trial_hours", -1),
        ("lost_trials", "retry"),
        ("trial_timeout", 10**400),
    ],
)
def test_config_and_api_refuse_a_bad_option_with_the_same_message(
    tmp_path: Path, name: str, value: object
) -> None:
    base = {"space": {"x": {"type": "float", "low": 0, "high": 1}}, "objective": "m:f"}
    with pytest.raises(tk.ConfigError) as from_config:
        parse_config({**base, "n_trials": 3, name: value}, base_dir=tmp_path)
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.ConfigError) as from_api:
        study.optimize(lambda t: 1.0, **{"n_trials": 3, name: value})  # type: ignore[arg-type]
    assert str(from_config.value) == str(from_api.value)
    assert str(from_api.value).startswith(f"{name}: must be ")
    assert "\n" not in str(from_api.value)
    assert not study.trials


def _readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| key | meaning |") :].split("\n\n", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        keys, meaning = line.strip("|").split(" | ", 1)
        for key in re.findall(r"`(\w+)`", keys):
            rows[key] = meaning
    return rows


def test_readme_config_table_names_every_key_and_states_each_default() -> None:
    rows = _readme_rows()
    assert set(rows) == set(KEYS)
    for name in YAML:
        default = _options.default_text(name)
        if default is not None:
            assert re.search(
                rf"default `?{re.escape(default)}`?\b|`{re.escape(default)}` \(default\)",
                rows[name],
            ), (name, rows[name])


@pytest.mark.parametrize("command", ["run", "worker"])
def test_help_lists_every_yaml_option_with_its_default(command: str) -> None:
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    epilog = sub.epilog or ""
    for f in _options.yaml_options():
        assert re.search(rf"^  {f.name} +{re.escape(_options.describe(f))}$", epilog, re.M), f.name


def test_no_run_option_default_is_written_twice() -> None:
    # the defaults live in tansaku/_options.py only; elsewhere they are DEFAULTS.<name>
    written = re.compile(
        r"\b(max_failures(: [^=\n]+)? ?= ?10|heartbeat_interval(: [^=\n]+)? ?= ?10(\.0)?"
        r"|stale_after(: [^=\n]+)? ?= ?120(\.0)?)\b(?!\.)"
    )
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in (ROOT / "src").rglob("*.py")
        if p.name != "_options.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if written.search(line)
    ]
    assert hits == []
