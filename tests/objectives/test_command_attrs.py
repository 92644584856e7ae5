"""User attributes and metrics from a command's output (issue 19.2).

``tansaku:attr key=value`` / ``tansaku:metric key=number`` lines and a json result file's ``attrs``
become the trial's user attributes; every ``tansaku:<word>`` line is an instruction, never the
result.  The executor conformance suite checks the same through every executor."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import Command, ConfigError, TrialState
from tansaku.objectives import OutputParser, ResultSpec
from tansaku.objectives._base import Job
from tansaku.objectives._command import CommandRun
from tansaku.objectives._output import MAX_ATTRS

PY = sys.executable


def parse(text: str, spec: ResultSpec | None = None, chunks: int = 1) -> OutputParser:
    p = OutputParser(spec)
    data = text.encode()
    step = max(1, len(data) // chunks)
    for i in range(0, len(data), step):
        p.feed(data[i : i + step])
    p.close()
    return p


@pytest.mark.parametrize("chunks", [1, 3, 50])
def test_attr_and_metric_lines_become_user_attrs_and_never_the_result(chunks: int) -> None:
    p = parse(
        "epoch 1\n"
        "tansaku:attr optimizer=adam\n"
        'tansaku:attr note="a quoted 42"\n'
        "tansaku:attr layers=3\n"
        "tansaku:attr flag=true\n"
        "tansaku:attr shape=[1,2]\n"
        "0.125\n"
        "tansaku:metric train.time=12.5\n"
        "tansaku:metric val/loss=1e-3\n"
        "tansaku:metric train.time=13\n",  # the last line for a key wins
        chunks=chunks,
    )
    assert p.value() == (0.125, None)  # the metric lines after the result are not candidates
    assert p.user_attrs() == {
        "optimizer": "adam",
        "note": "a quoted 42",
        "layers": 3,
        "flag": True,
        "shape": "[1,2]",  # lists and objects are kept as written
        "train.time": 13.0,
        "val/loss": 0.001,
    }


def test_attr_lines_without_digits_are_read() -> None:
    # the parser skips chunks that cannot hold a number; an attr line must still be seen
    p = parse("tansaku:attr optimizer=sgd\n")
    assert p.user_attrs() == {"optimizer": "sgd"}
    assert p.value()[0] is None


@pytest.mark.parametrize(
    "line, problem",
    [
        ("tansaku:metric loss=fast", "bad tansaku:metric line: loss must be a finite number"),
        ("tansaku:metric loss=nan", "loss must be a finite number"),
        ("tansaku:attr 9lives=1", "bad tansaku:attr line"),
        ("tansaku:attr novalue", "bad tansaku:attr line"),
        ("tansaku:atr x=1", "unknown instruction tansaku:atr"),
    ],
)
def test_a_malformed_instruction_fails_the_trial_naming_the_line(line: str, problem: str) -> None:
    p = parse(f"{line}\n0.5\n")
    value, reason = p.value()
    assert value is None
    assert reason is not None and problem in reason


def test_a_report_line_not_of_the_form_is_skipped_and_never_the_result() -> None:
    # as before attrs existed: scripts printing "value 0.3" keep working (their last line wins)
    p = parse("tansaku:report step=1 value 0.3\n0.5\ntansaku:report step=2 value 7\n")
    assert p.value() == (0.5, None) and p.last_report is None


def test_too_many_attributes_fail_the_trial() -> None:
    lines = "".join(f"tansaku:metric m{i}={i}\n" for i in range(MAX_ATTRS + 1))
    p = parse(lines + "1.0\n")
    assert p.value()[0] is None and f"more than {MAX_ATTRS}" in str(p.value()[1])
    assert len(p.user_attrs()) == MAX_ATTRS


def test_regex_results_skip_instruction_lines() -> None:
    p = parse("tansaku:metric loss=9\nloss=0.5\n", ResultSpec("regex", pattern=r"loss=(\S+)"))
    assert p.value() == (0.5, None)
    assert p.user_attrs() == {"loss": 9.0}


def test_json_result_attrs_by_key_and_all(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(
        json.dumps({"val": {"loss": 0.2, "acc": 0.9}, "epochs": 7, "tag": "x", "hist": [1, 2]})
    )
    spec = ResultSpec.parse({"json": "m.json", "key": "val.loss", "attrs": ["val.acc", "epochs", "gone"]})
    p = parse("", spec)
    assert p.value(tmp_path) == (0.2, None)
    assert p.user_attrs() == {"val.acc": 0.9, "epochs": 7}  # a missing key is left out
    p = parse("", ResultSpec.parse({"json": "m.json", "key": "val.loss", "attrs": True}))
    p.value(tmp_path)
    assert p.user_attrs() == {
        "val.loss": 0.2, "val.acc": 0.9, "epochs": 7, "tag": "x", "hist": "[1,2]"
    }


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"json": "m.json", "attrs": "epochs"}, "result.attrs"),
        ({"json": "m.json", "attrs": ["ok", 3]}, r"result.attrs\[1\]"),
        ({"json": "m.json", "attrs": ["bad key"]}, r"result.attrs\[0\]"),
        ({"regex": "x", "attrs": ["a"]}, "result.attrs"),
    ],
)
def test_bad_attrs_specs_are_one_line_errors(spec: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field) as e:
        ResultSpec.parse(spec)
    assert "\n" not in str(e.value)


def test_a_killed_command_keeps_the_attrs_it_printed(tmp_path: Path) -> None:
    prog = tmp_path / "p.py"
    prog.write_text(
        "import time\nprint('tansaku:attr stage=train', flush=True)\ntime.sleep(30)\n"
    )
    job = Job(trial_id=1, number=0, params={}, study_name="s", workdir=tmp_path / "t", timeout=1.0)
    out = CommandRun(Command([PY, str(prog)]), job).run()
    assert out.state is TrialState.FAILED and "timeout" in (out.message or "")
    assert out.user_attrs == {"stage": "train"}


def test_attrs_reach_the_study_export_and_report(tmp_path: Path) -> None:
    prog = tmp_path / "train.py"
    prog.write_text(
        textwrap.dedent(
            """
            import sys
            x = float(sys.argv[1])
            print("tansaku:attr optimizer=" + ("adam" if x > 0.5 else "sgd"))
            print(f"tansaku:metric fit_time={10 * x:.3f}")
            print((x - 0.3) ** 2)
            """
        )
    )
    db = tmp_path / "s.db"
    study = tk.create_study(
        {"x": tk.Float(0, 1)}, storage=f"sqlite:///{db}", name="attrs", sampler="random", seed=3
    )
    study.optimize(Command([PY, str(prog), "{x}"]), n_trials=4, workdir=tmp_path / "runs")
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    for t in trials:
        x = t.params["x"]
        assert t.user_attrs == {
            "optimizer": "adam" if x > 0.5 else "sgd", "fit_time": pytest.approx(10 * x, abs=1e-3)
        }
    out = tmp_path / "t.csv"
    subprocess.run(
        [PY, "-m", "tansaku", "export", "--storage", f"sqlite:///{db}", "--study", "attrs",
         "-o", str(out)],
        check=True, capture_output=True, text=True,
    )
    rows = list(csv.DictReader(out.open()))
    assert {r["user_attrs.optimizer"] for r in rows} <= {"adam", "sgd"}
    assert all(r["user_attrs.fit_time"] for r in rows)

    from tansaku.report._top import top_trials

    top = top_trials(study)
    assert top.attr_columns == ("optimizer", "fit_time")
    assert top.param_columns == ("x",)
    best = dict(zip(top.columns, top.rows[0]))
    assert best["optimizer"] in ("adam", "sgd") and float(best["fit_time"]) >= 0
