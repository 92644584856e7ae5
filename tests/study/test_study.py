from __future__ import annotations

import math
import os
import time

import pytest

import tansaku as tk
from tansaku import ConfigError, DuplicatedStudyError, TansakuError, TrialState

SPACE = {
    "x": tk.Float(-2, 2),
    "n": tk.Int(1, 16, log=True),
    "act": tk.Categorical(["relu", "tanh"]),
}


def quadratic(trial):
    p = trial.params
    return (p["x"] - 0.5) ** 2 + (0.0 if p["act"] == "tanh" else 0.25) + 0.01 * p["n"]


def test_optimize_minimize_and_records():
    study = tk.create_study(SPACE, sampler="random", seed=0)
    study.optimize(quadratic, n_trials=50)
    trials = study.trials
    assert len(trials) == 50 and all(t.state is TrialState.COMPLETE for t in trials)
    assert study.best_value == min(t.value for t in trials)
    assert study.best_params == dict(study.best_trial.params)
    t = trials[0]
    assert t.started_at is not None and t.finished_at >= t.started_at and t.duration >= 0
    assert t.worker and isinstance(t.params["n"], int)


def test_maximize():
    study = tk.create_study(SPACE, sampler="random", seed=0, direction="maximize")
    study.optimize(quadratic, n_trials=30)
    assert study.best_value == max(t.value for t in study.trials)


def test_bad_direction_and_name():
    with pytest.raises(ConfigError, match="direction"):
        tk.create_study(SPACE, direction="down")
    assert len(tk.create_study(None).space) == 0  # define-by-run: trial.suggest_* makes it
    with pytest.raises(ConfigError, match="sampler"):
        tk.create_study(SPACE, sampler="simulated-annealing")


def test_seeded_runs_reproduce_exactly():
    def run():
        s = tk.create_study(SPACE, sampler="random", seed=42)
        s.optimize(quadratic, n_trials=20)
        return [dict(t.params) for t in s.trials]

    assert run() == run()


def test_failures_are_data_and_do_not_count():
    calls = []

    def flaky(trial):
        calls.append(trial.number)
        if trial.number % 3 == 0:
            raise RuntimeError(f"boom {trial.number}")
        if trial.number % 3 == 1:
            return float("nan")
        return 1.0

    study = tk.create_study(SPACE, seed=0)
    study.optimize(flaky, n_trials=5, max_failures=None)
    c = study.counts()
    assert c.complete == 5 and c.failed == 10
    failed = study.get_trials([TrialState.FAILED])
    boom = [t for t in failed if t.number % 3 == 0][0]
    assert boom.message.startswith("RuntimeError: boom") and "Traceback" in boom.stderr
    nan = [t for t in failed if t.number % 3 == 1][0]
    assert "nan" in nan.message


@pytest.mark.parametrize("result", [None, "text", True, float("inf")])
def test_bad_return_values_fail_the_trial(result):
    study = tk.create_study(SPACE, seed=0)
    study.optimize(lambda t: result, n_trials=1, max_failures=3)
    assert study.counts().failed == 3 and study.counts().complete == 0
    assert study.run_error and "3 trials in a row failed" in study.run_error


def test_trial_pruned_and_reports():
    def objective(trial):
        for step in range(5):
            trial.report(1.0 / (step + 1), step)
        if trial.number == 1:
            raise tk.TrialPruned()
        trial.set_user_attr("note", "ok")
        return 0.1

    study = tk.create_study(SPACE, seed=0)
    study.optimize(objective, n_trials=3)
    pruned = study.get_trials([TrialState.PRUNED], with_intermediate=True)
    assert len(pruned) == 1 and pruned[0].value == pytest.approx(0.2)  # its last report
    assert dict(pruned[0].intermediate) == {s: pytest.approx(1.0 / (s + 1)) for s in range(5)}
    complete = study.get_trials([TrialState.COMPLETE])
    assert complete[0].user_attrs == {"note": "ok"}


