"""Poison outputs of a trial program: none may crash or hang the coordinator (issue 20.3/10/12/13).

Each case is a real program run through :class:`CommandRun` (what every executor uses) and must
end as a FAILED trial with a one-line reason, quickly, whatever the program printed or left in its
directory.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import Command, ConfigError, TrialState
from tansaku._trial import MAX_STEP
from tansaku.objectives import OutputParser, ResultSpec, as_value
from tansaku.objectives._base import Job
from tansaku.objectives._command import CommandRun

PY = sys.executable


def run(tmp_path: Path, body: str, *, result=None, params=None, timeout=None, reports=None):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(body))
    job = Job(1, 0, params or {}, study_name="s", workdir=tmp_path / "trial", timeout=timeout)
    on_report = None if reports is None else (lambda s, v: reports.append((s, v)))
    started = time.monotonic()
    out = CommandRun(Command([PY, str(prog)], result=result), job, on_report=on_report).run()
    return out, time.monotonic() - started


# ------------------------------------------------------------------ 20.3 report steps
@pytest.mark.parametrize(
    "step", [str(MAX_STEP + 1), str(2**63), "9" * 5000], ids=["2**31", "2**63", "5000-digits"]
)
def test_out_of_range_report_step_fails_the_trial_with_one_line(tmp_path, step):
    reports: list = []
    out, took = run(
        tmp_path,
        f"""
        import time
        print("tansaku:report step=3 value=0.5", flush=True)
        print("tansaku:report step={step} value=0.5", flush=True)
        time.sleep(30)
        print(1.0)
        """,
        reports=reports,
    )
    assert out.state is TrialState.FAILED
    assert out.message.startswith("bad tansaku:report line: step must be in 0..2147483647")
    assert "\n" not in out.message and len(out.message) < 200
    assert reports == [(3, 0.5)]  # the good line counted, the bad one never reached a storage
    assert took < 10  # stopped at the bad line, not after its 30 s


def test_largest_step_is_accepted():
    seen: list = []
    p = OutputParser(on_report=lambda s, v: seen.append(s))
    p.feed(f"tansaku:report step={MAX_STEP} value=1\n2\n".encode())
    assert seen == [MAX_STEP] and p.value() == (2.0, None)


@pytest.mark.parametrize(
    "step",
    [-1, MAX_STEP + 1, 2**63, 10**5000, 1.0, True, "3"],
    ids=["-1", "2**31", "2**63", "10**5000", "float", "bool", "str"],
)
def test_python_report_rejects_a_bad_step_naming_it(step):
    trial = tk.Trial(number=0, params={})
    with pytest.raises(ConfigError, match=r"report\.step: step must be"):
        trial.report(0.5, step)


def test_python_report_with_a_huge_step_fails_only_that_trial(tmp_path):
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path}/s.db", name="s")

    def objective(trial):
        trial.report(0.1, 2**40 if trial.number == 0 else 1)
        return trial.params["x"]

    study.optimize(objective, n_trials=3)
    states = [t.state for t in study.trials]  # n_trials counts the trials that completed
    assert states == [TrialState.FAILED] + [TrialState.COMPLETE] * 3
    assert "report.step" in study.trials[0].message


# ------------------------------------------------------------------ 20.10 values
@pytest.mark.parametrize(
    "raw, reason",
    [
        (10**400, "an integer too large for a float (about 10**400)"),
        (None, "None"),
        (True, "a bool (True), not a number"),
        ("x", "str, not a number"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
    ],
    ids=["huge", "none", "bool", "str", "nan", "-inf"],
)
def test_as_value_is_total(raw, reason):
    assert as_value(raw) == (None, f"the objective returned {reason}")


def test_as_value_survives_a_raising_float():
    class Bad:
        def __float__(self):
            raise RuntimeError("no")

    assert as_value(Bad()) == (None, "the objective returned Bad, not a number")


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"loss": 1' + "0" * 400 + "}", "is an integer too large for a float"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"loss": ' + "1" * 5000 + "}", "cannot read the result file r.json"),
    ],
    ids=["huge-int", "deep", "5000-digits"],
)
def test_poison_json_result_is_a_failed_trial(tmp_path, text, reason):
    out, _ = run(
        tmp_path,
        f"open('r.json', 'w').write({text!r})",
        result={"json": "r.json", "key": "loss"},
    )
    assert out.state is TrialState.FAILED and reason in out.message


def test_python_objective_returning_a_huge_int_is_a_failed_trial(tmp_path):
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path}/s.db", name="s")
    study.optimize(lambda t: 10**400 if t.number == 1 else t.params["x"], n_trials=3)
    assert [t.state for t in study.trials].count(TrialState.COMPLETE) == 3
    assert study.trials[1].state is TrialState.FAILED
    assert "too large for a float" in study.trials[1].message


# ------------------------------------------------------------------ 20.12 bounded reads
def test_fifo_as_stderr_does_not_hang(tmp_path):
    out, took = run(
        tmp_path, "import os; os.remove('stderr.txt'); os.mkfifo('stderr.txt'); print(1.5)"
    )
    assert out.state is TrialState.COMPLETE and out.value == 1.5 and took < 10


def test_fifo_as_json_result_does_not_hang(tmp_path):
    out, took = run(tmp_path, "import os; os.mkfifo('r.json')", result={"json": "r.json"})
    assert out.state is TrialState.FAILED and "not a regular file" in out.message
    assert took < 10


def test_catastrophic_regex_fails_the_trial_in_bounded_time(tmp_path):
    out, took = run(
        tmp_path,
        # the hostile line holds a digit (a line without one is never a candidate value) and
        # reaches the parser on its own, whatever the buffering: the regex must meet it
        "import time; print('a' * 40 + '1!', flush=True); time.sleep(0.2); print('loss 0.5')",
        result={"regex": r"^(a+)+$"},
    )
    assert out.state is TrialState.FAILED and "result.regex took longer than" in out.message
    assert took < 15


def test_regex_result_still_finds_the_last_match(tmp_path):
    out, _ = run(
        tmp_path,
        "print('acc=0.1'); print('tansaku:report step=1 value=9'); print('acc=0.7 x'); print('z')",
        result={"regex": r"acc=([0-9.]+)"},
    )
    assert out.state is TrialState.COMPLETE and out.value == 0.7


def test_regex_parser_matches_across_chunks_and_the_last_partial_line():
    p = OutputParser(ResultSpec.parse({"regex": r"v=(\d+)"}))
    for chunk in (b"v=1\nv=", b"2\nno\n", b"v=3"):
        p.feed(chunk)
    p.close()
    assert p.value() == (3.0, None)


# ------------------------------------------------------------------ 20.13 many parameters
def test_huge_params_go_through_a_file(tmp_path):
    params = {f"p{i:05d}": 0.123456789 * i for i in range(6000)}
    out, _ = run(
        tmp_path,
        """
        import json, os
        assert "TANSAKU_PARAMS" not in os.environ
        p = json.load(open(os.environ["TANSAKU_PARAMS_FILE"]))
        print(len(p) + p["p00002"])
        """,
        params=params,
    )
    assert out.state is TrialState.COMPLETE, out.message
    assert out.value == pytest.approx(6000 + 2 * 0.123456789)


def test_small_params_stay_in_the_environment(tmp_path):
    out, _ = run(
        tmp_path,
        """
        import json, os
        assert "TANSAKU_PARAMS_FILE" not in os.environ
        print(json.loads(os.environ["TANSAKU_PARAMS"])["x"])
        """,
        params={"x": 2.5},
    )
    assert out.state is TrialState.COMPLETE and out.value == 2.5
    assert not os.path.exists(tmp_path / "trial" / "tansaku-params.json")
    assert json.dumps({"x": 2.5})
