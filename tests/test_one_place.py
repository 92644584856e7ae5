"""Rules that live in one module (issue 14.4/14.5): the source says where, so a second copy of a
rule is caught when it is written, not when the two copies drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import tansaku as tk

SRC = Path(tk.__file__).resolve().parent


def _files_matching(pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if rx.search(p.read_text("utf-8"))
    )


def test_worker_ids_are_parsed_only_in_liveness():
    # a worker id is host:pid:token (manual@ for ask/tell): split apart by parse_worker alone
    assert _files_matching(r"""rsplit\(\s*["']:["']\s*,\s*2\s*\)""") == ["study/_liveness.py"]


def test_trial_directory_names_are_built_only_in_layout():
    names = r"""f["'](trial|repeat|reevaluation|job)-\{"""
    assert _files_matching(names) == ["_layout.py"]
    assert _files_matching(r"_layout\.RUNS\b") == ["cli/_config.py"]  # runs/ next to the config


def test_no_isinstance_command_where_the_runner_answers():
    found = _files_matching(r"isinstance\([^()]*,\s*Command\)")
    allowed = {"objectives/_runner.py"}  # the runner answers for study/ and executors/ alike
    assert [f for f in found if f not in allowed] == []


def test_the_coordinator_asks_the_study_through_documented_methods():
    # next_trial / report_step / stop_requested / known_distributions / record_used / ask_seconds /
    # attach_proposals ...: no private name of the study (nor of anything else it holds)
    for name in ("_optimize.py", "_reevaluate.py", "_setup.py"):
        text = (SRC / "study" / name).read_text("utf-8")
        assert set(re.findall(r"(?<!tansaku\.)\bstudy\.(_\w+)", text)) == set(), name


def test_documented_study_methods_for_loops_that_run_trials(tmp_path: Path):
    study = tk.create_study({"x": tk.Float(0.0, 1.0)}, sampler="random", seed=0)
    t = study.next_trial("host:1:tok", limit=1)
    assert isinstance(t, tk.FrozenTrial) and t.state is tk.TrialState.RUNNING
    assert study.next_trial("host:1:tok", limit=1) is None  # the budget of one is used
    assert study.report_step(t.trial_id, 3, 0.5) is False  # no pruner: never stop
    stored = study.storage.get_trial(t.trial_id, with_intermediate=True)
    assert dict(stored.intermediate) == {3: 0.5}
    assert study.stop_requested is False
    study.stop()
    assert study.stop_requested is True
