"""A failed command says why (its last stderr line) wherever its trial is shown, and a program that
cannot start stops the run after its first failure instead of burning ``max_failures`` trials."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import tansaku as tk
from tansaku.dashboard._payload import StudyCache
from tests.cli.test_cli import export_json, tansaku

FLAKY = """
import sys
x = float(sys.argv[1])
if x > 0.5:
    print("loading data ...", file=sys.stderr)
    print(f"OSError: shard {x:.3f} is corrupt", file=sys.stderr)
    print("", file=sys.stderr)
    sys.exit(2)
print("loss:", (x - 0.3) ** 2)
"""


def _config(tmp: Path, command: str, *, n_trials: int = 12, n_workers: int = 1,
            extra: str = "") -> None:
    (tmp / "study.yaml").write_text(textwrap.dedent(f"""
        name: demo
        n_trials: {n_trials}
        n_workers: {n_workers}
        sampler: {{name: random, seed: 3}}
        space:
          x: {{type: float, low: 0, high: 1}}
    """) + extra + f"command: {command}\n")


def _failed(trials: list[dict]) -> list[dict]:
    return [t for t in trials if t["state"] == "failed"]


def test_a_failed_command_says_why_in_run_status_export_report_and_dashboard(tmp_path: Path) -> None:
    (tmp_path / "obj.py").write_text(FLAKY)
    _config(tmp_path, '[python, obj.py, "{x}"]', n_trials=6)
    run = tansaku("run", "study.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    trials = export_json(tmp_path)
    failed = _failed(trials)
    assert failed, "the seed should give some x > 0.5"
    for t in failed:
        line = f"OSError: shard {t['params']['x']:.3f} is corrupt"
        assert t["message"] == f"the command failed: exit code 2: {line}"
        assert t["stderr"].splitlines() == ["loading data ...", line, ""]  # the JSON export's stderr
    assert all(t["stderr"] is None for t in trials if t["state"] == "complete")
    last = failed[-1]["message"]
    assert f"failed {last} |" in run.stderr  # the progress lines of `tansaku run`
    status = tansaku("status", "study.yaml", cwd=tmp_path)
    assert status.returncode == 0 and f"failed: trial {failed[-1]['number']}: {last}" in status.stdout
    report = tansaku("report", "study.yaml", "--out", "rep", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "Latest failures" in html and "OSError: shard" in html
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    failures = StudyCache(study.storage, "demo").payload()["failures"]
    assert [m for _, m in failures] and all("OSError: shard" in m for _, m in failures)


def test_a_missing_script_stops_the_run_after_the_first_trial(tmp_path: Path) -> None:
    # the case: a typo in the script's name; python says so on stderr and exits 2
    _config(tmp_path, '[python, trian_hgb.py, --x, "{x}"]', n_workers=2)
    run = tansaku("run", "study.yaml", "-q", cwd=tmp_path)
    assert run.returncode == 1
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("error: the program cannot start (trial ")
    assert "exit code 2: python: can't open file" in error and "trian_hgb.py" in error
    trials = export_json(tmp_path)
    assert 1 <= len(_failed(trials)) <= 2  # what the two workers had started; not max_failures
    assert all(t["state"] in ("failed", "waiting") for t in trials) and len(trials) <= 2


def test_a_missing_program_stops_the_run(tmp_path: Path) -> None:
    # the config check names a program missing from PATH; the Python API meets it at run time
    study = tk.create_study({"x": tk.Float(0, 1)}, seed=0)
    study.optimize(tk.Command(["no-such-program-tansaku", "{x}"]), n_trials=5,
                   workdir=tmp_path / "runs")
    assert study.run_error == (
        "the program cannot start (trial 0): cannot start the command: "
        "No such file or directory: no-such-program-tansaku"
    )
    assert [t.state for t in study.trials] == [tk.TrialState.FAILED]


def test_command_not_found_in_a_script_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text('exec no-such-trainer-tansaku "$@"\n')
    _config(tmp_path, '[sh, run.sh, "{x}"]')
    run = tansaku("run", "study.yaml", "-q", cwd=tmp_path)
    assert run.returncode == 1
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("error: the program cannot start (trial 0): the command failed: exit code 127: ")
    assert "no-such-trainer-tansaku" in error
    assert len(export_json(tmp_path)) == 1


def test_the_same_failure_on_the_first_three_trials_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "obj.py").write_text(
        "import sys\nprint(\"ModuleNotFoundError: No module named 'torch'\", file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    _config(tmp_path, '[python, obj.py, "{x}"]')
    run = tansaku("run", "study.yaml", "-q", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "error: the first 3 trials failed the same way: the command failed: exit code 1: "
        "ModuleNotFoundError: No module named 'torch'"
    )
    assert [t["state"] for t in export_json(tmp_path)] == ["failed"] * 3


def test_a_startup_failure_after_a_success_does_not_stop_the_run(tmp_path: Path) -> None:
    # a parameter naming a missing file fails its trials, but once a trial has worked the
    # program evidently can start: those are ordinary failures
    (tmp_path / "ok.py").write_text("print('loss:', 1.0)\n")
    _config(
        tmp_path,
        '[python, "{script}"]',
        n_trials=4,
        extra="  script: {type: categorical, choices: [ok.py, gone.py]}\n"
        "enqueue:\n  - {x: 0.5, script: ok.py}\ncwd: config\n",  # {script} is relative to it
    )
    run = tansaku("run", "study.yaml", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    trials = export_json(tmp_path)
    assert sum(t["state"] == "complete" for t in trials) == 4
    gone = _failed(trials)
    assert gone and all("can't open file" in t["message"] for t in gone)


def test_status_reads_old_studies_without_stderr(tmp_path: Path) -> None:
    # export keeps working (stderr null) for trials that never had any
    (tmp_path / "ok.py").write_text("print('loss:', 1.0)\n")
    _config(tmp_path, '[python, ok.py, "{x}"]', n_trials=2)
    assert tansaku("run", "study.yaml", "-q", cwd=tmp_path).returncode == 0
    out = tansaku("export", "study.yaml", "--format", "json", cwd=tmp_path)
    assert [t["stderr"] for t in json.loads(out.stdout)] == [None, None]
