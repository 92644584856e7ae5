"""Define-by-run: ``trial.suggest_*`` inside the objective (issue 17.2, docs/define-by-run.md)."""

from __future__ import annotations

from typing import Any

import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState
from tansaku.samplers import Sampler


def network(trial: Any) -> float:
    """Loops and ifs: a depth, one width per layer, an optimizer-dependent branch."""
    n = trial.suggest_int("n_layers", 1, 3)
    loss = 0.1 * n
    for i in range(n):
        loss += (trial.suggest_int(f"units_{i}", 16, 512, log=True) - 64) ** 2 / 1e5
    if trial.suggest_categorical("optimizer", ["sgd", "adam"]) == "sgd":
        loss += (trial.suggest_float("momentum", 0.0, 0.99) - 0.9) ** 2
    else:
        loss += (trial.suggest_float("beta1", 0.5, 0.999, log=True) - 0.9) ** 2 + 0.05
    return loss


def expected_names(params: dict[str, Any]) -> set[str]:
    """The names a trial of ``network`` with these params must hold, exactly."""
    names = {"n_layers", "optimizer", *(f"units_{i}" for i in range(params["n_layers"]))}
    names.add("momentum" if params["optimizer"] == "sgd" else "beta1")
    return names


def check_trials(study: tk.Study) -> None:
    for t in study.trials:
        assert t.state is TrialState.COMPLETE, t.message
        assert set(t.params) == expected_names(dict(t.params)), t.params
        assert t.value == pytest.approx(network(_Fixed(t.params)))
    assert set(study.best_params) == expected_names(study.best_params)


class _Fixed:
    """A stand-in trial replaying stored params (to recompute a trial's value)."""

    def __init__(self, params: Any) -> None:
        self.params = dict(params)

    def suggest_int(self, name: str, *a: Any, **k: Any) -> Any:
        return self.params[name]

    suggest_float = suggest_categorical = suggest_int


@pytest.mark.parametrize("storage", [None, "sqlite", "journal"])
def test_loops_and_ifs_in_process_keep_exactly_the_used_params(tmp_path, storage):
    url = None if storage is None else f"{storage}:///{tmp_path}/s.{storage}"
    study = tk.create_study(sampler="tpe", seed=0, storage=url)  # no declared space at all
    study.optimize(network, n_trials=25)
    check_trials(study)
    # the study learned every name, in the order first seen; all of them are define-by-run
    assert set(study.space) == {"n_layers", "optimizer", "momentum", "beta1"} | {
        f"units_{i}" for i in range(3)
    }
    assert study.space.free == set(study.space)
    again = tk.load_study(study.name, storage=study.storage)
    assert again.space == study.space


def test_local_worker_processes(tmp_path):
    study = tk.create_study(sampler="tpe", seed=1, storage=f"sqlite:///{tmp_path}/w.db")
    study.optimize(network, n_trials=16, n_workers=3, executor="local")
    assert len(study.trials) == 16
    check_trials(study)


def test_ask_tell():
    study = tk.create_study(sampler="random", seed=0)
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, network(trial))
    check_trials(study)
    assert "n_layers" in study.space


def test_learned_parameters_are_proposed_by_the_sampler():
    """Once learned, a parameter's value is the sampler's proposal (relative); a parameter first
    seen is an independent draw; a proposed parameter the trial did not suggest is not kept."""
    seen: list[Any] = []

    class Quarter(Sampler):
        name = "quarter"

        def ask(self, pending):
            seen.append(self.space)
            return {n: d.from_unit(0.25) for n, d in self.space.items()}

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 4.0)
        if trial.number >= 2:
            trial.suggest_float("y", 0.0, 4.0)
        return x

    study = tk.create_study(sampler=Quarter(), seed=0)
    study.optimize(objective, n_trials=4)
    xs = [t.params["x"] for t in study.trials]
    assert xs[0] != 1.0 and xs[1:] == [1.0, 1.0, 1.0]  # trial 0: nothing known, a draw
    assert "y" not in study.trials[1].params  # proposed (known?) no: not suggested, not kept
    assert study.trials[2].params["y"] != 1.0 and study.trials[3].params["y"] == 1.0
    assert list(seen[-1]) == ["x", "y"] and seen[-1].free == {"x", "y"}


def test_declared_space_and_suggest_calls_mix():
    def objective(trial: Any) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)  # the declared one: its value
        assert lr == trial.params["lr"]
        extra = trial.suggest_float("extra", 0, 1) if trial.params["act"] == "relu" else 0.0
        return lr + extra

    space = {"lr": tk.Float(1e-4, 1e-1, log=True), "act": tk.Categorical(["relu", "tanh"])}
    study = tk.create_study(space, sampler="random", seed=3)
    study.optimize(objective, n_trials=12)
    for t in study.trials:
        assert t.state is TrialState.COMPLETE, t.message
        assert set(t.params) == ({"lr", "act", "extra"} if t.params["act"] == "relu" else {"lr", "act"})
    assert list(study.space) == ["lr", "act", "extra"] and study.space.free == {"extra"}


