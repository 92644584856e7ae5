"""The command line starts fast: read-only commands import neither numpy, scipy nor rich, and
export streams rows (same content from every storage)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import tansaku as tk
from tansaku import TrialState
from tansaku.storage import InMemoryStorage, SQLStorage

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")
HEAVY = ("numpy", "scipy", "rich", "yaml", "sqlalchemy", "tansaku.samplers._tpe")

PROBE = """
import sys
from tansaku.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\nLOADED", *[m for m in {heavy!r} if m in sys.modules], file=sys.stderr)
sys.exit(code)
"""


def _loaded(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = subprocess.run(
        [PY, "-c", PROBE.format(heavy=HEAVY), *args],
        env={**os.environ, "PYTHONPATH": SRC},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("LOADED")][-1]
    return out, set(line.split()[1:])


def test_import_tansaku_is_light():
    out = subprocess.run(
        [PY, "-c", f"import sys, tansaku; print([m for m in {HEAVY!r} if m in sys.modules])"],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_read_only_commands_do_not_load_numpy_scipy_or_rich(tmp_path):
    study = tk.create_study(
        {"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path / 'l.db'}", name="l", seed=0
    )
    study.optimize(lambda t: t.params["x"], n_trials=3)
    (tmp_path / "l.yaml").write_text(
        "name: l\nstorage: sqlite:///l.db\nsampler: tpe\nn_trials: 3\n"
        "space: {x: {type: float, low: 0, high: 1}}\ncommand: [echo, '{x}']\n"
    )
    target = ["--storage", f"sqlite:///{tmp_path / 'l.db'}", "--study", "l"]
    for args in (
        ["status", *target],
        ["best", "--json", *target],
        ["export", "--format", "json", *target],
        ["status", "l.yaml"],  # names the TPE sampler: still not imported just to read
    ):
        out, loaded = _loaded(*args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert loaded <= {"sqlalchemy", "yaml"}, (args, loaded)
    assert "3 of 3 done" in _loaded("status", "l.yaml", cwd=tmp_path)[0].stdout


def _fill(storage):
    study = tk.create_study(
        {"x": tk.Float(0, 1), "c": tk.Categorical(["a", "b"])}, storage=storage, name="e", seed=1
    )
    for i in range(11):
        t = study.ask()
        if i % 4 == 3:
            study.tell(t, state="failed", message=f"boom {i}\nline")
        else:
            t.set_user_attr("i", i)
            study.tell(t, t.params["x"])
    study.ask()  # one running
    return study


def test_export_rows_are_the_same_from_every_storage_and_every_page_size(tmp_path):
    mem, sql = _fill(InMemoryStorage()), _fill(SQLStorage(f"sqlite:///{tmp_path / 'e.db'}"))
    for page in (1, 3, 5000):
        a = list(mem.storage.export_rows(mem.study_id, page=page))
        b = list(sql.storage.export_rows(sql.study_id, page=page))
        assert [r.number for r in a] == list(range(12)) == [r.number for r in b]
        for ra, rb in zip(a, b):
            assert (ra.state, ra.value, ra.message, ra.stderr) == (rb.state, rb.value, rb.message, rb.stderr)
            for field in ("params", "user_attrs", "system_attrs"):
                assert json.loads(getattr(ra, field)) == json.loads(getattr(rb, field))


def test_export_json_and_csv_carry_every_trial(tmp_path):
    study = _fill(SQLStorage(f"sqlite:///{tmp_path / 'e.db'}"))
    target = ["--storage", f"sqlite:///{tmp_path / 'e.db'}", "--study", "e"]
    env = {**os.environ, "PYTHONPATH": SRC}
    js = subprocess.run(
        [PY, "-m", "tansaku", "export", "--format", "json", *target],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = json.loads(js.stdout)
    trials = study.trials
    assert [r["number"] for r in rows] == [t.number for t in trials]
    for r, t in zip(rows, trials):
        assert r["state"] == t.state.value and r["value"] == t.value and r["params"] == t.params
        assert r["message"] == t.message and r["user_attrs"] == t.user_attrs
        assert r["stderr"] == t.stderr
        assert r["started_at"] == (t.started_at.isoformat() if t.started_at else None)
        assert r["finished_at"] == (t.finished_at.isoformat() if t.finished_at else None)
        assert (r["duration"] is None) == (t.state is TrialState.RUNNING)
    cs = subprocess.run(
        [PY, "-m", "tansaku", "export", *target],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    table = list(csv.DictReader(io.StringIO(cs.stdout)))
    assert [int(r["number"]) for r in table] == [t.number for t in trials]
    assert [r["params_c"] for r in table] == [t.params["c"] for t in trials]
    assert [r["message"] for r in table] == [t.message or "" for t in trials]


def test_fast_timestamps_equal_isoformat():
    import random
    from datetime import datetime, timezone

    from tansaku.cli._main import _iso

    rng = random.Random(0)
    for i in range(20_000):
        ts = rng.uniform(0, 4e9) if i % 2 else round(rng.uniform(1.7e9, 1.8e9), rng.randint(0, 7))
        assert _iso(ts) == datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(), ts
    assert _iso(None) is None
