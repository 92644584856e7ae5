"""The executor contract suite: every executor runs the same trials and must end them the same way.

One study per (executor, objective kind) runs all its cases at once (one trial per case, in
parallel, so a slow batch executor pays its queue latency once), then each trial is checked:

=========  ======================================================================================
value      COMPLETE with ``x + base + ckpt``; the Python objective also calls ``trial.suggest_int``
           and ``suggest_categorical`` (define-by-run): the values it got are stored as the
           trial's params and the study learns both distributions: ``base`` is read from the study's setup directory
           and ``ckpt`` from the parent trial's directory (``from_trial``), so the value is right
           only if ``setup_dir`` and ``parent_dir`` reached the trial; the report line is stored;
           the seed and the workdir the trial saw are the study's (user attrs / ``seen.txt``);
           a command's ``tansaku:attr``/``tansaku:metric`` lines are its user attrs
fail       FAILED with the program's own last stderr line (commands) or the exception (Python);
           the stderr tail is kept, and so are the user attrs a command printed before failing
timeout    FAILED "timeout" after ``trial_timeout``
prune      the trial reports 0.9, the pruner says prune: PRUNED with that value (a Python trial
           notices through ``should_prune``, a command is killed and keeps its user attrs)
cancel     (Python) the trial reports 0.9 and ignores ``should_prune``: the executor must stop it
signal     (command) the program kills itself with SIGTERM: FAILED "killed by SIGTERM"
=========  ======================================================================================

Adding an executor is one line in ``TARGETS``: a name, a function of the pytest ``request``
returning its executor options (it may ask for service fixtures), the cases it cannot honour,
its ``trial_timeout`` and marks.  Collected by ``test_conformance.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku.study._repeats import trial_seed
from tests.executors.batch_cases import AboveHalf

BASE, CKPT = 7.0, 5.0
PY_CASES = ("value", "fail", "timeout", "prune", "cancel")
CMD_CASES = ("value", "fail", "timeout", "prune", "signal")

SCRIPT = r"""
case="$1"; x="$2"
base=$(cat "$TANSAKU_SETUP_DIR/base.txt") || exit 90
ckpt=$(cat "$TANSAKU_PARENT_DIR/ckpt.txt") || exit 91
printf '%s\n' "$PWD" "$TANSAKU_SEED" "$TANSAKU_WORKDIR" > seen.txt
case "$case" in
  value) echo "tansaku:attr optimizer=adam"; echo "tansaku:report step=1 value=$x"
         echo "tansaku:metric epochs=3"; python3 -c "print($x + $base + $ckpt)" ;;
  fail) echo "tansaku:attr stage=load"; echo "first line" >&2; echo "boom: bad input $x" >&2
        exit 3 ;;
  timeout) sleep 60 ;;
  prune) echo "tansaku:attr stage=train"; echo "tansaku:report step=1 value=0.9"; sleep 60 ;;
  signal) kill -TERM $$ ;;
