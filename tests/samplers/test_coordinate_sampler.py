from __future__ import annotations

import pytest

import tansaku as tk
from tansaku.samplers import make_sampler
from tansaku.samplers._coordinate import CoordinateSampler
from tansaku.testing import functions as F
from tansaku.testing.simulate import SimulatedStudy
from tests.samplers._trajectory_helpers import (
    MIXED,
    decodes_consistently,
    mixed_objective,
    run_whole_and_resumed,
)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"step": 0}, "sampler.step"), ({"step": 0.1, "xtol": 0.2}, "sampler.xtol"),
     ({"init": "corner"}, "sampler.init"), ({"horizon": 0}, "sampler.horizon")],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(tk.ConfigError) as e:
        make_sampler({"name": "coordinate", **options})
    assert e.value.field == field


def test_mixed_space_and_first_point_is_the_centre():
    study = SimulatedStudy(MIXED, mixed_objective)
    study.attach(CoordinateSampler(seed=0))
    study.run(100)
    decodes_consistently(study)
    first = study.trials[0].params
    assert first["x"] == 0.0 and first["act"] == "tanh"  # centre of every axis
    assert study.best_value < 1.0


def test_resume_by_replay_sequential_and_parallel():
    for k in (1, 3):
        whole, resumed = run_whole_and_resumed(lambda: CoordinateSampler(seed=4, n_simulations=8),
                                               n_total=36, crash_after=14, n_workers=k)
        assert whole == resumed, k


def _sphere(trial) -> float:
    return F.sphere(2)([trial.params["x0"], trial.params["x1"]])


def test_study_optimize_with_coordinate_search():
    study = tk.create_study(F.sphere(2).space(), sampler={"name": "coordinate", "seed": 0})
    study.optimize(_sphere, n_trials=60)
    assert study.best_value < 1e-3
