"""Warm start (issue 17.4): ``study.add_trial(s)`` — checked all-or-nothing, marked, counted toward
no budget unless asked, and learnt from by the samplers (told in order; trajectory samplers start
from the best imported points)."""

from __future__ import annotations

import numpy as np
import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState
from tansaku.samplers._base import Sampler

SPACE = {"x": tk.Float(0.0, 1.0), "y": tk.Float(0.0, 1.0), "act": tk.Categorical(["relu", "tanh"])}


def _f(p):
    return (p["x"] - 0.8) ** 2 + (p["y"] - 0.7) ** 2 + (0.0 if p["act"] == "tanh" else 0.1)


def _records(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p = {
            "x": float(rng.random()),
            "y": float(rng.random()),
            "act": ["relu", "tanh"][int(rng.integers(2))],
        }
        out.append({"params": p, "value": _f(p)})
    return out


@pytest.fixture(params=["memory", "sqlite"])
def url(request, tmp_path):
    return None if request.param == "memory" else f"sqlite:///{tmp_path / 'w.db'}"


def test_add_trial_keeps_everything_and_marks_it(url):
    study = tk.create_study(SPACE, storage=url, name="w")
    t = study.add_trial(
        {"x": 0.5, "y": 0.5, "act": "relu"},
        0.3,
        user_attrs={"fold": 2},
        start_time=10.0,
        end_time=70.0,
    )
    assert (t.number, t.state, t.value, dict(t.user_attrs)) == (
        0,
        TrialState.COMPLETE,
        0.3,
        {"fold": 2},
    )
    assert t.system_attrs["imported"] == {"source": "add_trial"} and t.duration == 60.0
    p = study.add_trial(
        {"x": 0.1, "y": 0.1, "act": "tanh"}, state="pruned", intermediate={1: 0.9, 3: 0.7}
    )
    assert p.state is TrialState.PRUNED and p.value == 0.7  # the last intermediate value
    f = study.add_trial({"x": 0.2, "y": 0.2, "act": "tanh"}, state="failed", message="OOM")
    assert f.state is TrialState.FAILED and f.value is None and f.message == "OOM"
    nan = study.add_trial({"x": 0.2, "y": 0.3, "act": "tanh"}, float("nan"))
    assert nan.state is TrialState.FAILED  # as tell() records a nan
    stored = study.get_trials(with_intermediate=True)
    assert stored[1].intermediate == {1: 0.9, 3: 0.7}
    assert study.best_value == 0.3 and study.uncounted_trials == 2


def test_a_bad_record_stores_nothing_and_names_itself(url):
    study = tk.create_study(SPACE, storage=url, name="w")
    good = _records(5)
    cases = [
        (
            {"params": {"x": 2.0, "y": 0.1, "act": "relu"}, "value": 1.0},
            "trials[5].params.x: expected a value in [0, 1], got 2",
        ),
        ({"params": {"x": 0.2, "y": 0.1, "act": "gelu"}, "value": 1.0}, "trials[5].params.act"),
        ({"params": {"x": 0.2, "act": "relu"}, "value": 1.0}, "missing parameter(s): y"),
        (
            {"params": {"x": 0.2, "y": 0.1, "z": 1, "act": "relu"}, "value": 1.0},
            "unknown parameter(s): z",
        ),
        (
            {"params": {"x": 0.2, "y": 0.1, "act": "relu"}},
            "trials[5].value: a complete trial needs a value",
        ),
        ({"params": {"x": 0.2, "y": 0.1, "act": "relu"}, "value": "abc"}, "trials[5].value"),
        (
            {"params": {"x": 0.2, "y": 0.1, "act": "relu"}, "value": 1, "state": "running"},
            "trials[5].state",
        ),
        ({"params": {"x": 0.2, "y": 0.1, "act": "relu"}, "valeu": 1}, "unknown key(s) valeu"),
    ]
    for bad, message in cases:
        with pytest.raises(ConfigError) as e:
            study.add_trials([*good, bad, *good])
        assert message in str(e.value) and "\n" not in str(e.value)
        assert study.counts().total == 0  # nothing stored
    added = study.add_trials([*good, cases[0][0], *good], skip_invalid=True)
    assert len(added) == 10 and study.counts().complete == 10


def test_imported_trials_count_toward_no_budget_unless_asked(tmp_path):
    study = tk.create_study(
        SPACE, storage=f"sqlite:///{tmp_path / 'b.db'}", name="b", sampler="random"
    )
    study.add_trials(_records(6))
    study.optimize(lambda t: _f(t.params), total_trials=4)  # the study's own 4, plus the 6
    assert study.counts().complete == 10
    study.optimize(lambda t: _f(t.params), n_trials=2)
    assert study.counts().complete == 12
    counted = tk.create_study(SPACE, name="c", sampler="random")
    counted.add_trials(_records(6), count=True)
    counted.optimize(lambda t: _f(t.params), total_trials=8)
    assert counted.counts().complete == 8 and counted.uncounted_trials == 0


class _Recorder(Sampler):
    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.told: list[int] = []

    def tell(self, trial):
        self.told.append(trial.number)

    def ask(self, pending):
        return {"x": 0.5, "y": 0.5, "act": "relu"}


def test_the_sampler_is_told_imported_trials_in_order_before_its_next_proposal():
    rec = _Recorder()
    study = tk.create_study(SPACE, sampler=rec, name="r")
    study.add_trials(_records(3))
    study.add_trial({"x": 0.1, "y": 0.1, "act": "relu"}, state="failed")
    study.ask()
    assert rec.told == [0, 1, 2, 3]


def test_nelder_mead_starts_its_simplex_from_the_best_imported_points():
    study = tk.create_study(SPACE, sampler={"name": "nelder-mead", "seed": 0}, name="nm")
    records = _records(12, seed=1)
    study.add_trials(records)
    first = study.ask()
    meta = study.trials[-1].sampler_meta
    best3 = sorted(records, key=lambda r: r["value"])[
        :3
    ]  # 2 continuous + 1 categorical dims: 4 vertices
    x0 = [tuple(np.round(u, 9)) for u in meta["x0"]]
    for r in best3:
        u = study.space.to_unit(r["params"])
        assert tuple(np.round(u, 9)) in x0
    # the imported vertices need no evaluation: its first point is a step of the search itself
    assert meta["role"] != "init", meta
    assert first.params not in [r["params"] for r in records]


def test_tpe_proposes_near_the_good_imported_region():
    def mean_distance(study):
        props = []
        for _ in range(8):
            t = study.ask()
            props.append(t.params)
            study.tell(t, _f(t.params))
        return float(np.mean([abs(p["x"] - 0.8) + abs(p["y"] - 0.7) for p in props]))

    warm = tk.create_study(SPACE, sampler={"name": "tpe", "seed": 3}, name="warm")
    warm.add_trials(_records(30, seed=2))
    cold = tk.create_study(SPACE, sampler={"name": "tpe", "seed": 3}, name="cold")
    assert mean_distance(warm) < 0.6 * mean_distance(cold)