esac
"""
COMMAND = tk.Command(["bash", "-c", SCRIPT, "_", "{case}", "{x}"])


def py_objective(trial: Any) -> float:
    case, x = trial.params["case"], trial.params["x"]
    base = float((Path(trial.setup_dir) / "base.txt").read_text())
    ckpt = float((Path(trial.parent_dir) / "ckpt.txt").read_text())
    trial.set_user_attr("seen", {"workdir": str(trial.workdir), "seed": trial.seed})
    if case == "value":  # define-by-run: these values must come back to the study
        got = [trial.suggest_int("width", 1, 9), trial.suggest_categorical("act", ["relu", "tanh"])]
        trial.set_user_attr("suggested", got)
    if case == "fail":
        print("warming up", file=sys.stderr)
        raise ValueError(f"boom: bad input {x}")
    if case == "timeout":
        time.sleep(60)
    if case in ("prune", "cancel"):
        trial.report(0.9, 1)
        for _ in range(600):
            if case == "prune" and trial.should_prune():
                raise tk.TrialPruned()
            time.sleep(0.1)
    trial.report(x, 1)
    return x + base + ckpt


def write_base(directory: Path) -> None:
    (Path(directory) / "base.txt").write_text(f"{BASE}\n")


@dataclass(frozen=True)
class Target:
    """An executor under test: its options (from the pytest request) and what it cannot do."""

    options: Callable[[Any], dict[str, Any]]
    skip: frozenset[str] = frozenset()  # "python:timeout", "command:signal", ...
    trial_timeout: float = 3.0
    marks: tuple[Any, ...] = field(default_factory=tuple)


def _dask(request: Any) -> dict[str, Any]:
    pytest.importorskip("distributed")
    return {"name": "dask", "kill_grace": 0.5, "check_interval": 0.2, "prune_wait": 2.0}


def _pbs(request: Any) -> dict[str, Any]:
    from tests.executors.conftest import pbs_options

    q = request.getfixturevalue("pbs")  # the real single-host OpenPBS (tests/services.py)
    return pbs_options(q, poll_interval=0.5, marker_grace=1.0, check_interval=0.1,
                       resources={"select": "1:ncpus=1", "walltime": "00:10:00"})


def _slurm(request: Any) -> dict[str, Any]:
    q = request.getfixturevalue("slurm")
    return {
        "name": "slurm",
        "partition": q.queue,
        "poll_interval": 1.0,
        "marker_grace": 1.0,
        "check_interval": 0.1,
    }


def _sge(request: Any) -> dict[str, Any]:
    q = request.getfixturevalue("sge")
    return {
        "name": "sge",
        "queue": q.queue,
        "poll_interval": 1.0,
        "marker_grace": 1.0,
        "check_interval": 0.1,
    }


# A batch job starts a fresh Python (numpy, tansaku) on the scheduler's node: under a loaded CI
# machine that alone took more than 6 s, so the value case was killed as a timeout.
BATCH_TIMEOUT = 12.0


TARGETS: dict[str, Target] = {
    # inline runs Python in the coordinator's thread: nothing can stop it
    "inline": Target(lambda r: {"name": "inline"}, frozenset({"python:timeout", "python:cancel"})),
    "local": Target(lambda r: {"name": "local"}, trial_timeout=2.0),
    "dask": Target(_dask, trial_timeout=4.0),
    "slurm": Target(_slurm, trial_timeout=BATCH_TIMEOUT, marks=(pytest.mark.slurm,)),
    "sge": Target(_sge, trial_timeout=BATCH_TIMEOUT, marks=(pytest.mark.sge,)),
    "pbs": Target(_pbs, trial_timeout=BATCH_TIMEOUT, marks=(pytest.mark.pbs,)),
}

PARAMS = [
    pytest.param(name, kind, id=f"{name}-{kind}", marks=t.marks)
    for name, t in TARGETS.items()
    for kind in ("python", "command")
]


def run_cases(request: Any, tmp_path: Path, name: str, kind: str) -> None:
    """Run every case ``name`` supports for ``kind`` in one study, then check each trial."""
    target = TARGETS[name]
    spec = target.options(request)
    cases = [
        c for c in (PY_CASES if kind == "python" else CMD_CASES) if f"{kind}:{c}" not in target.skip
    ]
    study = tk.create_study(
        {"case": tk.Categorical(sorted(set(PY_CASES + CMD_CASES))), "x": tk.Float(0, 1)},
        storage=f"sqlite:///{tmp_path / 'study.db'}",
        name="conf",
        seed=3,
        pruner=AboveHalf(),
    )
    runs = tmp_path / "runs"
    # trial 0: a finished trial whose directory holds a checkpoint the others start from
    parent = study.ask()
    study.tell(parent, 0.0)
    parent_dir = runs / f"trial-{parent.number:06d}"
    parent_dir.mkdir(parents=True)
    (parent_dir / "ckpt.txt").write_text(f"{CKPT}\n")
    numbers = [study.enqueue({"case": c, "x": 0.25}, from_trial=parent.number) for c in cases]
    timed = "timeout" in cases

    def stop_once_all_started(st: Any, t: Any) -> None:
        """Failed trials do not count to n_trials: start no sampled trial after the cases."""
        states = [st.storage.get_trial_by_number(st.study_id, n).state for n in numbers]
        if TrialState.WAITING not in states:
            st.stop()

    study.optimize(
        py_objective if kind == "python" else COMMAND,
        n_trials=len(cases),
        n_workers=1 if name == "inline" else len(cases),
        executor=spec,
        workdir=runs,
        setup=write_base,
        trial_timeout=target.trial_timeout if timed else None,
        max_failures=None,
        callbacks=[stop_once_all_started],
    )
    got = {
        t.params["case"]: study.storage.get_trial(t.trial_id, with_intermediate=True)
        for t in study.trials
        if t.number in numbers
    }
    assert sorted(got) == sorted(cases)
    if kind == "python" and "value" in cases:  # the study learned what the trial suggested
        learned = tk.load_study("conf", storage=f"sqlite:///{tmp_path / 'study.db'}").space.free
        assert {"width", "act"} <= learned, f"learned {sorted(learned)}: {got['value'].state} {got['value'].params} {got['value'].message}"
    base_seed = study.system_attrs.get("seed")
    problems = []
    for c in cases:
        t = got[c]
        try:
            check(kind, c, t, runs, base_seed)
        except AssertionError as e:
            problems.append(f"{c}: {e} (state {t.state.value}, message {t.message!r})")
    assert not problems, "\n".join(problems)


def check(kind: str, case: str, t: Any, runs: Path, base_seed: int | None) -> None:
    trial_dir = runs / f"trial-{t.number:06d}"
    if case == "value":
        assert t.state is TrialState.COMPLETE, "not complete"
        assert t.value == pytest.approx(0.25 + BASE + CKPT), f"value {t.value}"
        assert dict(t.intermediate) == {1: 0.25}, f"reports {dict(t.intermediate)}"
        seed = trial_seed(base_seed, t.number)
        if kind == "python":
            seen = t.user_attrs.get("seen")
            assert seen == {"workdir": str(trial_dir), "seed": seed}, f"user attrs {seen}"
            width, act = t.user_attrs.get("suggested") or (None, None)
            used = {k: t.params.get(k) for k in ("width", "act")}
            assert used == {"width": width, "act": act}, f"suggested {width, act}, stored {used}"
        else:
            cwd, env_seed, env_workdir = (trial_dir / "seen.txt").read_text().split("\n")[:3]
            assert (cwd, env_seed, env_workdir) == (str(trial_dir), str(seed), str(trial_dir))
            attrs = dict(t.user_attrs)
            assert attrs == {"optimizer": "adam", "epochs": 3.0}, f"user attrs {attrs}"
    elif case == "fail":
        assert t.state is TrialState.FAILED, "not failed"
        if kind == "python":
            assert "ValueError: boom: bad input 0.25" in (t.message or ""), "message"
            assert "Traceback" in (t.stderr or ""), f"stderr {t.stderr!r}"
        else:
            assert "exit code 3" in (t.message or ""), "message lacks the exit code"
            assert "boom: bad input 0.25" in (t.message or ""), "message lacks stderr line"
            assert "first line" in (t.stderr or ""), f"stderr {t.stderr!r}"
            assert dict(t.user_attrs) == {"stage": "load"}, f"user attrs {dict(t.user_attrs)}"
    elif case == "timeout":
        assert t.state is TrialState.FAILED and "timeout" in (t.message or ""), "not timed out"
    elif case in ("prune", "cancel"):
        assert t.state is TrialState.PRUNED, "not pruned"
        assert t.value == 0.9, f"value {t.value}"
        if kind == "command":
            assert dict(t.user_attrs) == {"stage": "train"}, f"user attrs {dict(t.user_attrs)}"
    elif case == "signal":
        assert t.state is TrialState.FAILED, "not failed"
        assert "SIGTERM" in (t.message or ""), "message lacks the signal"
    else:  # pragma: no cover
        raise AssertionError(f"unknown case {case}")


__all__ = ["PARAMS", "TARGETS", "Target", "run_cases"]
