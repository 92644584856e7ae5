"""Issue 19.4: learning curves (pruned trials marked, the pruner's cut-off), contours over
parameter pairs and the ECDF of the values — the plain data, checked against hand-computed
numbers, and their figures."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import tansaku as tk
from tansaku import report
from tansaku._errors import ConfigError


def _curved_study(
    pruner: object, direction: str = "minimize", storage: str | None = None
) -> tk.Study:
    """Trials 0-2 complete with curves a + 1/step (a = 1, 2, 3; steps 1..5); trial 3 reports
    a = 10 and stops when the study's pruner says so."""
    sign = 1.0 if direction == "minimize" else -1.0
    study = tk.create_study(
        {"x": tk.Float(0.0, 1.0), "y": tk.Float(1e-3, 1.0, log=True)},
        sampler="random",
        seed=0,
        pruner=pruner,
        direction=direction,
        name="curves",
        storage=storage,
    )
    for a in (1.0, 2.0, 3.0, 10.0):
        trial = study.ask()
        pruned = False
        for step in range(1, 6):
            trial.report(sign * (a + 1.0 / step), step)
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state="pruned")
        else:
            study.tell(trial, sign * (a + 1.0 / 5))
    return study


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_learning_curves_show_the_median_pruners_cutoff(direction: str) -> None:
    sign = 1.0 if direction == "minimize" else -1.0
    study = _curved_study({"name": "median", "n_startup_trials": 3}, direction)
    lc = report.learning_curves(study)
    assert [c.number for c in lc.curves] == [0, 1, 2, 3]
    assert [c.state for c in lc.curves] == ["complete"] * 3 + ["pruned"]
    pruned = lc.curves[3]
    assert pruned.step.tolist() == [1.0]  # it stopped at its first report
    assert "median" in lc.cutoff_label
    steps = np.arange(1, 6, dtype=float)
    assert lc.cutoff_step.tolist() == steps.tolist()
    np.testing.assert_allclose(lc.cutoff_value, sign * (2.0 + 1.0 / steps))  # median of 1, 2, 3
    # the line shown is the rule the pruner applied: the pruned trial is past it where it stopped
    assert sign * pruned.value[-1] > sign * lc.cutoff_value[0]
    assert not lc.downsampled and lc.n_with_reports == 4


def test_learning_curves_show_the_asha_rungs() -> None:
    asha = {"name": "asha", "min_resource": 1, "reduction_factor": 3, "min_trials": 4}
    study = _curved_study(asha)
    lc = report.learning_curves(study)
    assert [c.state for c in lc.curves] == ["complete"] * 3 + ["pruned"]
    # rung 0 (step 1) holds 4 values and keeps its best max(1, 4 // 3): 1 + 1/1; rung 1 (step 3)
    # holds 3 < min_trials values, so it cuts nothing yet and is not drawn
    assert lc.cutoff_step.tolist() == [1.0]
    np.testing.assert_allclose(lc.cutoff_value, [2.0])
    assert lc.curves[3].value[-1] > lc.cutoff_value[0]
    assert "asha" in lc.cutoff_label
    # another pruner's cut-off may be asked for; hyperband's rungs differ per bracket: none
    other = report.learning_curves(study, pruner="hyperband")
    assert other.cutoff_label == "" and other.cutoff_step.size == 0
    none = report.learning_curves(tk.create_study({"x": tk.Float(0, 1)}, name="plain"))
    assert none.empty and "no reported values" in str(none.message)


def test_learning_curves_read_from_storage(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/c.db"  # type: ignore[str-bytes-safe]
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="s", sampler="random")
    for i in range(3):
        t = study.ask()
        for step in range(4):
            t.report(float(i + step), step)
        study.tell(t, float(i))
    table = report.TrialTable.load(study.storage, "s")
    assert {n: dict(c) for n, c in table.intermediate.items()} == {
        i: {s: float(i + s) for s in range(4)} for i in range(3)
    }
    lc = report.learning_curves((url, "s"))
    assert [c.value.tolist() for c in lc.curves] == [[i + s for s in range(4)] for i in range(3)]
    assert lc.cutoff_step.size == 0  # a storage alone does not know the pruner


def test_contour_fits_the_objective_over_the_important_pair() -> None:
    space = {
        "a": tk.Float(0.0, 1.0),
        "b": tk.Float(1e-3, 1.0, log=True),
        "noise": tk.Float(0.0, 1.0),
        "c": tk.Categorical(["u", "v"]),
    }
    study = tk.create_study(space, sampler="random", seed=3, name="contour")
    for _ in range(80):
        t = study.ask()
        p = t.params
        study.tell(t, 10 * p["a"] + 3 * math.log10(p["b"]) + 0.01 * p["noise"])
    c = report.contour(report.as_table(study))
    assert len(c.pairs) == 3  # the pairs of the three most important numeric parameters
    pair = c.pairs[0]
    assert {pair.x_name, pair.y_name} == {"a", "b"}  # the two that matter, not noise/categorical
    z = pair.z if pair.x_name == "a" else pair.z.T
    mid = z.shape[0] // 2
    assert z[mid, 32] - z[mid, 6] > 4  # grows with a, as the objective does
    log_axis = pair.grid_y if pair.y_name == "b" else pair.grid_x
    assert log_axis[0] == pytest.approx(1e-3) and log_axis[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log(log_axis)), np.log(log_axis[1] / log_axis[0]))
    assert len(pair.number) == 80
    with pytest.raises(ConfigError, match="'c' is categorical"):
        report.contour(study, params=["a", "c"])
    few = tk.create_study(space, sampler="random", name="few")
    few.tell(few.ask(), 1.0)
    assert report.contour(few).empty


