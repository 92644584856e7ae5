"""The storage conformance suite: every storage runs these same checks.

A test module provides a ``storage`` fixture (a fresh, empty BaseStorage) and does
``from tests.storage.conformance import *``.
"""

from __future__ import annotations

import math

import pytest

import tansaku as tk
from tansaku import DuplicatedStudyError, StudyNotFoundError, TrialState
from tansaku.storage import BaseStorage

SPACE = tk.Space(x=tk.Float(0, 1), n=tk.Int(1, 8), c=tk.Categorical(["a", "b"]))
P = {"x": 0.5, "n": 3, "c": "a"}


def _study(storage: BaseStorage, name: str = "s", direction: str = "minimize") -> int:
    return storage.create_study(
        name, space=SPACE, direction=direction, sampler={"name": "random"}
    ).study_id


def test_create_get_list_delete(storage):
    sid = _study(storage)
    info = storage.get_study("s")
    assert info.study_id == sid and info.space == SPACE and info.direction == "minimize"
    assert info.sampler == {"name": "random"}
    with pytest.raises(DuplicatedStudyError):
        _study(storage)
    _study(storage, "t", "maximize")
    assert [i.name for i in storage.list_studies()] == ["s", "t"]
    storage.delete_study("s")
    with pytest.raises(StudyNotFoundError):
        storage.get_study("s")
    with pytest.raises(StudyNotFoundError):
        storage.delete_study("s")


def test_study_attrs_merge(storage):
    sid = _study(storage)
    storage.set_study_system_attrs(sid, {"a": 1})
    storage.set_study_system_attrs(sid, {"b": [1, 2]})
    storage.set_study_user_attrs(sid, {"u": "v"})
    info = storage.get_study("s")
    assert info.system_attrs == {"a": 1, "b": [1, 2]} and info.user_attrs == {"u": "v"}


def test_trial_lifecycle_and_counters(storage):
    sid = _study(storage)
    t = storage.start_trial(sid, P, worker="w1", system_attrs={"sampler": {"k": 1}})
    assert t.number == 0 and t.state is TrialState.RUNNING and t.worker == "w1"
    assert storage.counts(sid).running == 1
    assert (
        storage.finish_trial(t.trial_id, worker="w2", state=TrialState.COMPLETE, value=1.0) is None
    )
    done = storage.finish_trial(
        t.trial_id,
        worker="w1",
        state=TrialState.COMPLETE,
        value=0.25,
        system_attrs={"returncode": 0},
    )
    assert done.state is TrialState.COMPLETE and done.value == 0.25
    assert done.system_attrs == {"sampler": {"k": 1}, "returncode": 0}
    assert done.params == P and done.duration is not None and done.duration >= 0
    assert done.sampler_meta == {"k": 1}
    # a finished trial cannot be finished again
    assert storage.finish_trial(t.trial_id, worker="w1", state=TrialState.FAILED) is None
    t2 = storage.start_trial(sid, P, worker="w1")
    storage.finish_trial(
        t2.trial_id, worker="w1", state=TrialState.FAILED, message="boom", stderr="tail"
    )
    t3 = storage.start_trial(sid, P, worker="w1")
    storage.finish_trial(t3.trial_id, worker=None, state=TrialState.PRUNED, value=0.9)
    c = storage.counts(sid)
    assert (c.complete, c.failed, c.pruned, c.running, c.waiting) == (1, 1, 1, 0, 0)
    assert c.done == 2 and c.total == 3
    failed = storage.get_trial(t2.trial_id)
    assert failed.message == "boom" and failed.stderr == "tail"


def test_budget_limit_is_enforced(storage):
    sid = _study(storage)
    a = storage.start_trial(sid, P, worker="w", limit=2)
    b = storage.start_trial(sid, P, worker="w", limit=2)
    assert a is not None and b is not None
    assert storage.start_trial(sid, P, worker="w", limit=2) is None
    storage.finish_trial(
        a.trial_id, worker="w", state=TrialState.FAILED
    )  # failures free the budget
    c = storage.start_trial(sid, P, worker="w", limit=2)
    assert c is not None and c.number == 2
    storage.finish_trial(b.trial_id, worker="w", state=TrialState.COMPLETE, value=1.0)
    assert storage.start_trial(sid, P, worker="w", limit=2) is None


def test_enqueue_and_claim(storage):
    sid = _study(storage)
    q1 = storage.enqueue_trial(sid, P)
    q2 = storage.enqueue_trial(sid, {**P, "x": 0.1})
    assert q1.state is TrialState.WAITING and (q1.number, q2.number) == (0, 1)
    assert storage.counts(sid).waiting == 2
    got = storage.claim_waiting(sid, worker="w")
    assert got.number == 0 and got.state is TrialState.RUNNING and got.worker == "w"
    assert storage.claim_waiting(sid, worker="w", limit=1) is None  # budget: 1 running already
    got2 = storage.claim_waiting(sid, worker="w")
    assert got2.number == 1
    assert storage.claim_waiting(sid, worker="w") is None
    assert storage.counts(sid).waiting == 0 and storage.counts(sid).running == 2