def test_a_name_suggested_with_another_distribution_is_an_error_naming_it():
    def twice(trial: Any) -> float:
        trial.suggest_float("x", 0, 1)
        return trial.suggest_float("x", 0, 2)

    study = tk.create_study(sampler="random", seed=0)
    study.optimize(twice, n_trials=1, max_failures=1)
    t = study.trials[0]
    assert t.state is TrialState.FAILED
    assert "ConfigError: x: suggested as float [0, 2], but this trial suggested it as float [0, 1]" in t.message

    def later(trial: Any) -> float:  # across trials: trial 0 taught the study x = int [0, 5]
        return trial.suggest_float("x", 0, 1) if trial.number else trial.suggest_int("x", 0, 5)

    study = tk.create_study(sampler="random", seed=0)
    study.optimize(later, n_trials=1, max_failures=1)
    study.optimize(later, n_trials=1, max_failures=1)
    first, second = study.trials
    assert first.state is TrialState.COMPLETE and second.state is TrialState.FAILED
    assert second.message == (
        "ConfigError: x: suggested as float [0, 1], but the study knows it as int [0, 5]"
    )

    declared = tk.create_study({"lr": tk.Float(1e-4, 1e-1, log=True)}, sampler="random")
    with pytest.raises(ConfigError, match=r"^lr: suggested as float \[0, 1\], but the study knows "):
        declared.ask().suggest_float("lr", 0, 1)


def test_parallel_trials_learning_one_name_differently_fail_the_later_one():
    """Two workers' trials first suggest ``z`` at once with different ranges: the first told
    wins, the other is FAILED naming the clash and keeps no ``z``."""
    study = tk.create_study(sampler="random", seed=0)
    a, b = study.ask(), study.ask()
    a.suggest_float("z", 0, 1)
    b.suggest_float("z", 0, 9)
    study.tell(a, 1.0)
    done = study.tell(b, 2.0)
    assert done.state is TrialState.FAILED and "z" not in done.params
    assert done.message == "z: suggested as float [0, 9], but the study knows it as float [0, 1]"


def test_bad_suggest_arguments_name_the_parameter():
    trial = tk.create_study(sampler="random").ask()
    with pytest.raises(ConfigError, match=r"^w\.low: low must be < high"):
        trial.suggest_float("w", 1, 0)
    with pytest.raises(ConfigError, match="^suggest: parameter names"):
        trial.suggest_int("not a name", 0, 1)
    with pytest.raises(ConfigError, match=r"^c\.choices"):
        trial.suggest_categorical("c", [])