def test_ecdf_is_the_share_at_or_below_each_value() -> None:
    study = tk.create_study({"x": tk.Float(0, 1)}, name="e", sampler="random")
    for v in (3.0, 1.0, 2.0, 2.0):
        study.tell(study.ask(), v)
    study.tell(study.ask(), state="failed", message="no")  # not a value
    e = report.ecdf(study)
    assert e.value.tolist() == [1.0, 2.0, 2.0, 3.0]
    assert e.fraction.tolist() == [0.25, 0.5, 0.75, 1.0]
    thin = report.ecdf(study, max_points=2)
    assert thin.value.tolist() == [1.0, 3.0] and thin.fraction.tolist() == [0.25, 1.0]
    assert report.ecdf(tk.create_study({"x": tk.Float(0, 1)}, name="z")).empty


def test_figures_mark_pruned_trials_and_the_cutoff() -> None:
    pytest.importorskip("matplotlib")
    study = _curved_study({"name": "median", "n_startup_trials": 3})
    fig = tk.plot.learning_curves(study)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert "pruned" in labels and "best (trial 0)" in labels
    assert any(s.startswith("cut-off: median") for s in labels)
    ax = fig.axes[0]
    cut = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(cut) == 1
    for name in ("contour", "ecdf"):
        assert getattr(tk.plot, name)(study).axes


def test_report_says_whose_cutoff_it_draws(tmp_path: Path) -> None:
    """``tansaku report CONFIG`` draws the cut-off of the pruner the config names (a storage
    alone does not keep it), and the page says which, or why there is none."""
    from tansaku.cli._main import main
    from tansaku.report._html import build_report, render_html

    pytest.importorskip("matplotlib")
    db = tmp_path / "c.db"
    study = _curved_study({"name": "median", "n_startup_trials": 3}, storage=f"sqlite:///{db}")
    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        f"name: curves\nstorage: sqlite:///{db}\ncommand: [echo]\n"
        "space: {x: {type: float, low: 0, high: 1}}\n"
        "pruner: {name: median, n_startup_trials: 3}\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "report",
                str(cfg),
                "--out",
                str(tmp_path / "r"),
                "--dpi",
                "30",
                "--importance-model",
                "numpy",
            ]
        )
        == 0
    )
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "the pruner&#x27;s cut-off, median of the complete trials (median pruner)" in page
    assert (tmp_path / "r" / "learning_curves.png").exists()
    fake = {"learning_curves": b"png"}  # render_html only inlines the bytes: no drawing needed
    stored = render_html(build_report(report.as_table(study), importance_model="numpy"), fake)
    assert "cut-off, median" in stored  # the storage keeps the pruner the run used
    unrecorded = dataclasses.replace(report.as_table(study), pruners=())  # an older study
    bare = render_html(build_report(unrecorded, importance_model="numpy"), fake)
    assert "No cut-off line: the pruner is unknown" in bare
    own = render_html(build_report(study, importance_model="numpy"), fake)
    assert "cut-off, median" in own


def test_a_stored_study_keeps_its_pruners_for_read_only_views(tmp_path: Path) -> None:
    """Issue 19 leftover: the storage keeps which pruner a run used, so a report of the stored
    study (no Study object, no ``pruner=``; the dashboard's case) draws the cut-off the Study's
    own report draws; runs with other pruners are recorded too, the latest one is drawn and
    the note names them all."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    median = {"name": "median", "n_startup_trials": 3}
    study = _curved_study(median, storage=url)  # ask/tell: recorded at the first report
    own = report.learning_curves(study)
    stored = report.learning_curves((url, "curves"))
    assert stored.cutoff_label == own.cutoff_label != ""
    assert stored.cutoff_step.tolist() == own.cutoff_step.tolist()
    np.testing.assert_allclose(stored.cutoff_value, own.cutoff_value)
    assert stored.note == own.note and stored.note.startswith("Dashed line")
    info = study.storage.get_study("curves")
    assert [dict(p) for p in info.pruners] == [tk.pruners.make_pruner(median).describe()]

    def objective(trial: tk.Trial) -> float:
        for step in range(1, 6):
            trial.report(5.0 + 1.0 / step, step)
        return 5.2

    asha = {"name": "asha", "min_resource": 1, "reduction_factor": 3, "min_trials": 4}
    worker = tk.load_study("curves", storage=url, pruner=asha)
    worker.optimize(objective, n_trials=1)  # another worker, another pruner
    lc = report.learning_curves((url, "curves"))
    assert "asha" in lc.cutoff_label
    assert lc.cutoff_label == report.learning_curves(worker).cutoff_label
    assert "2 pruners (median, asha, the latest last); shown: asha" in lc.note
    # a run again with the first pruner moves it last (each description is kept once)
    tk.load_study("curves", storage=url, pruner=median).optimize(objective, n_trials=1)
    names = [p["name"] for p in study.storage.get_study("curves").pruners]
    assert names == ["asha", "median"]
    assert "median" in report.learning_curves((url, "curves")).cutoff_label
    # hyperband draws no line, and the note says why
    tk.load_study("curves", storage=url, pruner="hyperband").optimize(objective, n_trials=1)
    hb = report.learning_curves((url, "curves"))
    assert hb.cutoff_step.size == 0 and "hyperband's rungs differ per bracket" in hb.note
