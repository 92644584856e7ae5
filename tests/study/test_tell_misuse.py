"""``tell`` misuse raises ConfigError and touches nothing (issue 20.17); ``export --format json``
is strict JSON even with NaN attributes (issue 20.16)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState


def _two(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    a = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="a")
    b = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="b")
    return a, b


def test_tell_of_another_studys_trial_is_refused_and_leaves_it_running(tmp_path):
    a, b = _two(tmp_path)
    b.ask()  # b has a trial 0 too, with another id
    t = a.ask()
    with pytest.raises(ConfigError, match="does not belong to study 'b'"):
        b.tell(t, 0.5)
    assert a.storage.get_trial(t.trial_id).state is TrialState.RUNNING
    assert a.tell(t, 0.5).state is TrialState.COMPLETE


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"state": "bogus"}, "state: must be complete, pruned or failed"),
        ({"value": 10**400}, "value: value is an integer too large"),
        ({"value": "abc"}, "value: value is str, not a number"),
    ],
    ids=["state", "huge", "str"],
)
def test_tell_misuse_is_a_config_error(tmp_path, kw, match):
    a, _ = _two(tmp_path)
    t = a.ask()
    with pytest.raises(ConfigError, match=match):
        a.tell(t, **kw)
    assert a.storage.get_trial(t.trial_id).state is TrialState.RUNNING


def test_tell_nan_still_records_a_failed_trial(tmp_path):
    a, _ = _two(tmp_path)
    t = a.ask()
    assert a.tell(t, float("nan")).state is TrialState.FAILED


def test_export_json_is_strict_with_nan_attributes(tmp_path):
    a, _ = _two(tmp_path)
    t = a.ask()
    a.storage.set_trial_user_attrs(t.trial_id, {"nan": float("nan"), "l": [float("inf"), 1]})
    a.tell(t, 0.5)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tansaku",
            "export",
            "--storage",
            f"sqlite:///{tmp_path}/s.db",
            "--study",
            "a",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def refuse(word):
        raise ValueError(word)

    rows = json.loads(out, parse_constant=refuse)
    assert rows[0]["user_attrs"] == {"nan": None, "l": [None, 1]}
