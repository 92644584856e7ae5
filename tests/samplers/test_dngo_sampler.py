from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tansaku as tk
from tansaku.samplers import make_sampler
from tansaku.testing import functions as F
from tests.samplers._bo_helpers import MIXED_SPACE, branin_study, mixed_objective, params_of

FAST = {"name": "dngo", "n_candidates": 512}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"n_startup_trials": 1}, "sampler.n_startup_trials"),
        ({"finetune_epochs": -3}, "sampler.finetune_epochs"),
        ({"scratch_epochs": 0}, "sampler.scratch_epochs"),
        ({"n_fantasies": True}, "sampler.n_fantasies"),
        ({"random_features": -1}, "sampler.random_features"),
        ({"weight_decays": []}, "sampler.weight_decays"),
        ({"weight_decays": "1e-4"}, "sampler.weight_decays"),
        ({"weight_decays": [1e-4, -1.0]}, "sampler.weight_decays"),
        ({"weight_decays": [float("nan")]}, "sampler.weight_decays"),
        ({"hidden": [10, 10]}, "sampler.hidden"),
    ],
)
def test_bad_options_raise_config_error_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(tk.ConfigError) as err:
        make_sampler({"name": "dngo", **options})
    assert err.value.field == field


def test_mixed_space_params_are_valid() -> None:
    space = tk.Space(MIXED_SPACE)
    study = tk.create_study(space, sampler={**FAST, "seed": 0, "n_startup_trials": 6})
    study.optimize(mixed_objective, n_trials=14)
    for p in params_of(study):
        assert space.validate_params(p) == p


@pytest.mark.slow
def test_dngo_study_beats_random_on_branin() -> None:
    dngo = [branin_study({**FAST, "seed": s}, 30).best_value for s in range(3)]
    rnd = [branin_study({"name": "random", "seed": s}, 30).best_value for s in range(8)]
    assert np.median(dngo) - F.branin.optimum < 0.5 * (np.median(rnd) - F.branin.optimum)


def test_same_seed_same_sequence_and_resume_continues_exactly(tmp_path: Any) -> None:
    spec = {**FAST, "seed": 4, "n_startup_trials": 5}
    a = params_of(branin_study(dict(spec), 9))
    assert a == params_of(branin_study(dict(spec), 9))
    assert a != params_of(branin_study({**spec, "seed": 5}, 9))
    url = f"sqlite:///{tmp_path / 'dngo.db'}"
    first = tk.create_study(F.branin.space(), sampler=dict(spec), storage=url, name="s")
    first.optimize(F.branin.objective(), n_trials=8)
    resumed = tk.create_study(F.branin.space(), sampler=dict(spec), storage=url, name="s",
                              load_if_exists=True)
    resumed.optimize(F.branin.objective(), n_trials=1)
    assert params_of(resumed) == a


def test_pending_trials_spread_parallel_proposals() -> None:
    study = tk.create_study(F.branin.space(), sampler={**FAST, "seed": 0, "n_startup_trials": 8})
    study.optimize(F.branin.objective(), n_trials=12)
    trials = [study.ask() for _ in range(4)]
    pts = np.array([[t.params["x0"], t.params["x1"]] for t in trials])
    dist = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))[np.triu_indices(4, 1)]
    assert dist.min() > 1e-3


def test_sampler_learns_to_avoid_a_crashing_region() -> None:
    """Crashes for x0 > 2.5 (natural units), where two of Branin's three minima lie."""

    def objective(trial: Any) -> float:
        if trial.params["x0"] > 2.5:
            raise RuntimeError("simulated crash")
        return F.branin.objective()(trial)

    study = tk.create_study(F.branin.space(), sampler={**FAST, "seed": 1, "n_startup_trials": 8})
    study.optimize(objective, n_trials=22, max_failures=None)
    late = study.trials[-10:]
    assert sum(t.state is tk.TrialState.FAILED for t in late) <= 3  # random search: ~5 of 10
    assert np.isfinite(study.best_value)
