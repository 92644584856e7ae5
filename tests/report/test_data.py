"""The plain data objects behind every plot: checked against brute-force answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tansaku as tk
from tansaku import report
from tansaku._records import FrozenTrial, TrialState
from tansaku.report import TrialTable
from tansaku.report._sample import subsample
from tests.report._studies import XSS, mixed_study, synthetic_table


@pytest.fixture(scope="module")
def table() -> TrialTable:
    return report.as_table(mixed_study(60))


# ------------------------------------------------------------------------------ table
def test_table_columns_match_the_trials(table: TrialTable) -> None:
    study = mixed_study(60)
    trials = study.trials
    t = report.as_table(study)
    assert len(t) == len(trials) == 60
    assert t.count(0) == sum(tr.state is TrialState.COMPLETE for tr in trials)
    assert t.count(1) == sum(tr.state is TrialState.PRUNED for tr in trials) > 0
    assert t.count(2) == sum(tr.state is TrialState.FAILED for tr in trials) > 0
    for tr in trials:
        i = tr.number
        assert t.params["lr"][i] == pytest.approx(tr.params["lr"])
        assert t.params["layers"][i] == tr.params["layers"]
        assert t.space["act"].choices[int(t.params["act"][i])] == tr.params["act"]
        assert t.label("act", t.params["act"][i]) == str(tr.params["act"])
    assert any(m.startswith("boom") for m in t.messages.values())
    assert t.sampler == "random"


def test_table_tells_true_from_1_and_tolerates_unknown_values() -> None:
    space = tk.Space({"c": tk.Categorical([1, True, "a"])})
    trials = [
        FrozenTrial(number=0, state=TrialState.COMPLETE, params={"c": True}, value=1.0),
        FrozenTrial(number=1, state=TrialState.COMPLETE, params={"c": 1}, value=2.0),
        FrozenTrial(number=2, state=TrialState.COMPLETE, params={"c": "zzz"}, value=3.0),
        FrozenTrial(number=3, state=TrialState.COMPLETE, params={}, value=4.0),
    ]
    t = TrialTable.from_trials(trials, study="s", direction="minimize", space=space)
    assert t.params["c"][:2].tolist() == [1.0, 0.0]
    assert np.isnan(t.params["c"][2:]).all()


def test_as_table_rejects_other_things() -> None:
    with pytest.raises(tk.ConfigError, match="expected a Study"):
        report.as_table(42)


# ------------------------------------------------------------------------------ history
def _brute_best(keys: list[float], values: list[float], sign: float) -> list[tuple[float, float]]:
    """(key, best) at each improvement, by scanning in key order."""
    out, best = [], math.inf
    for k, v in sorted(zip(keys, values)):
        if sign * v < best:
            best = sign * v
            out.append((k, sign * best))
    return out


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_history_best_so_far_matches_a_scan(direction: str) -> None:
    study = mixed_study(80, direction=direction)
    h = report.history(study)
    sign = 1.0 if direction == "minimize" else -1.0
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    by_number = _brute_best([t.number for t in done], [t.value for t in done], sign)
    last = max(t.number for t in study.trials)
    steps = list(zip(h.best_number.tolist(), h.best_value.tolist()))
    assert steps[: len(by_number)] == [(float(k), v) for k, v in by_number]
    assert steps[-1] == (float(last), by_number[-1][1])  # the step runs to the last trial
    t0 = min(t.start_time for t in study.trials)
    by_time = _brute_best([t.end_time - t0 for t in done], [t.value for t in done], sign)
    assert h.best_time_value.tolist()[: len(by_time)] == [v for _, v in by_time]
    assert h.best_time.tolist()[: len(by_time)] == pytest.approx([k for k, _ in by_time])
    assert h.n_complete == len(done) and h.n_failed > 0 and h.n_pruned > 0
    assert h.failed_number.size == h.n_failed  # failed trials are marked, not dropped
    assert not h.downsampled and h.message is None


def test_history_downsamples_but_keeps_every_improvement(table: TrialTable) -> None:
    h = report.history(table, max_points=10)
    assert h.number.size == 10 and h.downsampled
    improving = set(h.best_number[:-1].astype(int).tolist())
    assert improving <= set(h.number.tolist())


def test_history_of_empty_and_all_failed_studies_says_why() -> None:
    empty = synthetic_table([])
    h = report.history(empty)
    assert h.empty and "no finished trials" in h.message
    failed = synthetic_table([(0, "failed", None, 0.0, 1.0, "w")])
    h = report.history(failed)
    assert h.empty and "no complete trial" in h.message and "1 failed" in h.message


# ------------------------------------------------------------------------------ parallel
def test_parallel_coordinates_lines(table: TrialTable) -> None:
    pc = report.parallel_coordinates(table)
    names = [a.name for a in pc.axes]
    assert names == [*table.space.names, "objective"]
    assert pc.lines.shape == (pc.n_trials, len(names))
    finite = pc.lines[np.isfinite(pc.lines)]
    assert finite.min() >= 0.0 and finite.max() <= 1.0
    complete = pc.state == 0
    # complete lines come worst -> best, so the best trial's line is drawn last (on top)
    vals = pc.value[complete]
    assert np.all(np.diff(vals) <= 0)
    assert np.isnan(pc.lines[pc.state == 2, -1]).all()  # failed: no objective
    act = pc.axes[names.index("act")]
    assert act.labels[:2] == ("relu", "tanh") and act.labels[2] == XSS[:23] + "…"  # shortened
    assert act.ticks == pytest.approx((1 / 6, 0.5, 5 / 6))
    lr = pc.axes[0]
    assert lr.kind == "log" and lr.labels[0] == "1e-05" and lr.labels[-1] == "0.1"


def test_parallel_coordinates_downsample_keeps_the_best(table: TrialTable) -> None:
    pc = report.parallel_coordinates(table, max_lines=20)
    complete = pc.state == 0
    assert complete.sum() == 20
    best = np.nanmin(table.value[table.complete])
    assert best in pc.value[complete]


def test_unknown_param_is_a_config_error(table: TrialTable) -> None:
    for fn in (report.parallel_coordinates, report.slices, report.importance):
        with pytest.raises(tk.ConfigError, match="no parameter 'nope'"):
            fn(table, params=["nope"])


# ------------------------------------------------------------------------------ slices
def test_slices_one_panel_per_param(table: TrialTable) -> None:
    s = report.slices(table)
    assert [p.name for p in s.panels] == list(table.space.names)
    kinds = {p.name: p.kind for p in s.panels}
    assert kinds == {
        "lr": "log",
        "momentum": "float",
        "layers": "int",
        "hidden": "log",
        "act": "categorical",
    }
    act = s.panels[-1]
    assert act.categories == ("relu", "tanh", XSS)
    assert set(act.x.tolist()) <= {0.0, 1.0, 2.0}
    assert act.failed_x.size == table.count(2)
    assert s.panels[0].y.size == s.n_complete == int(table.complete.sum())


# ------------------------------------------------------------------------------ importance
def _importance_study(n: int) -> TrialTable:
    rng = np.random.default_rng(1)
    space = tk.Space(
        {
            "big": tk.Float(0.0, 1.0),
            "cat": tk.Categorical(["a", "b", "c"]),
            "noise": tk.Float(1.0, 100.0, log=True),
            "small": tk.Int(0, 10),
        }
    )
    trials = []
    for i in range(n):
        p = {
            "big": float(rng.random()),
            "cat": str(rng.choice(["a", "b", "c"])),
            "noise": float(10 ** rng.uniform(0, 2)),
            "small": int(rng.integers(0, 11)),
        }
        y = 10 * p["big"] ** 2 + {"a": 0.0, "b": 3.0, "c": 1.5}[p["cat"]] + 0.05 * p["small"]
        trials.append(FrozenTrial(number=i, state=TrialState.COMPLETE, params=p, value=y))
    return TrialTable.from_trials(trials, study="imp", direction="minimize", space=space)


@pytest.mark.parametrize("model", ["numpy", "sklearn"])
def test_importance_ranks_parameters_by_their_effect(model: str) -> None:
    if model == "sklearn":
        pytest.importorskip("sklearn")
    imp = report.importance(_importance_study(400), model=model)
    assert imp.names[:2] == ("big", "cat")
    # first-order shares under the uniform measure, worked out by hand:
    # Var(10 x^2) = 100 (1/5 - 1/9) = 8.889; Var(cat) = 1.5; Var(0.05 k, k in 0..10) = 0.025
    total = 8.889 + 1.5 + 0.025
    f = dict(zip(imp.names, imp.fraction))
    assert f["big"] == pytest.approx(8.889 / total, abs=0.06)
    assert f["cat"] == pytest.approx(1.5 / total, abs=0.04)
    assert f["noise"] < 0.02 and f["small"] < 0.02
    assert sum(imp.importance) == pytest.approx(1.0)
    assert imp.model.startswith("numpy" if model == "numpy" else "scikit-learn")


def test_importance_needs_enough_varied_trials() -> None:
    few = synthetic_table([(i, "complete", float(i), 0.0, 1.0, "w") for i in range(3)])
    assert "at least 8 complete trials" in str(report.importance(few).message)
    flat = synthetic_table([(i, "complete", 1.0, 0.0, 1.0, "w") for i in range(20)])
    assert "same value" in str(report.importance(flat).message)
    with pytest.raises(tk.ConfigError, match="model"):
        report.importance(flat, model="xgboost")


# ------------------------------------------------------------------------------ timeline
def test_timeline_lanes_and_busy_fractions_are_exact() -> None:
    t = synthetic_table(
        [
            # worker A runs two at a time over [0, 10]: lane 1 busy 10 s, lane 2 busy 5 s
            (0, "complete", 1.0, 0.0, 4.0, "A"),
            (1, "complete", 2.0, 0.0, 5.0, "A"),
            (2, "failed", None, 4.0, 10.0, "A"),
            # worker B: one lane, busy 4 of 8 s, joins later; one trial still running
            (3, "pruned", 3.0, 2.0, 4.0, "B"),
            (4, "running", None, 8.0, None, "B"),
            (5, "waiting", None, None, None, None),
        ],
        now=10.0,
    )
    tl = report.timeline(t)
    assert tl.workers == ("A", "B")
    assert tl.worker_lanes.tolist() == [2, 1]
    assert tl.rows == ("A #1", "A #2", "B")
    assert tl.row_busy.tolist() == pytest.approx([1.0, 0.5, 4 / 8])
    assert tl.worker_busy.tolist() == pytest.approx([15 / 20, 4 / 8])
    assert tl.busy == pytest.approx((15 + 4) / (20 + 8))
    assert tl.span == 10.0 and tl.origin == 0.0
    running = tl.bar_state == 3
    assert tl.bar_end[running].tolist() == [10.0]  # a running trial ends "now"
    assert tl.bar_row.size == 5  # the waiting trial has no bar


def test_timeline_rasterizes_bars_without_changing_busy_fractions() -> None:
    rows = [(i, "complete", 1.0, float(i), i + 0.9, "A") for i in range(300)]
    rows.append((300, "failed", None, 300.0, 330.0, "A"))  # a long failure: it fills its pixels
    rows.append((301, "complete", 1.0, 330.0, 331.0, "B"))
    t = synthetic_table(rows)
    exact = report.timeline(t)
    merged = report.timeline(t, max_bars=50)
    assert not exact.merged and exact.bar_row.size == 302
    assert merged.merged and merged.bar_row.size <= 50
    assert merged.row_busy.tolist() == pytest.approx(exact.row_busy.tolist())
    assert merged.state_counts == exact.state_counts == {"complete": 301, "failed": 1}
    # worker A: one long complete stretch (the 0.1 s gaps are below a pixel), then the failure
    a = merged.bar_row == 0
    assert merged.bar_state[a].tolist() == [0, 2]
    assert merged.bar_start[a][0] == 0.0 and merged.bar_end[a][0] == pytest.approx(300, abs=3)
    assert merged.bar_end[a][1] == pytest.approx(330, abs=3)


def test_timeline_pixels_show_the_majority_state() -> None:
    # 90% of the time complete, 10% failed, in short alternating trials: bins show "complete"
    rows = []
    for i in range(2000):
        st = "failed" if i % 10 == 0 else "complete"
        rows.append((i, st, None if st == "failed" else 1.0, float(i), i + 1.0, "A"))
    rows.append((2000, "running", None, 2000.0, None, "A"))
    tl = report.timeline(synthetic_table(rows, now=2001.0), max_bars=100)
    assert tl.merged and tl.bar_row.size <= 100
    assert set(tl.bar_state.tolist()) == {0, 3}
    assert tl.bar_number[tl.bar_state == 3].tolist() == [2000]  # running: kept as it is
    assert tl.state_counts == {"complete": 1800, "failed": 200, "running": 1}


def test_timeline_of_a_study_without_started_trials() -> None:
    tl = report.timeline(synthetic_table([(0, "waiting", None, None, None, None)]))
    assert tl.empty and "no started trials" in tl.message


# ------------------------------------------------------------------------------ top trials
def test_top_trials_are_the_best_complete_ones(table: TrialTable) -> None:
    top = report.top_trials(table, k=5)
    ok = table.complete
    best = np.sort(table.value[ok])[:5]
    assert [float(r[1]) for r in top.rows] == pytest.approx(best.tolist(), rel=1e-5)
    assert top.columns[:5] == ("number", "value", "state", "duration", "worker")
    assert all(r[2] == "complete" for r in top.rows)
    assert top.failures and all("boom" in m for _, m in top.failures)
    assert top.counts["failed"] == table.count(2)


# ------------------------------------------------------------------------------ sampling
def test_subsample_keeps_what_it_must() -> None:
    idx = np.arange(100)
    keep = np.array([3, 50, 99])
    s = subsample(idx, 10, keep=keep)
    assert s.size == 10 and set(keep.tolist()) <= set(s.tolist())
    assert np.all(np.diff(s) > 0)
    assert subsample(idx, 200).size == 100
