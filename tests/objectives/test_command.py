from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import Command, ConfigError, TrialState
from tansaku.objectives import OutputParser, ResultSpec, format_value
from tansaku.objectives._base import Job
from tansaku.objectives._command import CommandRun

PY = sys.executable


def script(tmp_path: Path, body: str, name: str = "prog.py") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def job(tmp_path: Path, params: dict, **kw) -> Job:
    return Job(
        trial_id=1, number=7, params=params, study_name="s", workdir=tmp_path / "trial", **kw
    )


def run(cmd: Command, tmp_path: Path, params: dict | None = None, **kw):
    return CommandRun(cmd, job(tmp_path, params or {}, **kw)).run()


# ------------------------------------------------------------------ templates
def test_template_errors_and_fields():
    with pytest.raises(ConfigError, match=r"command\[1\]: unclosed"):
        Command(["echo", "{x"])
    with pytest.raises(ConfigError, match="single '}'"):
        Command(["echo", "x}"])
    with pytest.raises(ConfigError, match="non-empty list"):
        Command("echo hi")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown field {y}"):
        Command(["echo", "{y}"]).check_fields(["x"])
    Command(["echo", "{x}", "{trial_id}", "{{literal}}"]).check_fields(["x"])


def test_format_value():
    assert (
        format_value(1e-5) == "1e-05"
        and format_value(0.001) == "0.001"
        and format_value(3.0) == "3.0"
    )
    assert format_value(True) == "true" and format_value(None) == "null" and format_value(4) == "4"


def test_values_reach_argv_literally(tmp_path):
    """Shell metacharacters, braces, newlines and separators are one literal argv item each."""
    prog = script(
        tmp_path,
        """
        import json, sys
        print(json.dumps(sys.argv[1:]))
        print(1.0)
    """,
    )
    nasty = [
        "a b; rm -rf /",
        "$(touch pwned)",
        "`id`",
        "{x}",
        "x\ny",
        "../../etc/passwd",
        "'\"",
        "| cat",
    ]
    cmd = Command([PY, str(prog), "{c}", "pre-{c}-post", "{{c}}"], base_dir=tmp_path)
    for value in nasty:
        out = run(cmd, tmp_path, {"c": value})
        assert out.state is TrialState.COMPLETE, out.message
        argv = json.loads((tmp_path / "trial" / "stdout.txt").read_text().splitlines()[0])
        assert argv == [value, f"pre-{value}-post", "{c}"]
    assert not (tmp_path / "trial" / "pwned").exists()


def test_environment_and_workdir(tmp_path):
    script(
        tmp_path,
        """
        import os, json
        keys = ["TANSAKU_TRIAL_ID", "TANSAKU_STUDY", "TANSAKU_PARAMS", "TANSAKU_WORKDIR", "EXTRA"]
        print(json.dumps({k: os.environ.get(k) for k in keys} | {"cwd": os.getcwd()}))
        print(0.5)
    """,
    )
    cmd = Command([PY, "prog.py", "--out", "{workdir}"], env={"EXTRA": "1"}, base_dir=tmp_path)
    out = run(cmd, tmp_path, {"lr": 0.01, "act": "relu"})
    assert out.state is TrialState.COMPLETE and out.value == 0.5
    info = json.loads((tmp_path / "trial" / "stdout.txt").read_text().splitlines()[0])
    assert info["TANSAKU_TRIAL_ID"] == "7" and info["TANSAKU_STUDY"] == "s" and info["EXTRA"] == "1"
    assert json.loads(info["TANSAKU_PARAMS"]) == {"lr": 0.01, "act": "relu"}
    assert info["cwd"] == str(tmp_path / "trial") == info["TANSAKU_WORKDIR"]
    assert (
        out.system_attrs["workdir"] == str(tmp_path / "trial")
        and out.system_attrs["returncode"] == 0
    )


# ------------------------------------------------------------------ results
def test_last_number_wins_and_reports_are_not_results(tmp_path):
    prog = script(
        tmp_path,
        """
        print("epoch 1 loss 0.9")
        print("tansaku:report step=1 value=0.9")
        print("final val_loss=0.25 (best)")
        print("tansaku:report step=2 value=0.1")
    """,
    )
    reports = []
    r = CommandRun(
        Command([PY, str(prog)]), job(tmp_path, {}), on_report=lambda s, v: reports.append((s, v))
    )
    out = r.run()
    assert out.state is TrialState.COMPLETE and out.value == 0.25
    assert reports == [(1, 0.9), (2, 0.1)]


