"""Nobody let in: parameter values stay data, directories stay inside the study's, passwords stay
out of every output, message and file tansaku writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import TrialState

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "TANSAKU_RETRY_TIMEOUT": "2"}

SHOW = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(),
                      "workdir": os.environ["TANSAKU_WORKDIR"]}))
    print(1.0)
""")


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "tansaku", *args], env=ENV, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../escape", "..", "/tmp/abs-escape", "a/../../b", ". ."])
def test_study_name_cannot_put_files_outside_the_config_directory(tmp_path, name):
    cfgdir = tmp_path / "a" / "b"
    cfgdir.mkdir(parents=True)
    (cfgdir / "show.py").write_text(SHOW)
    (cfgdir / "study.yaml").write_text(
        textwrap.dedent(f"""
        name: {json.dumps(name)}
        n_trials: 2
        space: {{x: {{type: float, low: 0, high: 1}}}}
        command: [{PY}, show.py, "{{x}}"]
        """)
    )
    outside_before = _files(tmp_path) - _files(cfgdir)
    out = _cli("run", "-q", str(cfgdir / "study.yaml"))
    assert out.returncode == 0, out.stderr
    assert _files(tmp_path) - _files(cfgdir) == outside_before, "files created outside"
    assert not Path("/tmp/abs-escape").exists()
    dirs = [p for p in (cfgdir / "runs").iterdir()]
    assert len(dirs) == 1 and dirs[0].name not in (".", "..")
    for line in (dirs[0] / "trial-000000" / "stdout.txt").read_text().splitlines()[:1]:
        where = json.loads(line)
        assert Path(where["cwd"]).resolve().is_relative_to(dirs[0].resolve())
    best = _cli("best", "--json", str(cfgdir / "study.yaml"))
    assert json.loads(best.stdout)["study"] == name  # the name itself is kept as given


def test_parameter_values_are_argv_data_and_never_move_the_trial_directory(tmp_path):
    values = [
        "../../escape",
        "/etc/passwd",
        "a/../../b",
        "$(touch pwned)",
        "; rm -rf .",
        "{x}",
        "line\nbreak",
        "-rf",
        "'\"`|&><*?~",
        "ünï©ødé",
    ]
    (tmp_path / "show.py").write_text(SHOW)
    cmd = tk.Command([PY, "show.py", "{v}", "--opt={v}", "{{v}}"], base_dir=tmp_path)
    study = tk.create_study({"v": tk.Categorical(values)}, seed=0)
    for v in values:
        study.enqueue({"v": v})
    runs = tmp_path / "runs"
    study.optimize(cmd, n_trials=len(values), workdir=runs)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * len(values)
    for t in trials:
        wd = runs / f"trial-{t.number:06d}"
        seen = json.loads((wd / "stdout.txt").read_text().splitlines()[0])
        assert seen["argv"] == [t.params["v"], f"--opt={t.params['v']}", "{v}"]
        assert seen["cwd"] == seen["workdir"] == str(wd)
    assert sorted(p.name for p in runs.iterdir()) == [f"trial-{i:06d}" for i in range(len(values))]
    assert not list(tmp_path.rglob("pwned")) and not (tmp_path.parent / "escape").exists()


def test_values_that_cannot_be_argv_fail_the_trial_not_the_run(tmp_path):
    huge = "x" * 300_000  # beyond Linux's 128 KiB limit for one argv item
    study = tk.create_study({"v": tk.Categorical(["ok", "nul\x00byte", huge])}, seed=0)
    for v in ("nul\x00byte", huge, "ok"):
        study.enqueue({"v": v})
    study.optimize(tk.Command([PY, "-c", "print(1)", "{v}"]), n_trials=1, workdir=tmp_path / "runs")
    t = study.trials
    assert [x.state for x in t] == [TrialState.FAILED, TrialState.FAILED, TrialState.COMPLETE]
    assert "cannot start the command" in t[0].message and "null" in t[0].message
    assert "cannot start the command" in t[1].message


# ------------------------------------------------------------------------------- passwords
def _all_text(db_url: str) -> str:
    """Every table of the database as text (what the storage keeps)."""
    import sqlalchemy as sa

    eng = sa.create_engine(db_url)
    try:
        with eng.connect() as c:
            tables = sa.inspect(c).get_table_names()
            return "\n".join(
                repr(row) for t in tables for row in c.execute(sa.text(f"SELECT * FROM {t}"))
            )
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_password_never_appears_anywhere(tmp_path, postgres_url):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    password = url.password
    assert password and len(password) >= 8
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    (tmp_path / "show.py").write_text(SHOW)
    (tmp_path / "study.yaml").write_text(
        textwrap.dedent(f"""
        name: pw
        storage: {plain}
        n_trials: 3
        n_workers: 2
        space: {{x: {{type: float, low: 0, high: 1}}}}
        command: [{PY}, show.py, "{{x}}"]
        """)
    )
    cfg = str(tmp_path / "study.yaml")
    target = ["--storage", plain, "--study", "pw"]
    outputs = [
        _cli("run", cfg),  # progress lines (not a terminal) and the final summary
        _cli("status", cfg),
        _cli("status", *target),
        _cli("status", "--storage", plain),
        _cli("best", cfg),
        _cli("best", "--json", *target),
        _cli("export", *target, "--format", "csv"),
        _cli("export", *target, "--format", "json"),
        _cli("worker", *target, "-q"),
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert "storage postgresql" in outputs[1].stdout  # the URL is shown, redacted
    # failures: a closed port, a wrong password, a server that does not know the database
    bad = [
        plain.replace(f":{url.port}/", ":1/"),
        plain.replace(password, "wrong-" + password[::-1]),
        plain.rsplit("/", 1)[0] + "/no_such_db",
    ]
    for b in bad:
        outputs += [
            _cli("status", "--storage", b, "--study", "pw"),
            _cli("run", "--storage", b, cfg),
        ]
    for o in outputs[-6:]:
        assert o.returncode == 1 and o.stderr.startswith("error: ") and "Traceback" not in o.stderr
    for o in outputs:
        assert password not in o.stdout + o.stderr
        assert password[::-1] not in o.stdout + o.stderr
    assert password not in _all_text(postgres_url)  # stored config, attrs, messages
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.name != "study.yaml":
            assert password not in f.read_text(errors="replace"), f
    # the Python API: repr, URL and error messages
    study = tk.load_study("pw", storage=postgres_url)
    assert password not in repr(study) + study.storage.url
    from tansaku.storage import SQLStorage

    with pytest.raises(tk.StorageError) as err:
        SQLStorage(plain.replace(f":{url.port}/", ":1/"), retry_timeout=1)
    assert password not in str(err.value) and "***" in str(err.value)