def test_release_keeps_number_and_params(storage):
    sid = _study(storage)
    t = storage.start_trial(sid, P, worker="w")
    storage.report(t.trial_id, 3, 0.5)  # the next attempt reports afresh: stale steps are dropped
    assert not storage.release_trial(t.trial_id, worker="other")
    assert storage.release_trial(t.trial_id, worker="w")
    assert storage.counts(sid).waiting == 1
    again = storage.claim_waiting(sid, worker="w2")
    assert again.number == t.number and again.params == P and again.worker == "w2"
    assert again.last_step is None and storage.intermediate_values(sid) == {}


def test_finished_since_is_incremental_and_ordered(storage):
    sid = _study(storage)
    ts = [storage.start_trial(sid, P, worker="w") for _ in range(4)]
    for i in (2, 0, 3):
        storage.finish_trial(ts[i].trial_id, worker="w", state=TrialState.COMPLETE, value=float(i))
    new, seq = storage.finished_since(sid, 0)
    assert [t.number for t in new] == [2, 0, 3]
    storage.finish_trial(ts[1].trial_id, worker="w", state=TrialState.FAILED)
    new2, seq2 = storage.finished_since(sid, seq)
    assert [t.number for t in new2] == [1] and seq2 > seq
    assert storage.finished_since(sid, seq2) == ([], seq2)
    assert [t.number for t in storage.get_trials(sid, order="finish")] == [2, 0, 3, 1]


def test_pending_and_get_trials(storage):
    sid = _study(storage)
    a = storage.start_trial(sid, P, worker="w")
    storage.enqueue_trial(sid, P)
    c = storage.start_trial(sid, P, worker="w")
    storage.finish_trial(c.trial_id, worker="w", state=TrialState.COMPLETE, value=1.0)
    assert [t.number for t in storage.pending_trials(sid)] == [0, 1]
    assert [t.number for t in storage.get_trials(sid)] == [0, 1, 2]
    assert [t.number for t in storage.get_trials(sid, states=[TrialState.COMPLETE])] == [2]
    assert [t.number for t in storage.get_trials(sid, limit=2, offset=1)] == [1, 2]
    assert storage.get_trial_by_number(sid, 0).trial_id == a.trial_id


def test_trials_from_reads_by_number_of_one_study(storage):
    # how the study's pending view (study/_proposals.py) learns of new trials incrementally
    sid = _study(storage)
    other = _study(storage, "other")
    storage.start_trial(other, P, worker="w")
    a = storage.start_trial(sid, P, worker="w")
    storage.enqueue_trial(sid, P)
    storage.finish_trial(a.trial_id, worker="w", state=TrialState.COMPLETE, value=1.0)
    storage.start_trial(sid, P, worker="w")
    got = storage.trials_from(sid, 1)
    assert [(t.number, t.state) for t in got] == [(1, TrialState.WAITING), (2, TrialState.RUNNING)]
    assert [t.number for t in storage.trials_from(sid, 0)] == [0, 1, 2]
    assert storage.trials_from(sid, 3) == []


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_trial(storage, direction):
    sid = _study(storage, direction=direction)
    assert storage.best_trial(sid, direction) is None
    for v in (3.0, -1.0, 7.0, -1.0):
        t = storage.start_trial(sid, P, worker="w")
        storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=v)
    t = storage.start_trial(sid, P, worker="w")
    storage.finish_trial(t.trial_id, worker="w", state=TrialState.PRUNED, value=-100.0)
    best = storage.best_trial(sid, direction)
    assert (best.value, best.number) == ((-1.0, 1) if direction == "minimize" else (7.0, 2))


def test_reports_and_intermediate(storage):
    sid = _study(storage)
    t = storage.start_trial(sid, P, worker="w")
    storage.report(t.trial_id, 1, 0.5)
    storage.report(t.trial_id, 2, 0.4)
    storage.report(t.trial_id, 2, 0.3)  # replaces
    u = storage.start_trial(sid, P, worker="w")
    storage.report(u.trial_id, 2, 0.9)
    full = storage.get_trial(t.trial_id, with_intermediate=True)
    assert dict(full.intermediate) == {1: 0.5, 2: 0.3} and full.last_step == 2
    assert storage.intermediate_values(sid, 2) == {0: {2: 0.3}, 1: {2: 0.9}}
    assert storage.intermediate_values(sid) == {0: {1: 0.5, 2: 0.3}, 1: {2: 0.9}}


