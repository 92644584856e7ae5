from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tansaku as tk
from tansaku.samplers import make_sampler
from tansaku.testing import functions as F
from tests.samplers._bo_helpers import MIXED_SPACE, branin_study, mixed_objective, params_of


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"n_startup_trials": 0}, "sampler.n_startup_trials"),
        ({"n_startup_trials": "ten"}, "sampler.n_startup_trials"),
        ({"n_fantasies": -1}, "sampler.n_fantasies"),
        ({"n_candidates": 2.5}, "sampler.n_candidates"),
        ({"transform": "log"}, "sampler.transform"),
        ({"consider_pending": "yes"}, "sampler.consider_pending"),
        ({"bandwidth": 3}, "sampler.bandwidth"),
    ],
)
def test_bad_options_raise_config_error_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(tk.ConfigError) as err:
        make_sampler({"name": "gp", **options})
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_registry_builds_it_with_yaml_style_options() -> None:
    s = make_sampler({"name": "gp", "seed": 3, "n_startup_trials": 4, "n_fantasies": 0})
    assert type(s).__name__ == "GPSampler" and s.seed == 3
    assert s.describe()["n_fantasies"] == 0


def test_mixed_space_params_are_valid_and_the_model_finds_the_best_category() -> None:
    space = tk.Space(MIXED_SPACE)
    study = tk.create_study(space, sampler={"name": "gp", "seed": 0, "n_startup_trials": 8})
    study.optimize(mixed_objective, n_trials=30)
    for p in params_of(study):
        assert space.validate_params(p) == p
    late = [p["act"] for p in params_of(study)[-8:]]
    assert late.count("tanh") >= 5
    assert study.best_value < 1.0


@pytest.mark.slow
def test_gp_study_beats_random_on_branin() -> None:
    gp = [branin_study({"name": "gp", "seed": s, "n_startup_trials": 8}, 25).best_value for s in (0, 1)]
    rnd = [branin_study({"name": "random", "seed": s}, 25).best_value for s in (0, 1, 2, 3)]
    assert np.mean(gp) < np.mean(rnd)
    assert max(gp) - F.branin.optimum < 0.2


def test_maximize_direction() -> None:
    study = tk.create_study(F.branin.space(), sampler={"name": "gp", "seed": 1, "n_startup_trials": 8},
                            direction="maximize")
    study.optimize(lambda t: -F.branin.objective()(t), n_trials=25)
    assert study.best_value > -F.branin.optimum - 0.2


def test_same_seed_same_sequence() -> None:
    a = params_of(branin_study({"name": "gp", "seed": 5, "n_startup_trials": 5}, 10))
    b = params_of(branin_study({"name": "gp", "seed": 5, "n_startup_trials": 5}, 10))
    c = params_of(branin_study({"name": "gp", "seed": 6, "n_startup_trials": 5}, 10))
    assert a == b and a != c


def test_resume_from_storage_continues_exactly(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'gp.db'}"
    spec = {"name": "gp", "seed": 2, "n_startup_trials": 5}
    whole = params_of(branin_study(spec, 13))
    first = tk.create_study(F.branin.space(), sampler=spec, storage=url, name="s")
    first.optimize(F.branin.objective(), n_trials=12)
    resumed = tk.create_study(F.branin.space(), sampler=dict(spec), storage=url, name="s",
                              load_if_exists=True)
    resumed.optimize(F.branin.objective(), n_trials=1)
    assert params_of(resumed) == whole


def test_pending_trials_spread_parallel_proposals() -> None:
    def batch(consider_pending: bool) -> np.ndarray:
        study = tk.create_study(F.branin.space(), sampler={
            "name": "gp", "seed": 0, "n_startup_trials": 8, "consider_pending": consider_pending})
        study.optimize(F.branin.objective(), n_trials=12)
        trials = [study.ask() for _ in range(4)]  # four workers busy at once
        return np.array([[t.params["x0"], t.params["x1"]] for t in trials])

    spread = batch(True)
    dist = np.sqrt(((spread[:, None] - spread[None]) ** 2).sum(-1))[np.triu_indices(4, 1)]
    assert dist.min() > 0.1  # natural units: a 15 x 15 box
    same = batch(False)
    assert np.allclose(same, same[0])  # ignoring pending trials: all four workers get one point


def test_failed_trials_are_tolerated_and_avoided() -> None:
    def objective(trial: Any) -> float:
        if trial.params["x0"] > 5.0:
            raise RuntimeError("simulated crash")
        return F.branin.objective()(trial)

    study = tk.create_study(F.branin.space(), sampler={"name": "gp", "seed": 0, "n_startup_trials": 6})
    study.optimize(objective, n_trials=20, max_failures=None)
    states = [t.state for t in study.trials]
    assert tk.TrialState.FAILED in states
    late = study.trials[-8:]
    assert sum(t.state is tk.TrialState.FAILED for t in late) <= 2
    assert study.best_value - F.branin.optimum < 0.5
