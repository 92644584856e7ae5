"""Bad input gets one line and touches nothing (issues 13.5, 20.9, 20.14, 20.15, 20.18).

The YAML loader reads YAML 1.2 numbers and booleans and refuses duplicate keys; hostile values
are one-line ``error: <field>: ...`` with exit 2; and a rejected config never creates or
changes a database.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tansaku import ConfigError
from tansaku.cli import load_config
from tansaku.cli._main import main

PY = sys.executable

BASE = f"""\
name: v
n_trials: 2
space:
  x: {{type: float, low: 0, high: 1}}
command: [{PY}, -c, "print({{x}})"]
"""


def _write(tmp_path: Path, text: str, name: str = "v.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------- YAML 1.2 scalars (13.5)
def test_yaml_12_floats_and_strings_that_look_boolean(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        """\
        name: y
        n_trials: 1
        space:
          lr: {type: float, low: 1e-4, high: 1E5, log: true}
          d: {type: float, low: .5, high: 2.5e+1}
          flag: {type: categorical, choices: [yes, no, on, off, y, n, true, false]}
        command: [echo, "{lr}", "{d}", "{flag}"]
        """,
    )
    cfg = load_config(p)
    assert (cfg.space["lr"].low, cfg.space["lr"].high) == (1e-4, 1e5)
    assert (cfg.space["d"].low, cfg.space["d"].high) == (0.5, 25.0)
    assert cfg.space["flag"].choices == ("yes", "no", "on", "off", "y", "n", True, False)


def test_yaml_scalars_resolve_as_yaml_12() -> None:
    from tansaku.cli._yaml import load_yaml

    got = load_yaml("[1e-4, -2E3, 1.5, .5, 1., .inf, -.inf, 1_000, 10, 0x1f, yes, No, ON, True]")
    assert got[:6] == [1e-4, -2000.0, 1.5, 0.5, 1.0, float("inf")]
    assert got[6:10] == [float("-inf"), 1000, 10, 31]
    assert got[10:] == ["yes", "No", "ON", True]
    assert all(type(v) is float for v in got[:7])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "v.yaml: duplicate key 'a' (line 3)"),
        (
            "space:\n  lr: {type: float, low: 0.1, low: 0.2, high: 1}\n",
            "space.lr: duplicate key 'low' (line 2)",
        ),
        ("space:\n  lr: {type: int}\n  lr: {type: int}\n", "space: duplicate key 'lr' (line 3)"),
        ("enqueue:\n  - {x: 1, x: 2}\n", "enqueue[0]: duplicate key 'x' (line 2)"),
    ],
)
def test_duplicate_keys_are_an_error_naming_key_and_path(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert str(err.value) == message


def test_merge_keys_may_override(tmp_path: Path) -> None:
    from tansaku.cli._yaml import load_yaml

    text = "base: &b {type: float, low: 0, high: 1}\n"
    assert load_yaml(text + "x:\n  <<: *b\n  high: 2\n")["x"] == {
        "type": "float",
        "low": 0,
        "high": 2,
    }


def test_integer_beyond_the_int_str_limit_is_invalid_yaml(tmp_path: Path, capsys) -> None:
    p = _write(tmp_path, BASE.replace("n_trials: 2", "n_trials: " + "9" * 5000))
    line = _one_line_error(capsys, ["run", str(p)])
    assert "line 2: invalid YAML: integer too long" in line
    assert not (tmp_path / "v.db").exists()


# ------------------------------------------------------------------ accepted silently (20.15)
def test_set_choices_are_refused(tmp_path: Path, capsys) -> None:
    p = _write(
        tmp_path,
        BASE.replace(
            "  x: {type: float, low: 0, high: 1}",
            "  x: {type: float, low: 0, high: 1}\n  c: {type: categorical, choices: !!set {a, b, c}}",
        ),
    )
    line = _one_line_error(capsys, ["run", str(p)])
    assert line.startswith("error: space.c.choices: choices must be a list, not a set")
    assert not (tmp_path / "v.db").exists()


@pytest.mark.parametrize("name", ["x\n", "x\r", "x\t", "x\x00", "x\x1b[31m"])
def test_parameter_names_with_control_characters_are_refused(name: str) -> None:
    import tansaku as tk

    with pytest.raises(ConfigError) as err:
        tk.Space.from_dict({name: {"type": "float", "low": 0, "high": 1}})
    assert "parameter names" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError):
        tk.Space({name: tk.Float(0, 1)})


def test_parameter_name_with_trailing_newline_in_yaml(tmp_path: Path, capsys) -> None:
    p = _write(tmp_path, BASE.replace("  x: {type", '  "x\\n": {type').replace("{x}", "1"))
    line = _one_line_error(capsys, ["run", str(p)])
    assert "parameter names" in line and "'x\\n'" in line


# ------------------------------------------------------------ a traceback no more (20.14)
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("executor: {name: local, start_method: nope}", "executor.start_method"),
        ("executor: {name: local, start_method: [fork]}", "executor.start_method"),
        ("timeout: " + "1" + "0" * 400, "timeout"),
        ("stale_after: " + "1" + "0" * 400, "stale_after"),
        ("heartbeat_interval: 1e400", "heartbeat_interval"),
        ("trial_timeout: 1e10", "trial_timeout"),
        ("max_trial_hours: " + "1" + "0" * 400, "max_trial_hours"),
        ("patience: " + "1" + "0" * 400, "patience"),
        ("kill_grace: " + "1" + "0" * 400, "kill_grace"),
        ("max_failures: 3000000000", "max_failures"),
        ("seed: -1", "seed"),
        ('workdir: "a\\0b"', "workdir"),
        ('setup: {command: [echo], dir: "a\\0b"}', "setup.dir"),
        ('storage: "sqlite:///a\\0b.db"', "storage"),
        ("setup: {command: [echo], timeout: " + "1" + "0" * 400 + "}", "setup.timeout"),
    ],
)
def test_hostile_values_are_one_line_errors(tmp_path: Path, capsys, extra: str, field: str) -> None:
    p = _write(tmp_path, BASE + extra + "\n")
    line = _one_line_error(capsys, ["run", "-q", str(p)])
    assert line.startswith(f"error: {field}: "), line
    assert list(tmp_path.iterdir()) == [p]  # no database, no runs/


def test_huge_n_trials_is_a_config_error(tmp_path: Path, capsys) -> None:
    p = _write(tmp_path, BASE.replace("n_trials: 2", f"n_trials: {10**30}"))
    line = _one_line_error(capsys, ["run", "-q", str(p)])
    assert line.startswith("error: n_trials: must be an integer > 0 and <= 2147483647")


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["run", "-q", "{cfg}", "--n-trials", "-1"], "--n-trials"),
        (["run", "-q", "{cfg}", "--n-workers", "0"], "--n-workers"),
        (["run", "-q", "{cfg}", "--n-trials", str(10**30)], "--n-trials"),
        (["report", "{cfg}", "--dpi", "0"], "--dpi"),
        (["dashboard", "{cfg}", "--interval", "inf"], "--interval"),
        (["dashboard", "{cfg}", "--interval", "nan"], "--interval"),
        (["dashboard", "{cfg}", "--port", "99999"], "--port"),
        (["enqueue", "{cfg}", "--params", '{"x": ' + "9" * 5000 + "}"], "--params"),
        (["enqueue", "{cfg}", "--params", "[" * 100_000], "--params"),
        (["enqueue", "{cfg}", "--params", '{"x": 0.1, "x": 0.2}'], "--params"),
        (["enqueue", "{cfg}", "--params", "1e999"], "--params"),
        (["enqueue", "{cfg}", "--params", '{"x": 0.5}', "--from-trial", "-1"], "--from-trial"),
        (["reevaluate", "{cfg}", "--top", "0"], "--top"),
        (["best", "{cfg}", "--by", "mean", "--min-evaluations", "0"], "--min-evaluations"),
    ],
)
def test_hostile_options_are_one_line_errors(tmp_path: Path, capsys, argv, field) -> None:
    p = _write(tmp_path, BASE)
    assert main(["run", "-q", str(p)]) == 0
    capsys.readouterr()
    before = _dump(tmp_path / "v.db")
    line = _one_line_error(capsys, [str(p) if a == "{cfg}" else a for a in argv])
    assert line.startswith(f"error: {field}: "), line
    assert _dump(tmp_path / "v.db") == before


def _dump(db: Path) -> str:
    """The database's content as SQL text (the file's header bytes change on a checkpoint)."""
    con = sqlite3.connect(db)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


# ------------------------------------------------------- validated before storage (20.9)
def _stored_config(db: Path) -> bytes:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT name, sampler, system_attrs FROM tansaku_studies ORDER BY 1")
        return repr(rows.fetchall()).encode()
    finally:
        con.close()


@pytest.mark.parametrize(
    "change",
    [
        ("command: [", "objective: nosuch_module_xyz:f\n#"),  # typo in objective: module
        ("command: [", "objective: obj.py:trian\n#"),  # typo in objective: function
        ("command: [", "objective: missing.py:f\n#"),  # no such file
        (f"command: [{PY}", "command: [no-such-program-xyz"),  # a program not on PATH
        ("n_trials: 2", "n_trials: 2\nexecutor: {name: local, start_method: nope}"),
        ("n_trials: 2", "n_trials: 2\nsampler: {name: tpe, bogus_option: 1}"),
        ("n_trials: 2", "n_trials: 2\npruner: {name: median, bogus_option: 1}"),
    ],
)
def test_rejected_config_touches_no_storage(tmp_path: Path, capsys, change) -> None:
    (tmp_path / "obj.py").write_text("def train(trial):\n    return trial.params['x']\n")
    good = _write(tmp_path, BASE, "good.yaml")
    bad_text = BASE.replace(*change)
    # a new study: no database file is created
    bad = _write(tmp_path, bad_text.replace("name: v", "name: fresh"), "fresh.yaml")
    _one_line_error(capsys, ["run", "-q", str(bad)])
    assert not (tmp_path / "fresh.db").exists()
    # an existing study: its stored config (what other hosts' workers rebuild from) is unchanged
    assert main(["run", "-q", str(good)]) == 0
    capsys.readouterr()
    before = _stored_config(tmp_path / "v.db")
    bad = _write(tmp_path, bad_text, "bad.yaml")
    _one_line_error(capsys, ["run", "-q", str(bad), "--storage", f"sqlite:///{tmp_path / 'v.db'}"])
    assert _stored_config(tmp_path / "v.db") == before


def test_worker_on_a_missing_database_creates_nothing(tmp_path: Path, capsys) -> None:
    db = tmp_path / "typo.db"
    line = _one_line_error(
        capsys, ["worker", "--storage", f"sqlite:///{db}", "--study", "v"], code=1
    )
    assert "does not exist yet" in line
    assert not db.exists()


# --------------------------------------------------------- unopenable SQLite path (20.18)
@pytest.mark.parametrize("where", ["directory", "sysfs"])
def test_unopenable_sqlite_path_fails_at_once(tmp_path: Path, monkeypatch, capsys, where) -> None:
    if where == "directory":
        target = tmp_path / "dir.db"
        target.mkdir()
    else:
        if not Path("/sys/kernel").is_dir():
            pytest.skip("no /sys here")
        target = Path("/sys/tansaku-test.db")
    monkeypatch.setenv("TANSAKU_RETRY_TIMEOUT", "120")
    p = _write(tmp_path, BASE)
    start = time.monotonic()
    assert main(["run", "-q", str(p), "--storage", f"sqlite:///{target}"]) in (1, 2)
    assert time.monotonic() - start < 20  # not the 120 s retry_timeout
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target) in lines[0], err
    assert os.path.isdir(target) if where == "directory" else not target.exists()
