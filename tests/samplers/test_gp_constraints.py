"""gp with constraints (issue 18): constrained EI (EI over the best feasible value times the
modelled probability that every constraint holds) learns where a constraint holds."""

from __future__ import annotations

import numpy as np
import pytest

import tansaku as tk
from tansaku.algorithms._feasibility import FeasibilityModel
from tansaku.algorithms._kernel import MaternKernel
from tansaku.algorithms._types import Dim


def _objective(trial: tk.Trial) -> float:
    x, y = trial.params["x"], trial.params["y"]
    trial.set_constraint("x_at_least", 0.6 - x)
    return x + y


@pytest.mark.slow  # 20 gp asks, each fitting two GPs: ~5 s of CPU, more on a loaded machine
def test_gp_learns_a_constraint():
    """Minimise x + y with x >= 0.6: the unconstrained optimum (0, 0) is infeasible.  After the
    start-up design gp proposes at or inside the boundary (constrained EI hugs it: a point a hair
    short of 0.6 is as likely as one a hair past), never back toward (0, 0), and the best
    feasible trial is near (0.6, 0)."""
    study = tk.create_study(
        {"x": tk.Float(0, 1), "y": tk.Float(0, 1)},
        sampler={"name": "gp", "seed": 0, "n_startup_trials": 6, "n_candidates": 256},
    )
    study.optimize(_objective, n_trials=20)
    late = study.trials[6:]
    assert max(t.violation for t in late) < 0.02
    assert study.best_trial.params["x"] >= 0.6 and study.best_value < 0.62


def test_without_a_feasible_trial_gp_moves_toward_feasibility():
    """Every start-up point infeasible (x must be >= 0.97): the acquisition is P(feasible) alone,
    so the next proposals go where the modelled constraint is lowest."""
    study = tk.create_study(
        {"x": tk.Float(0, 1)}, sampler={"name": "gp", "seed": 1, "n_startup_trials": 5}
    )
    for x in (0.1, 0.3, 0.5, 0.7, 0.9):
        study.enqueue({"x": x})

    def objective(trial: tk.Trial) -> float:
        trial.set_constraint("c", 0.97 - trial.params["x"])
        return trial.params["x"]  # the objective alone would pull x down

    study.optimize(objective, n_trials=8)
    assert min(t.params["x"] for t in study.trials[5:]) > 0.9
    assert any(t.satisfies_constraints for t in study.trials[5:])


def test_feasibility_model_probability_and_gradient():
    kernel = MaternKernel([Dim("continuous")])
    model = FeasibilityModel(kernel, seed=0)
    x = np.linspace(0, 1, 12)[:, None]
    model.fit(x, [{"c": 0.5 - float(v)} for v in x[:, 0]], s=12)
    p = np.exp(model.log_pof(np.array([[0.05], [0.95]])))
    assert p[0] < 0.05 and p[1] > 0.95
    q = np.array([[0.45], [0.55]])
    val, grad = model.log_pof_and_grad(q)
    eps = 1e-6
    num = (model.log_pof(q + eps) - model.log_pof(q - eps)) / (2 * eps)
    assert np.allclose(val, model.log_pof(q)) and np.allclose(grad[:, 0], num, rtol=1e-3, atol=1e-5)
    # a constraint with one value everywhere teaches nothing: left out
    model.fit(x, [{"c": 1.0} for _ in x], s=12)
    assert not model.active
