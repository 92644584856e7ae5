"""The command line as a user runs it: real subprocesses, a real SQLite file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tansaku._layout import study_dir_name

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "PYTHONUNBUFFERED": "1",
}


def tansaku(*args: str, cwd: Path, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tansaku", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


OBJ = """
import sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x, n = float(args["--x"]), int(args["--n"])
time.sleep(float(args.get("--sleep", "0.05")))
print("tansaku:report step=1 value", (x - 0.3) ** 2 + 1)
print("loss:", (x - 0.3) ** 2 + (n - 3) ** 2 / 10)
"""


def write_study(
    tmp: Path, extra: str = "", n_trials: int = 40, n_workers: int = 4, sleep: float = 0.05
) -> Path:
    (tmp / "obj.py").write_text(OBJ)
    cfg = tmp / "study.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: demo
        n_trials: {n_trials}
        n_workers: {n_workers}
        sampler: {{name: random, seed: 1}}
        space:
          x: {{type: float, low: -1, high: 1}}
          n: {{type: int, low: 0, high: 10}}
        command: [python, obj.py, --x, "{{x}}", --n, "{{n}}", --sleep, "{sleep}"]
    """)
        + extra
    )
    return cfg


def export_json(tmp: Path) -> list[dict]:
    out = tansaku("export", "study.yaml", "--format", "json", cwd=tmp)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_run_then_status_best_export(tmp_path):
    write_study(tmp_path)
    out = tansaku("run", "study.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "best value:" in out.stdout and "best params:" in out.stdout and "  x: " in out.stdout
    assert "[40/40]" in out.stderr or "40/40 done" in out.stderr  # plain progress lines (not a TTY)
    trials = export_json(tmp_path)
    assert len(trials) == 40 and {t["state"] for t in trials} == {"complete"}
    assert sorted(t["number"] for t in trials) == list(range(40))
    assert len({t["worker"] for t in trials}) == 1
    # 4 workers: trials overlapped in time
    assert (tmp_path / "runs" / study_dir_name("demo") / "trial-000039" / "stdout.txt").exists()

    status = tansaku("status", "study.yaml", cwd=tmp_path)
    assert status.returncode == 0 and "40 of 40 done" in status.stdout
    best = tansaku("best", "study.yaml", "--json", cwd=tmp_path)
    b = json.loads(best.stdout)
    assert b["value"] == min(t["value"] for t in trials) and set(b["params"]) == {"x", "n"}
    rows = list(csv.DictReader(io.StringIO(tansaku("export", "study.yaml", cwd=tmp_path).stdout)))
    assert len(rows) == 40 and {"params_x", "params_n", "value", "state"} <= set(rows[0])
    by_storage = tansaku(
        "best", "--storage", f"sqlite:///{tmp_path / 'demo.db'}", "--study", "demo", cwd=ROOT
    )
    assert by_storage.returncode == 0 and f"{b['value']:.10g}" in by_storage.stdout
    listing = tansaku("status", "--storage", f"sqlite:///{tmp_path / 'demo.db'}", cwd=ROOT)
    assert listing.stdout.startswith("demo: 40 done")
    again = tansaku("run", "study.yaml", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to run" in again.stderr


def _counts(db: Path) -> tuple[int, int]:
    """(complete, running) read straight from the database (cheap enough to poll)."""
    import sqlite3

    if not db.exists():
        return 0, 0
    try:
        con = sqlite3.connect(db, timeout=5)
        row = con.execute("SELECT n_complete, n_running FROM tansaku_studies").fetchone()
        con.close()
    except sqlite3.Error:
        return 0, 0
    return (row[0], row[1]) if row else (0, 0)


def _wait_for(db: Path, *, complete: int, running: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c, r = _counts(db)
        if c >= complete and r >= running:
            return
        time.sleep(0.1)
    raise AssertionError(
        f"the run never reached {complete} complete and {running} running: {_counts(db)}"
    )


def test_resume_after_kill_gives_exactly_n(tmp_path):
    write_study(tmp_path, sleep=0.3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tansaku", "run", "study.yaml", "-q"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(tmp_path / "demo.db", complete=4, running=2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {t["number"]: t for t in export_json(tmp_path)}
    finished_before = {n: t["value"] for n, t in before.items() if t["state"] == "complete"}
    assert 0 < len(finished_before) < 40
    assert any(t["state"] == "running" for t in before.values())
    out = tansaku("run", "study.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    after = export_json(tmp_path)
    assert sum(t["state"] == "complete" for t in after) == 40 and len(after) == 40
    for t in after:  # everything finished before the kill is still there, unchanged
        if t["number"] in finished_before:
            assert t["value"] == finished_before[t["number"]]


def test_ctrl_c_requeues_running_trials_and_resume_finishes(tmp_path):
    write_study(tmp_path, n_trials=12, sleep=3.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tansaku", "run", "study.yaml"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(tmp_path / "demo.db", complete=0, running=4)  # 4 trials running (each sleeps 3 s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    trials = export_json(tmp_path)
    assert not any(t["state"] == "running" for t in trials)
    assert sum(t["state"] == "waiting" for t in trials) >= 1
    assert not any(t["state"] == "failed" for t in trials)
    out = tansaku("run", "study.yaml", "-q", cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    trials = export_json(tmp_path)
    assert sum(t["state"] == "complete" for t in trials) == 12 and len(trials) == 12


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (
            lambda s: s.replace("n_trials:", "n_trial:"),
            "n_trial: unknown key (did you mean 'n_trials'?)",
        ),
        (
            lambda s: s.replace("low: -1, high: 1", "low: 2, high: 1"),
            "space.x.low: low must be < high",
        ),
        (lambda s: s.split("command:")[0], "command: give exactly one of command"),
        (
            lambda s: s.replace("name: random", "name: annealing"),
            "sampler: unknown sampler 'annealing'",
        ),
        (lambda s: s.replace("{x}", "{y}"), "command: unknown field {y}"),
        (lambda s: s.replace("n_workers: 1", "n_workers: -2"), "n_workers: must be an integer > 0"),
        (lambda s: s + "\n  bad: [unclosed\n", "invalid YAML"),
        (lambda s: s.replace("type: int", "type: integer"), "space.n.type: type must be one of"),
        (
            lambda s: s.replace("name: random, seed: 1", "name: grid, resolution: 0"),
            "sampler.resolution",
        ),
        (
            lambda s: s + "\nexecutor: {name: local, partition: x}\n",
            "executor.partition: unknown option",
        ),
    ],
)
def test_bad_config_one_line_and_no_data_touched(tmp_path, edit, field):
    cfg = write_study(tmp_path, n_trials=3, n_workers=1)
    assert tansaku("run", "study.yaml", "-q", cwd=tmp_path).returncode == 0
    db = tmp_path / "demo.db"
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    cfg.write_text(edit(cfg.read_text()))
    out = tansaku("run", "study.yaml", cwd=tmp_path)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert field in lines[0]
    assert "Traceback" not in out.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_missing_config_and_unknown_study(tmp_path):
    out = tansaku("run", "nope.yaml", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip() == "error: no such config file: nope.yaml"
    out = tansaku(
        "status", "--storage", f"sqlite:///{tmp_path / 'none.db'}", "--study", "x", cwd=tmp_path
    )
    assert out.returncode == 1 and "does not exist" in out.stderr
    assert not (tmp_path / "none.db").exists()


def test_all_failing_command_stops_with_error(tmp_path):
    write_study(tmp_path, n_trials=30, n_workers=2)
    (tmp_path / "obj.py").write_text(
        # a different reason each time: the same one on the first 3 trials stops the run sooner
        "import sys; sys.stderr.write(f'cannot load shard {sys.argv[2]}\\n'); sys.exit(2)\n"
    )
    out = tansaku("run", "study.yaml", "-q", cwd=tmp_path)
    assert out.returncode == 1
    assert "trials in a row failed" in out.stderr
    assert "exit code 2: cannot load shard " in out.stderr  # the program's own reason
    trials = export_json(tmp_path)
    assert all(t["state"] == "failed" for t in trials) and 10 <= len(trials) <= 12


def test_worker_joins_by_storage_and_study(tmp_path):
    write_study(tmp_path, n_trials=10, n_workers=2)
    out = tansaku("run", "study.yaml", "-q", "--n-trials", "4", cwd=tmp_path)
    assert out.returncode == 0
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    w = tansaku("worker", "--storage", url, "--study", "demo", "-q", cwd=ROOT)
    assert w.returncode == 0, w.stderr
    assert sum(t["state"] == "complete" for t in export_json(tmp_path)) == 10


@pytest.mark.parametrize("cmd", ["run", "worker", "status", "best", "export"])
def test_help(cmd, tmp_path):
    out = tansaku(cmd, "--help", cwd=tmp_path)
    assert out.returncode == 0 and "usage: tansaku" in out.stdout


def test_quickstart_example(tmp_path):
    """The README's first command: the shipped example optimises and prints the best params."""
    import shutil

    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "qs")
    cfg = tmp_path / "qs" / "study.yaml"
    cfg.write_text(cfg.read_text().replace("n_trials: 30", "n_trials: 6"))
    out = tansaku("run", str(cfg), cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "best params:" in out.stdout and "lr:" in out.stdout and "act:" in out.stdout
    assert (tmp_path / "qs" / "quickstart.db").exists()
