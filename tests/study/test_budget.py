from __future__ import annotations

import time

import pytest

import tansaku as tk


def scripted(values: dict[int, float | str]) -> object:
    def objective(trial: tk.Trial) -> float:
        v = values[trial.number]
        if v == "fail":
            raise RuntimeError("boom")
        if v == "prune":
            trial.report(9.0, 1)
            raise tk.TrialPruned()
        return float(v)

    return objective


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_patience_stops_after_n_trials_without_improvement(direction: str) -> None:
    sign = 1.0 if direction == "minimize" else -1.0
    seq = [5.0, 4.0, 3.0, 3.5, 3.0, 4.0, 2.0, 2.5, 2.1, 2.2, 1.0]
    study = tk.create_study({"x": tk.Float(0, 1)}, direction=direction)
    study.optimize(
        scripted({i: sign * v for i, v in enumerate(seq)}),  # type: ignore[arg-type]
        n_trials=len(seq),
        patience=3,
    )
    # best 3.0 at trial 2; 3.5, 3.0 (a tie is no improvement), 4.0 -> stop after trial 5
    assert len(study.trials) == 6
    assert study.stop_reason is not None and "patience 3" in study.stop_reason


def test_patience_counts_pruned_trials_but_not_failed_ones() -> None:
    values: dict[int, float | str] = {0: 1.0, 1: "prune", 2: "fail", 3: "fail", 4: 2.0, 5: 0.5}
    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(scripted(values), n_trials=6, patience=2)  # type: ignore[arg-type]
    assert [t.state.value for t in study.trials] == [
        "complete",
        "pruned",
        "failed",
        "failed",
        "complete",
    ]


def test_patience_counts_the_whole_study_across_calls() -> None:
    values: dict[int, float | str] = {0: 1.0, 1: 2.0, 2: 2.0, 3: 2.0, 4: 0.0}
    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(scripted(values), n_trials=2, patience=3)  # type: ignore[arg-type]
    assert len(study.trials) == 2
    study.optimize(scripted(values), n_trials=10, patience=3)  # type: ignore[arg-type]
    assert len(study.trials) == 4  # trials 1, 2, 3 did not improve on trial 0


def test_max_trial_hours_stops_once_the_trials_used_it() -> None:
    def objective(trial: tk.Trial) -> float:
        time.sleep(0.15)
        return 1.0

    budget_s = 0.4
    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(objective, n_trials=20, max_trial_hours=budget_s / 3600)
    durations = [t.duration or 0.0 for t in study.trials]
    assert 2 <= len(durations) <= 3
    assert sum(durations[:-1]) < budget_s <= sum(durations)  # one trial: exactly the crossing one
    assert study.stop_reason is not None and "max_trial_hours" in study.stop_reason
    study.optimize(objective, n_trials=20, max_trial_hours=budget_s / 3600)
    assert len(study.trials) == len(durations)  # the study's budget is spent; nothing new starts


def test_max_trial_hours_counts_running_trials() -> None:
    def objective(trial: tk.Trial) -> float:
        time.sleep(0.5)
        return 1.0

    study = tk.create_study({"x": tk.Float(0, 1)})
    t0 = time.monotonic()
    # 2 workers, 0.6 s of budget: the first two trials use 1.0 s between them; nothing more starts
    study.optimize(objective, n_trials=10, n_workers=2, max_trial_hours=0.6 / 3600)
    assert len(study.trials) == 2
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patience": 0}, "^patience: must be an integer >= 1"),
        ({"patience": 2.5}, "^patience: must be an integer >= 1"),
        ({"max_trial_hours": -1}, "^max_trial_hours: must be a number > 0"),
        ({"max_trial_hours": float("inf")}, "^max_trial_hours: must be a number > 0"),
    ],
)
def test_budget_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.ConfigError, match=message):
        study.optimize(lambda t: 1.0, n_trials=1, **kwargs)  # type: ignore[arg-type]