def test_enqueue_runs_first_and_is_validated():
    study = tk.create_study(SPACE, seed=0)
    n = study.enqueue({"x": 0.5, "n": 1, "act": "tanh"})
    assert n == 0
    with pytest.raises(ConfigError, match="params.n"):
        study.enqueue({"x": 0.5, "n": 100, "act": "tanh"})
    study.optimize(quadratic, n_trials=3)
    first = study.trials[0]
    assert dict(first.params) == {
        "x": 0.5,
        "n": 1,
        "act": "tanh",
    } and study.best_value == pytest.approx(0.01)


def test_ask_tell():
    study = tk.create_study(SPACE, seed=0)
    t = study.ask()
    assert t.number == 0 and set(t.params) == {"x", "n", "act"}
    t.report(0.7, 1)
    done = study.tell(t, 0.5)
    assert done.state is TrialState.COMPLETE and done.value == 0.5
    with pytest.raises(TansakuError, match="cannot be told again"):
        study.tell(t, 0.4)
    t2 = study.ask()
    assert study.tell(t2.number, float("nan")).state is TrialState.FAILED
    t3 = study.ask()
    t3.report(0.9, 3)
    pruned = study.tell(t3, state="pruned")
    assert pruned.state is TrialState.PRUNED and pruned.value == 0.9
    t4 = study.ask()
    assert study.tell(t4, state="failed", message="oom").message == "oom"
    with pytest.raises(ConfigError):
        study.tell(study.ask(), state="running")


def test_callbacks_and_stop():
    seen = []

    def cb(study, trial):
        seen.append(trial.number)
        if len(seen) == 4:
            study.stop()

    study = tk.create_study(SPACE, seed=0)
    study.optimize(quadratic, n_trials=100, callbacks=[cb])
    assert seen == [0, 1, 2, 3] and study.counts().complete == 4
    assert study.stop_reason == "stopped by a callback"


def test_stop_ends_only_the_current_optimize_call():
    # stop() used to stick: every later optimize() on the study ran 0 trials, silently
    def cb(study, trial):
        if trial.number == 1:
            study.stop()

    study = tk.create_study(SPACE, seed=0)
    study.optimize(quadratic, n_trials=10, callbacks=[cb])
    assert study.counts().complete == 2 and study.stop_reason == "stopped by a callback"
    study.optimize(quadratic, n_trials=3)
    assert study.counts().complete == 5 and study.stop_reason == "3 trials done"
    study.optimize(quadratic, n_trials=3, n_workers=2)  # the local executor's loop too
    assert study.counts().complete == 8 and study.stop_reason == "3 trials done"


def test_timeout_stops_starting_new_trials():
    def slow(trial):
        time.sleep(0.05)
        return 1.0

    study = tk.create_study(SPACE, seed=0)
    t0 = time.monotonic()
    study.optimize(slow, timeout=0.3)
    assert time.monotonic() - t0 < 2.0
    assert 2 <= study.counts().complete <= 10


def test_invalid_optimize_arguments():
    study = tk.create_study(SPACE)
    for kwargs in (
        {"n_trials": 0},
        {"n_trials": 1.5},
        {"n_workers": 0},
        {"timeout": -1},
        {"trial_timeout": 0},
    ):
        with pytest.raises(ConfigError):
            study.optimize(quadratic, **{"n_trials": 1, **kwargs})
    with pytest.raises(ConfigError, match="objective"):
        study.optimize("not callable", n_trials=1)