def test_regex_and_json_results(tmp_path):
    prog = script(
        tmp_path,
        """
        import json
        print("acc=0.91 loss=0.3")
        print("acc=0.93 loss=0.2")
        json.dump({"metrics": {"loss": 0.125}}, open("result.json", "w"))
    """,
    )
    out = run(Command([PY, str(prog)], result={"regex": r"acc=([0-9.]+)"}), tmp_path)
    assert out.value == 0.93
    out = run(
        Command([PY, str(prog)], result={"json": "result.json", "key": "metrics.loss"}), tmp_path
    )
    assert out.value == 0.125
    out = run(
        Command([PY, str(prog)], result={"json": "result.json", "key": "metrics.acc"}), tmp_path
    )
    assert out.state is TrialState.FAILED and "no key" in out.message
    with pytest.raises(ConfigError, match="result.regex"):
        Command(["x"], result={"regex": "("})
    with pytest.raises(ConfigError, match="result.nope"):
        Command(["x"], result={"nope": 1})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("import sys; print(1.0); sys.stderr.write('bad things\\n'); sys.exit(3)", "exit code 3"),
        ("print('no numbers here')", "no number"),
        ("print('loss', float('nan'))", "nan"),
        ("print('loss inf')", "inf"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ],
)
def test_failures_keep_reason_and_stderr(tmp_path, body, reason):
    prog = script(tmp_path, body + "\n")
    out = run(Command([PY, str(prog)]), tmp_path)
    assert out.state is TrialState.FAILED and reason in out.message
    if "bad things" in body:
        assert "bad things" in out.stderr


def test_missing_program(tmp_path):
    out = run(Command(["/nonexistent/program", "x"]), tmp_path)
    assert out.state is TrialState.FAILED and "cannot start" in out.message


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_timeout_kills_the_whole_process_group(tmp_path):
    prog = script(
        tmp_path,
        """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open("child.pid", "w").write(str(child.pid))
        time.sleep(120)
    """,
    )
    t0 = time.monotonic()
    out = run(Command([PY, str(prog)], kill_grace=0.5), tmp_path, timeout=1.5)
    assert time.monotonic() - t0 < 10
    assert out.state is TrialState.FAILED and out.message.startswith("timeout")
    child = int((tmp_path / "trial" / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_sigterm_ignoring_command_is_killed_hard(tmp_path):
    prog = script(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(120)
    """,
    )
    t0 = time.monotonic()
    out = run(Command([PY, str(prog)], kill_grace=0.5), tmp_path, timeout=1.0)
    assert out.state is TrialState.FAILED and time.monotonic() - t0 < 10


def test_huge_binary_output_is_bounded(tmp_path):
    prog = script(
        tmp_path,
        """
        import os, sys
        junk = os.urandom(1 << 20)
        for _ in range(40):
            sys.stdout.buffer.write(junk)
        sys.stdout.buffer.write(b"\\nresult 4.5\\n")
    """,
    )
    cmd = Command([PY, str(prog)], max_log_bytes=1 << 20)
    out = run(cmd, tmp_path)
    assert out.state is TrialState.COMPLETE and out.value == 4.5
    assert (tmp_path / "trial" / "stdout.txt").stat().st_size == 1 << 20


def test_output_parser_bounds_endless_lines():
    p = OutputParser(ResultSpec(), max_line=1000, tail_bytes=100)
    for _ in range(1000):
        p.feed(b"x" * 10_000)  # 10 MB, no newline
    p.feed(b" 3.25\n")
    assert len(p._partial) == 0 and p.value() == (3.25, None)
    assert len(p.tail()) <= 100


def test_non_utf8_output(tmp_path):
    prog = script(
        tmp_path, "import sys; sys.stdout.buffer.write(b'\\xff\\xfe loss \\x80 0.75\\n')\n"
    )
    assert run(Command([PY, str(prog)]), tmp_path).value == 0.75


def test_relative_script_path_resolved_from_base_dir(tmp_path):
    script(tmp_path, "print(2.5)\n", name="train.py")
    cmd = Command([PY, "train.py"], base_dir=tmp_path)
    assert run(cmd, tmp_path).value == 2.5


def test_command_as_study_objective_inline_and_local(tmp_path):
    prog = script(
        tmp_path,
        """
        import sys
        x = float(sys.argv[1])
        print(f"tansaku:report step=1 value={x}")
        print((x - 0.25) ** 2)
    """,
    )
    cmd = Command([PY, str(prog), "{x}"])
    for workers in (1, 3):
        study = tk.create_study({"x": tk.Float(0, 1)}, seed=1)
        study.optimize(cmd, n_trials=6, n_workers=workers, workdir=tmp_path / f"runs{workers}")
        assert study.counts().complete == 6
        assert sorted(p.name for p in (tmp_path / f"runs{workers}").iterdir()) == [
            f"trial-{i:06d}" for i in range(6)
        ]


def test_command_called_directly_as_python_callable(tmp_path):
    prog = script(tmp_path, "import sys; print(float(sys.argv[1]) * 2)\n")
    cmd = Command([PY, str(prog), "{x}"])
    trial = tk.Trial(number=0, params={"x": 1.5}, workdir=tmp_path / "t0")
    assert cmd(trial) == 3.0
    bad = Command([PY, "-c", "import sys; sys.exit(2)"])
    with pytest.raises(tk.objectives.CommandFailed):
        bad(tk.Trial(number=1, params={}, workdir=tmp_path / "t1"))


def test_interrupt_signal_name():
    assert signal.Signals(9).name == "SIGKILL"