def test_resume_proposes_what_the_uninterrupted_run_did(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"

    def run(name: str, splits: list[int]) -> list[dict[str, Any]]:
        for n in splits:
            s = tk.create_study(sampler="tpe", seed=5, storage=url, name=name, load_if_exists=True)
            s.optimize(network, n_trials=n)
        return [dict(t.params) for t in s.trials]

    assert run("once", [24]) == run("twice", [9, 15])


def _samplers() -> list[Any]:
    from tansaku.samplers import SAMPLERS, sampler_class

    out = []
    for name in SAMPLERS:
        try:
            sampler_class(name)
        except ConfigError:  # an optional dependency missing
            continue
        if name == "grid":
            continue
        out.append(pytest.param(name, marks=pytest.mark.slow) if name in ("gp", "dngo") else name)
    return out


@pytest.mark.parametrize("name", _samplers())
def test_every_sampler_searches_a_define_by_run_space_and_resumes_exactly(name):
    """Only what each trial suggested is kept, and a study stopped and resumed proposes exactly
    what the uninterrupted one did (the sampler is rebuilt and replayed as the space grows)."""

    def run(splits: list[int]) -> list[dict[str, Any]]:
        storage = tk.storage.InMemoryStorage()
        for n in splits:
            s = tk.create_study(
                sampler={"name": name, "seed": 3}, storage=storage, name="d", load_if_exists=True
            )
            s.optimize(network, n_trials=n)
        check_trials(s)
        return [dict(t.params) for t in s.trials]

    assert run([14]) == run([5, 9])


def test_grid_refuses_a_define_by_run_space():
    study = tk.create_study(sampler="grid")
    with pytest.raises(ConfigError, match="^sampler: grid enumerates a declared space"):
        study.optimize(network, n_trials=3)


def test_tpe_groups_define_by_run_parameters_by_the_trials_that_hold_them():
    """Bergstra et al.'s tree for a define-by-run space: parameters every trial holds form the
    root group; one branch's parameters, or one layer's, form a group of their own."""
    def objective(trial: Any) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        names = ["a0", "a1"] if kind == "a" else ["b0", "b1", "b2"]
        return lr + sum(trial.suggest_float(n, -1, 1) ** 2 for n in names)

    study = tk.create_study(sampler="tpe", seed=0)
    study.optimize(objective, n_trials=12)
    assert {t.params["kind"] for t in study.trials} == {"a", "b"}
    study.ask()  # regroups with every finished trial told
    groups = [names for names, _, _ in study.sampler._current_parts()]
    assert sorted(map(sorted, groups)) == [["a0", "a1"], ["b0", "b1", "b2"], ["kind", "lr"]]


def test_export_and_report_show_learned_parameters(tmp_path):
    import csv
    import json
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/e.db"
    study = tk.create_study(sampler="random", seed=0, storage=url, name="e")
    study.optimize(network, n_trials=6)
    out = subprocess.run(
        [sys.executable, "-m", "tansaku", "export", "--study", "e", "--storage", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = list(csv.DictReader(out.splitlines()))
    assert {"params_n_layers", "params_units_0", "params_optimizer"} <= set(rows[0])
    for row, t in zip(rows, study.trials):
        assert {k for k in study.space if row.get(f"params_{k}") not in ("", None)} == set(t.params)
    from tansaku.report._table import TrialTable

    table = TrialTable.load(study.storage, "e")
    assert set(table.space) == set(study.space)
    assert json.loads(json.dumps(dict(study.best_params)))


# ---------------------------------------------------------------- enqueue (define-by-run)
@pytest.mark.parametrize("executor", ["inline", "local"])
def test_enqueue_takes_names_the_objective_suggests_later(tmp_path, executor):
    """Names no trial has suggested yet are accepted by enqueue, stored with the trial, and are
    what the objective's suggest_* calls return; a learned name is checked at once."""
    study = tk.create_study(sampler="random", seed=0, storage=f"sqlite:///{tmp_path}/e.db")
    first = study.enqueue({"n_layers": 2, "units_0": 300, "units_1": 17, "optimizer": "sgd",
                           "momentum": 0.5})
    assert study.storage.get_trial_by_number(study.study_id, first).system_attrs[
        "enqueued_params"]["units_0"] == 300
    study.optimize(network, n_trials=3, executor=executor)
    t = study.storage.get_trial_by_number(study.study_id, first)
    assert t.state is TrialState.COMPLETE, t.message
    assert dict(t.params) == {"n_layers": 2, "units_0": 300, "units_1": 17, "optimizer": "sgd",
                              "momentum": 0.5}
    # now learned: enqueue checks the value at once, naming the field
    with pytest.raises(ConfigError, match=r"params\.n_layers"):
        study.enqueue({"n_layers": 9})
    second = study.enqueue({"n_layers": 1, "optimizer": "adam", "beta1": 0.8, "units_0": 64})
    study.optimize(network, n_trials=1, executor=executor)
    t = study.storage.get_trial_by_number(study.study_id, second)
    assert dict(t.params) == {"n_layers": 1, "optimizer": "adam", "beta1": 0.8, "units_0": 64}
    check_trials(study)


def test_an_enqueued_value_outside_the_suggested_range_fails_the_trial_naming_it():
    study = tk.create_study(sampler="random", seed=0)
    n = study.enqueue({"n_layers": 7})
    study.optimize(network, n_trials=1)
    t = study.storage.get_trial_by_number(study.study_id, n)
    assert t.state is TrialState.FAILED
    assert "n_layers" in (t.message or ""), t.message


def test_an_enqueued_name_never_suggested_is_not_a_param_and_ask_tell_takes_them(caplog):
    study = tk.create_study(sampler="random", seed=0)
    with caplog.at_level("WARNING", logger="tansaku.study"):
        n = study.enqueue({"n_layers": 1, "units_0": 20, "optimizer": "adam", "beta1": 0.6,
                           "momentum": 0.3})  # momentum: adam never suggests it
    # a typo must not vanish silently: the names waiting for a suggest call are said
    assert "params.momentum" in caplog.text and "not in the study's space" in caplog.text
    trial = study.ask()
    assert trial.number == n
    study.tell(trial, network(trial))
    t = study.storage.get_trial_by_number(study.study_id, n)
    assert dict(t.params) == {"n_layers": 1, "units_0": 20, "optimizer": "adam", "beta1": 0.6}
    assert t.system_attrs["enqueued_params"]["momentum"] == 0.3  # kept, documented


@pytest.mark.parametrize(
    ("params", "field"),
    [({"w": [1, 2]}, r"params\.w"), ({"w": float("nan")}, r"params\.w"), ({"1w": 3}, "params")],
)
def test_enqueue_refuses_values_no_suggest_call_could_take(params, field):
    study = tk.create_study(sampler="random", seed=0)
    with pytest.raises(ConfigError, match=field):
        study.enqueue(params)
    assert study.trials == []