def test_create_load_and_resume_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = tk.create_study(SPACE, storage=url, name="r", sampler="random", seed=3)
    s.optimize(quadratic, n_trials=5)
    with pytest.raises(DuplicatedStudyError):
        tk.create_study(SPACE, storage=url, name="r")
    with pytest.raises(ConfigError, match="different search space"):
        tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="r", load_if_exists=True)
    with pytest.raises(ConfigError, match="direction"):
        tk.create_study(SPACE, storage=url, name="r", load_if_exists=True, direction="maximize")
    s2 = tk.create_study(
        SPACE, storage=url, name="r", load_if_exists=True, sampler="random", seed=3
    )
    s2.optimize(quadratic, total_trials=12)
    assert s2.counts().complete == 12
    loaded = tk.load_study("r", storage=url)
    assert loaded.sampler.name == "random" and loaded.counts().complete == 12
    with pytest.raises(tk.StudyNotFoundError):
        tk.load_study("nope", storage=url)


def test_resumed_seeded_random_continues_the_sequence(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    full = tk.create_study(SPACE, storage=url, name="full", seed=7)
    full.optimize(quadratic, n_trials=10)
    part = tk.create_study(SPACE, storage=url, name="part", seed=7)
    part.optimize(quadratic, n_trials=4)
    resumed = tk.load_study("part", storage=url)
    resumed.optimize(quadratic, total_trials=10)
    assert [dict(t.params) for t in resumed.trials] == [dict(t.params) for t in full.trials]


def test_parallel_local_workers_run_at_once(tmp_path):
    def slow(trial):
        time.sleep(0.3)
        return float(os.getpid())

    study = tk.create_study(SPACE, storage=f"sqlite:///{tmp_path / 'p.db'}", name="p", seed=0)
    t0 = time.monotonic()
    study.optimize(slow, n_trials=8, n_workers=4)
    elapsed = time.monotonic() - t0
    trials = study.trials
    assert len(trials) == 8 and study.counts().complete == 8
    assert len({t.value for t in trials}) >= 2  # ran in several worker processes
    # overlapping intervals: at some moment at least 3 trials ran together
    events = sorted([(t.start_time, 1) for t in trials] + [(t.end_time, -1) for t in trials])
    level = peak = 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    assert peak >= 3, (peak, elapsed)


def test_trial_timeout_kills_python_objective():
    def hang(trial):
        if trial.number == 0:
            time.sleep(60)
        return 1.0

    study = tk.create_study(SPACE, seed=0)
    t0 = time.monotonic()
    study.optimize(hang, n_trials=2, trial_timeout=1.0)
    assert time.monotonic() - t0 < 20
    first = study.trials[0]
    assert first.state is TrialState.FAILED and "timeout" in first.message
    assert study.counts().complete == 2


def test_worker_process_crash_is_a_failed_trial():
    def crash(trial):
        if trial.number == 1:
            os._exit(3)
        return 1.0

    study = tk.create_study(SPACE, seed=0)
    study.optimize(crash, n_trials=4, n_workers=2)
    failed = study.get_trials([TrialState.FAILED])
    assert len(failed) == 1 and "worker process died" in failed[0].message
    assert study.counts().complete == 4


def test_pruning_through_worker_processes():
    class StopAtTwo(tk.pruners.Pruner):
        def should_prune(self, study, trial):
            return trial.last_step is not None and trial.last_step >= 2

    def objective(trial):
        for step in range(10):
            trial.report(float(step), step)
            if trial.should_prune():
                raise tk.TrialPruned()
        return 0.0

    study = tk.create_study(SPACE, seed=0, pruner=StopAtTwo())
    study.optimize(objective, n_trials=4, n_workers=2)
    trials = study.get_trials(with_intermediate=True)
    assert all(t.state is TrialState.PRUNED for t in trials)
    assert all(max(t.intermediate) == 2 and t.value == 2.0 for t in trials)


def test_nan_report_is_ignored_and_bad_step_rejected():
    study = tk.create_study(SPACE)
    t = study.ask()
    t.report(math.nan, 1)
    with pytest.raises(ConfigError):
        t.report(1.0, -1)
    assert study.storage.get_trial(t.trial_id, with_intermediate=True).intermediate == {}
