"""The results journal: unsaved results are kept on disk and stored by the next run."""

from __future__ import annotations

import json

import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku.objectives._base import Outcome
from tansaku.study._journal import JOURNAL_NAME, ResultJournal


@pytest.fixture(autouse=True)
def _state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _study(tmp_path, name="j"):
    return tk.create_study(
        {"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path / 'j.db'}", name=name, seed=0
    )


def _running(study, worker="host:1:dead"):
    return study.storage.start_trial(study.study_id, {"x": 0.5}, worker=worker)


def test_append_then_replay_stores_the_result_once(tmp_path):
    study = _study(tmp_path)
    t = _running(study)
    j = ResultJournal.for_study(study.storage, study.name, tmp_path / "runs")
    path = j.append(
        t,
        Outcome(t.trial_id, TrialState.COMPLETE, value=0.25, user_attrs={"a": 1}),
        worker="host:1:dead",
        value=0.25,
    )
    assert path == tmp_path / "runs" / JOURNAL_NAME
    assert [e["value"] for e in j.pending()] == [0.25]
    notes: list[str] = []
    assert j.replay(study.storage, study.study_id, notes.append) == (1, 0)
    done = study.storage.get_trial(t.trial_id)
    assert done.state is TrialState.COMPLETE and done.value == 0.25
    assert done.user_attrs == {"a": 1} and done.system_attrs["journaled"] is True
    assert j.pending() == [] and path.read_bytes() == b""
    assert j.replay(study.storage, study.study_id) == (0, 0)
    assert any("1 unsaved result(s) stored" in n for n in notes)


def test_requeued_trial_is_dropped_with_a_note_and_committed_write_is_recognised(tmp_path):
    study = _study(tmp_path)
    a, b = _running(study), _running(study)
    j = ResultJournal.for_study(study.storage, study.name, None)
    for t in (a, b):
        j.append(
            t, Outcome(t.trial_id, TrialState.COMPLETE, value=0.5), worker="host:1:dead", value=0.5
        )
    assert j.paths[0] == tmp_path / f"j.db.{JOURNAL_NAME}"  # next to the database
    study.storage.reclaim_worker_trials(study.study_id, ["host:1:dead"], requeue=True)
    study.storage.claim_waiting(study.study_id, worker="host:1:dead")  # a claimed again
    study.storage.finish_trial(
        a.trial_id, worker="host:1:dead", state=TrialState.COMPLETE, value=0.5
    )  # ... and finished with the same value: the journal entry was in fact stored
    notes: list[str] = []
    assert j.replay(study.storage, study.study_id, notes.append) == (1, 1)
    assert study.storage.get_trial(b.trial_id).state is TrialState.WAITING
    assert any("was not stored: the trial is waiting" in n for n in notes)


def test_falls_back_when_a_place_cannot_be_written_and_never_silently(tmp_path, capsys):
    study = _study(tmp_path)
    t = _running(study)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    j = ResultJournal.for_study(study.storage, study.name, blocker / "runs")
    o = Outcome(t.trial_id, TrialState.COMPLETE, value=0.75)
    path = j.append(t, o, worker="w", value=0.75)
    assert path == j.paths[1]  # next to the database
    nowhere = ResultJournal([blocker / "a.jsonl", blocker / "b.jsonl"], study="j", storage_url="u")
    assert nowhere.append(t, o, worker="w", value=0.75) is None
    err = capsys.readouterr().err
    assert "UNSAVED RESULT" in err and '"value": 0.75' in err


def test_torn_line_does_not_swallow_the_next_entry_and_other_studies_stay(tmp_path):
    study = _study(tmp_path)
    other = _study(tmp_path, name="other")
    t, u = _running(study), _running(other)
    j = ResultJournal.for_study(study.storage, study.name, tmp_path)
    jo = ResultJournal.for_study(other.storage, other.name, tmp_path)
    jo.append(
        u, Outcome(u.trial_id, TrialState.FAILED, message="x"), worker="host:1:dead", value=None
    )
    with open(j.paths[0], "ab") as f:
        f.write(b'{"id": "torn", "study": "j", "val')  # a write cut short (disk full, kill)
    j.append(t, Outcome(t.trial_id, TrialState.PRUNED, value=0.1), worker="host:1:dead", value=0.1)
    assert j.replay(study.storage, study.study_id) == (1, 0)
    assert study.storage.get_trial(t.trial_id).state is TrialState.PRUNED
    assert [e["study"] for e in jo.pending()] == ["other"]  # left alone
    assert jo.replay(other.storage, other.study_id) == (1, 0)
    assert json.loads(j.paths[0].read_text() or "null") is None  # all handled: emptied


def _entry(study, j, t, **changes):
    j.append(
        t, Outcome(t.trial_id, TrialState.COMPLETE, value=0.5), worker="host:1:dead", value=0.5
    )
    path = j.paths[0]
    entry = json.loads(path.read_text().splitlines()[-1])
    entry.update(changes)
    path.write_text(json.dumps(entry) + "\n")
    return path


def test_poison_entry_is_moved_aside_and_replay_goes_on(tmp_path):
    """An entry the storage refuses (here an id no integer column holds) must not wedge every
    later run: it goes to ``.rejected`` with one note, and the next entry is still stored."""
    study = _study(tmp_path)
    bad, good = _running(study), _running(study)
    j = ResultJournal.for_study(study.storage, study.name, tmp_path / "runs")
    path = _entry(study, j, bad, trial_id=2**70)
    j.append(
        good,
        Outcome(good.trial_id, TrialState.COMPLETE, value=0.75),
        worker="host:1:dead",
        value=0.75,
    )
    notes: list[str] = []
    assert j.replay(study.storage, study.study_id, notes.append) == (1, 1)
    assert study.storage.get_trial(good.trial_id).value == 0.75
    rejected = path.with_name(path.name + ".rejected")
    assert json.loads(rejected.read_text())["trial_id"] == 2**70
    assert any("moved to" in n and "\n" not in n for n in notes)
    assert j.pending() == [] and j.replay(study.storage, study.study_id) == (0, 0)


@pytest.mark.postgres
def test_nul_bytes_in_stderr_and_message_are_stored_on_postgres(tmp_path, postgres_url):
    """PostgreSQL text cannot hold NUL: it is stored as U+FFFD, directly and through a journal
    replay (which used to fail on every later run)."""
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=postgres_url, name="nul", seed=0)
    t = _running(study)
    study.storage.finish_trial(
        t.trial_id, worker="host:1:dead", state=TrialState.FAILED, message="a\0b", stderr="\0x"
    )
    got = study.storage.get_trial(t.trial_id)
    assert (got.message, got.stderr) == ("a\ufffdb", "\ufffdx")
    t2 = _running(study)
    j = ResultJournal.for_study(study.storage, study.name, tmp_path / "runs")
    j.append(
        t2,
        Outcome(t2.trial_id, TrialState.FAILED, message="m\0", stderr="err\0or"),
        worker="host:1:dead",
        value=None,
    )
    assert j.replay(study.storage, study.study_id) == (1, 0)
    got = study.storage.get_trial(t2.trial_id)
    assert got.state is TrialState.FAILED and got.stderr == "err\ufffdor"
