from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tansaku as tk
from tansaku.cli._config import parse_config
from tansaku.cli._main import main

BASE: dict[str, Any] = {
    "name": "n",
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "command": ["python3", "train.py", "{x}", "{seed}", "{setup_dir}", "{parent_dir}"],
    "n_trials": 3,
}


def parse(tmp_path: Path, **extra: Any) -> Any:
    return parse_config({**BASE, **extra}, base_dir=tmp_path)


def test_new_keys_are_parsed(tmp_path: Path) -> None:
    cfg = parse(
        tmp_path,
        setup={"command": ["python3", "pre.py", "{setup_dir}"], "timeout": 60, "dir": "pre"},
        repeats=3,
        max_trial_hours=1.5,
        patience=10,
        pruner={"name": "asha", "min_resource": 2},
    )
    assert cfg.repeats == 3 and cfg.max_trial_hours == 1.5 and cfg.patience == 10
    assert cfg.setup.timeout == 60 and cfg.setup.dir == tmp_path / "pre"
    assert list(cfg.setup.run.argv) == ["python3", "pre.py", "{setup_dir}"]
    short = parse(tmp_path, setup=["python3", "pre.py"])
    assert short.setup.dir is None and short.setup.timeout is None
    defaults = parse(tmp_path)
    assert (defaults.repeats, defaults.setup, defaults.patience) == (1, None, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"repeats": 0}, r"^repeats: must be an integer > 0 and <= 2147483647, got 0"),
        ({"repeats": 1.5}, r"^repeats: must be an integer"),
        ({"patience": 0}, r"^patience: must be an integer >= 1"),
        ({"max_trial_hours": "2h"}, r"^max_trial_hours: must be a number > 0"),
        ({"setup": "pretrain.sh"}, r"^setup: must be an argv list"),
        ({"setup": {"timeout": 3}}, r"^setup\.command: is required"),
        ({"setup": {"command": ["a"], "every": 1}}, r"^setup\.every: unknown key"),
        ({"setup": {"command": ["a"], "timeout": -1}}, r"^setup\.timeout: must be a number > 0"),
        ({"setup": {"command": ["a", "{x}"]}}, r"^setup\.command: unknown field \{x\}"),
        ({"setup": {"command": []}}, r"^setup\.command: must be a non-empty list"),
        ({"setup": {"command": ["a"], "dir": 3}}, r"^setup\.dir: must be a path"),
        ({"pruner": {"name": "asha", "reduction_factor": 1}}, r"^pruner\.reduction_factor"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(tk.ConfigError, match=message):
        parse(tmp_path, **extra)


def test_run_help_lists_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for key in ("setup", "repeats", "max_trial_hours", "patience"):
        assert f"  {key} " in out
