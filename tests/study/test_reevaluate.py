from __future__ import annotations

import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.study import rank_by_mean, reevaluate, trial_seed
from tansaku.study._liveness import pid_alive

PROG = """
import os, random, sys
seed = int(os.environ["TANSAKU_SEED"])
assert sys.argv[2] == str(seed)
print((float(sys.argv[1]) - 0.3) ** 2 + random.Random(seed).gauss(0, 0.2))
"""


def value(x: float, seed: int) -> float:
    return (x - 0.3) ** 2 + random.Random(seed).gauss(0, 0.2)


def test_reevaluates_commands_in_parallel_with_new_seeds(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROG)
    cmd = tk.Command([sys.executable, "prog.py", "{x}", "{seed}"], base_dir=tmp_path)
    study = tk.create_study({"x": tk.Float(0, 1)}, seed=5)
    runs = tmp_path / "runs"
    study.optimize(cmd, n_trials=6, n_workers=2, workdir=runs)
    top = sorted(study.trials, key=lambda t: (t.value, t.number))[:2]
    ranked = reevaluate(study, cmd, top=2, repeats=3, n_workers=2, workdir=runs)
    assert {p.trial for p in ranked} == {t.number for t in top}
    for p in ranked:
        evals = study.trials[p.trial].system_attrs["evaluations"]
        assert evals[0]["seed"] == trial_seed(5, p.trial, 0)  # the original evaluation
        expected = {trial_seed(5, p.trial, k) for k in range(1, 4)}
        assert {e["seed"] for e in evals[1:]} == expected  # in the order they finished
        x = p.params["x"]
        assert [e["value"] for e in evals] == pytest.approx([value(x, e["seed"]) for e in evals])
        for k in (1, 2, 3):
            assert (runs / f"trial-{p.trial:06d}" / f"reevaluation-{k}" / "stdout.txt").exists()
        assert p.mean == pytest.approx(sum(e["value"] for e in evals) / 4)
    assert [p.rank for p in ranked] == [1, 2]
    assert ranked[0].mean <= ranked[1].mean
    assert rank_by_mean(study) == ranked
    assert study.system_attrs["reevaluation"]["ranking"][0]["trial"] == ranked[0].trial


def test_failed_reevaluations_are_kept_but_not_averaged() -> None:
    flaky = {trial_seed(2, 0, 2), trial_seed(2, 0, 4)}  # evaluations 2 and 4 of trial 0

    def objective(trial: tk.Trial) -> float:
        if trial.seed in flaky:
            raise RuntimeError("flaky")
        return 1.0 + trial.number

    study = tk.create_study({"x": tk.Float(0, 1)}, seed=2)
    study.optimize(objective, n_trials=2)
    (best, *_) = reevaluate(study, objective, top=1, repeats=6)
    evals = study.trials[0].system_attrs["evaluations"]
    failed = [e for e in evals if e["value"] is None]
    assert [e["seed"] for e in failed] == sorted(flaky, key=[e["seed"] for e in evals].index)
    assert all(e["message"].startswith("RuntimeError: flaky") for e in failed)
    assert len(evals) == 7 and best.n == 5 and best.mean == 1.0


def test_identical_params_are_pooled_into_one_point() -> None:
    study = tk.create_study({"x": tk.Float(0, 1)})
    for v in (1.0, 3.0):
        study.enqueue({"x": 0.5})
        t = study.ask()
        study.tell(t, v)
    study.enqueue({"x": 0.1})
    study.tell(study.ask(), 1.5)
    ranked = rank_by_mean(study)
    assert [(p.trial, p.n, p.mean) for p in ranked] == [(0, 2, 2.0)]  # only points with n >= 2
    everything = rank_by_mean(study, min_evaluations=1)
    assert [(p.trial, p.mean) for p in everything] == [(2, 1.5), (0, 2.0)]


def test_options_are_checked() -> None:
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.TansakuError, match="no complete trial"):
        reevaluate(study, lambda t: 1.0, top=1, repeats=1)
    with pytest.raises(tk.ConfigError, match=r"^top: must be a positive integer"):
        reevaluate(study, lambda t: 1.0, top=0, repeats=1)


def sleeps(trial: tk.Trial) -> float:
    time.sleep(20.0)
    return 1.0


def test_a_python_objective_past_trial_timeout_is_stopped(tmp_path: Path) -> None:
    # the optimize loop's rule: a timeout for a Python objective runs it in a process of its own
    study = tk.create_study({"x": tk.Float(0, 1)}, sampler="random")
    study.tell(study.ask(), 1.0)
    t0 = time.monotonic()
    reevaluate(study, sleeps, top=1, repeats=1, trial_timeout=1.0, workdir=tmp_path)
    (point,) = rank_by_mean(study, min_evaluations=1)
    assert time.monotonic() - t0 < 12.0
    (_, again) = study.trials[0].system_attrs["evaluations"]
    assert again["value"] is None and again["message"].startswith("timeout")
    assert point.n == 1 and point.mean == 1.0


def test_ctrl_c_stops_running_reevaluations_and_keeps_the_finished(tmp_path: Path) -> None:
    prog = "import os, sys, time\nopen(sys.argv[2], 'w').write(str(os.getpid()))\n"
    prog += "time.sleep(float(sys.argv[1]))\nprint(1.0)\n"
    (tmp_path / "prog.py").write_text(prog)
    cmd = tk.Command([sys.executable, "prog.py", "{x}", "{workdir}/pid"], base_dir=tmp_path)
    study = tk.create_study({"x": tk.Float(0, 60)}, sampler="random")
    for x, v in ((0.0, 1.0), (60.0, 2.0)):
        study.enqueue({"x": x})
        study.tell(study.ask(), v)
    timer = threading.Timer(4.0, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            reevaluate(study, cmd, top=2, repeats=1, n_workers=2, workdir=tmp_path / "runs")
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 20.0
    fast, slow = (study.trials[n].system_attrs.get("evaluations", []) for n in (0, 1))
    assert [e["value"] for e in fast] == [1.0, 1.0]  # the original and the one that ended
    assert slow == []  # the stopped one is not recorded
    pid = int((tmp_path / "runs" / "trial-000001" / "reevaluation-1" / "pid").read_text())
    deadline = time.monotonic() + 5.0
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)
