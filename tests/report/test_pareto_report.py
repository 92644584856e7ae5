"""The report of a multi-objective study: Pareto scatter and hypervolume (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest

import tansaku as tk
from tansaku.report._pareto import pareto


def _study():
    study = tk.create_study(
        {"x": tk.Float(0, 1)},
        directions=["minimize", "maximize"],
        objective_names=["cost", "gain"],
        sampler="random",
    )
    for x, cons in ((0.5, -1), (0.2, -1), (0.2, -1), (0.9, 1.0), (0.1, -1), (0.6, -1)):
        t = study.ask()
        t.set_constraint("c", cons)
        # gain = x: cheap and high gain conflict; (0.6, 0.6) dominates (0.5, 0.5)? no: cost up
        study.tell(t, (x, x if x != 0.6 else 0.4))
    return study


def test_pareto_data_marks_front_infeasible_and_grows_hypervolume():
    study = _study()
    data = pareto(study.trials, study.directions, study.objective_names, study="s")
    assert data.names == ("cost", "gain")
    assert data.feasible.tolist() == [True, True, True, False, True, True]
    # (0.6, 0.4) is dominated by (0.5, 0.5); the infeasible (0.9, 0.9) is not on the front
    assert data.on_front.tolist() == [True, True, True, False, True, False]
    assert np.all(np.diff(data.hypervolume) >= 0) and data.hypervolume[-1] > 0


def test_pareto_and_hypervolume_figures_render():
    pytest.importorskip("matplotlib")
    from tansaku.plot._render import render_hypervolume, render_pareto
    from tansaku.report._html import PLOTS

    data = pareto(_study().trials, ("minimize", "maximize"), ("cost", "gain"), study="s")
    fig = render_pareto(data)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["dominated (1)", "infeasible (1)", "Pareto front (4)"]
    assert render_hypervolume(data).axes[0].get_xlabel() == "trial number"
    assert {"pareto", "hypervolume"} <= {stem for stem, _ in PLOTS}