def test_user_and_system_attrs(storage):
    sid = _study(storage)
    t = storage.start_trial(sid, P, worker="w", system_attrs={"a": 1})
    storage.set_trial_user_attrs(t.trial_id, {"acc": 0.9})
    storage.set_trial_system_attrs(t.trial_id, {"job_id": "42"})
    got = storage.get_trial(t.trial_id)
    assert got.user_attrs == {"acc": 0.9} and got.system_attrs == {"a": 1, "job_id": "42"}


def test_set_trial_params_replaces_them_and_an_empty_space_round_trips(storage):
    """Define-by-run: a trial's params become exactly the ones it used; a study declared
    without parameters stores and reloads an empty space."""
    sid = _study(storage)
    t = storage.start_trial(sid, P, worker="w")
    storage.set_trial_params(t.trial_id, {"x": 0.25, "extra": [1, "a"]})
    storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=1.0)
    assert dict(storage.get_trial(t.trial_id).params) == {"x": 0.25, "extra": [1, "a"]}
    (done,), _ = storage.finished_since(sid, 0)
    assert dict(done.params) == {"x": 0.25, "extra": [1, "a"]}
    storage.create_study("empty", space=tk.Space.empty(), direction="minimize")
    assert len(storage.get_study("empty").space) == 0


def test_reclaim_worker_and_stale(storage):
    sid = _study(storage)
    a = storage.start_trial(sid, P, worker="dead:1:x")
    b = storage.start_trial(sid, P, worker="alive:2:y")
    m = storage.start_trial(sid, P, worker="manual@h:3:z")
    out = storage.reclaim_worker_trials(sid, ["dead:1:x"], requeue=True, max_attempts=2)
    assert [(t.number, t.state) for t in out] == [(a.number, TrialState.WAITING)]
    again = storage.claim_waiting(sid, worker="w")
    assert again.number == a.number
    out = storage.reclaim_worker_trials(
        sid, ["w"], requeue=True, max_attempts=2
    )  # 2nd attempt: fail
    assert out[0].state is TrialState.FAILED and "lost" in out[0].message
    storage.heartbeat([b.trial_id], worker="alive:2:y")
    storage.heartbeat([m.trial_id], worker="manual@h:3:z")
    assert storage.reclaim_stale(sid, grace=60.0, requeue=True) == []
    stale = storage.reclaim_stale(sid, grace=-1.0, requeue=False)
    # an ask/tell trial has a lease like any other: silent, it is reclaimed too
    assert sorted(t.number for t in stale) == sorted([b.number, m.number])
    assert storage.get_trial(m.trial_id).state is TrialState.FAILED
    c = storage.counts(sid)
    assert (c.running, c.failed, c.waiting) == (0, 3, 0)


def test_values_round_trip_exactly(storage):
    sid = _study(storage)
    params = {"x": 0.1 + 0.2, "n": 8, "c": "b"}
    t = storage.start_trial(sid, params, worker="w")
    storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=1e-300)
    got = storage.get_trial(t.trial_id)
    assert got.params == params and got.value == 1e-300
    t = storage.start_trial(sid, params, worker="w")
    for bad in (math.nan, math.inf, None):
        with pytest.raises(ValueError):
            storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=bad)
    assert storage.get_trial(t.trial_id).state is TrialState.RUNNING


def test_ids_are_not_reused_after_delete(storage):
    a, b = _study(storage, "a"), _study(storage, "b")
    storage.start_trial(a, P, worker="w")
    tb = storage.start_trial(b, P, worker="w")
    storage.delete_study("a")
    c = _study(storage, "c")
    assert c not in (a, b)
    tc = storage.start_trial(c, P, worker="w")
    assert tc.trial_id != tb.trial_id and tc.number == 0
    assert storage.get_study("b").study_id == b and storage.counts(b).running == 1
    assert [t.trial_id for t in storage.get_trials(c)] == [tc.trial_id]


def test_add_trials_stores_finished_trials_in_one_go(storage):
    from tansaku import FrozenTrial
    from tansaku.storage._base import UNCOUNTED_ATTR

    sid = _study(storage)
    first = storage.start_trial(sid, P, worker="w")
    storage.finish_trial(first.trial_id, worker="w", state=TrialState.COMPLETE, value=5.0)
    records = [
        FrozenTrial(number=-1, state=TrialState.COMPLETE, params=P, value=0.25,
                    start_time=100.0, end_time=160.5, user_attrs={"fold": 3},
                    system_attrs={"imported": {"source": "test"}}),
        FrozenTrial(number=-1, state=TrialState.PRUNED, params={**P, "x": 0.1}, value=2.0,
                    intermediate={0: 3.0, 4: 2.0}),
        FrozenTrial(number=-1, state=TrialState.FAILED, params={**P, "n": 8}, message="boom"),
    ]
    out = storage.add_trials(sid, records, uncounted=2)
    assert [t.number for t in out] == [1, 2, 3]
    c = storage.counts(sid)
    assert (c.complete, c.pruned, c.failed, c.running) == (2, 1, 1, 0)
    assert storage.get_study("s").system_attrs[UNCOUNTED_ATTR] == 2
    new, _ = storage.finished_since(sid, 0)
    assert [t.number for t in new] == [0, 1, 2, 3]  # told in the given order, after the others
    t1, t2, t3 = storage.get_trials(sid, with_intermediate=True)[1:]
    assert (t1.value, t1.start_time, t1.end_time, t1.worker) == (0.25, 100.0, 160.5, None)
    assert t1.user_attrs == {"fold": 3} and t1.system_attrs == {"imported": {"source": "test"}}
    assert t2.intermediate == {0: 3.0, 4: 2.0} and t2.last_step == 4 and t2.value == 2.0
    assert t3.state is TrialState.FAILED and t3.message == "boom" and t3.end_time is not None
    assert storage.best_trial(sid, "minimize").number == 1
    # a bad record refuses the whole batch: nothing stored
    bad = [records[0], FrozenTrial(number=-1, state=TrialState.COMPLETE, params=P, value=None)]
    with pytest.raises(ValueError):
        storage.add_trials(sid, bad, uncounted=2)
    assert storage.counts(sid).total == 4
    assert storage.get_study("s").system_attrs[UNCOUNTED_ATTR] == 2
    nxt = storage.start_trial(sid, P, worker="w")
    assert nxt.number == 4


def test_set_study_space_replaces_it_and_merges_attrs(storage):
    sid = _study(storage)
    storage.set_study_system_attrs(sid, {"a": 1})
    wider = tk.Space(x=tk.Float(-1, 1), n=tk.Int(1, 8), c=tk.Categorical(["a", "b", "c"]),
                     d=tk.Float(0, 1, default=0.5))
    storage.set_study_space(sid, wider, system_attrs={"space_changes": [{"at_trial": 0}]})
    info = storage.get_study("s")
    assert info.space == wider and info.system_attrs == {"a": 1, "space_changes": [{"at_trial": 0}]}


def test_several_objectives_and_constraints_round_trip(storage):
    sid = storage.create_study(
        "mo",
        space=SPACE,
        direction="minimize",
        directions=["minimize", "maximize"],
        objective_names=["error", "speed"],
    ).study_id
    info = storage.get_study("mo")
    assert info.directions == ("minimize", "maximize") and info.n_objectives == 2
    assert info.objective_names == ("error", "speed")
    t = storage.start_trial(sid, P, worker="w")
    done = storage.finish_trial(
        t.trial_id,
        worker="w",
        state=TrialState.COMPLETE,
        values=[0.1 + 0.2, -7.5],
        constraints={"mem": 1.5, "time": -2.0},
    )
    for again in (done, storage.get_trial(t.trial_id), storage.get_trials(sid)[0]):
        assert again.values == (0.1 + 0.2, -7.5) and again.value == 0.1 + 0.2
        assert dict(again.constraints) == {"mem": 1.5, "time": -2.0}
        assert again.violation == 1.5 and not again.is_feasible
    row = next(iter(storage.export_rows(sid)))
    assert json_list(row.values) == [0.1 + 0.2, -7.5] and json_list(row.constraints)["mem"] == 1.5
    with pytest.raises(ValueError):
        t2 = storage.start_trial(sid, P, worker="w")
        storage.finish_trial(
            t2.trial_id, worker="w", state=TrialState.COMPLETE, values=[1.0, math.nan]
        )


def json_list(text):
    import json

    return json.loads(text)


def test_single_objective_values_and_default_directions(storage):
    sid = _study(storage)
    info = storage.get_study("s")
    assert info.directions == ("minimize",) and info.objective_names == ()
    t = storage.start_trial(sid, P, worker="w")
    done = storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=2.0)
    assert done.values == (2.0,) and dict(done.constraints) == {} and done.is_feasible
    assert storage.get_trial(t.trial_id).values == (2.0,)


def test_best_trial_skips_infeasible(storage):
    sid = _study(storage)
    for value, cons in ((0.1, {"c": 0.5}), (0.3, {"c": 0.0}), (0.2, {"c": math.nan}), (0.4, {})):
        t = storage.start_trial(sid, P, worker="w")
        storage.finish_trial(
            t.trial_id, worker="w", state=TrialState.COMPLETE, value=value, constraints=cons
        )
    assert storage.best_trial(sid, "minimize").value == 0.3
    assert storage.best_trial(sid, "maximize").value == 0.4
    sid2 = _study(storage, "none")
    t = storage.start_trial(sid2, P, worker="w")
    storage.finish_trial(
        t.trial_id, worker="w", state=TrialState.COMPLETE, value=1.0, constraints={"c": 1.0}
    )
    assert storage.best_trial(sid2, "minimize") is None
