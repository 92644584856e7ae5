"""What the sampler is told about pending trials, now that the study skips the pending-trials
query when the counters say nothing is running or waiting."""

from __future__ import annotations

import pytest

import tansaku as tk
from tansaku.samplers import Sampler


class Recorder(Sampler):
    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[tuple[int, str]]] = []

    def ask(self, pending):
        self.seen.append(sorted((t.number, t.state.value) for t in pending))
        return {"x": 0.5}


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_sampler_sees_exactly_the_running_and_waiting_trials(storage, tmp_path):
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    rec = Recorder()
    study = tk.create_study({"x": tk.Float(0, 1)}, sampler=rec, storage=url, name="p")
    a = study.ask()  # nothing pending
    b = study.ask()  # a is running
    study.tell(a, 1.0)
    study.tell(b, 2.0)
    study.ask()  # nothing pending again
    assert rec.seen == [[], [(0, "running")], []]
    # a trial waiting behind an exhausted budget is pending too, and so is another worker's
    sid = study.study_id
    study.storage.enqueue_trial(sid, {"x": 0.25})
    other = study.storage.start_trial(sid, {"x": 0.75}, worker="elsewhere:1:x")
    assert study._next_trial("me:1:y", limit=2) is None  # budget used up: nothing claimed
    study.optimize(lambda t: t.params["x"], n_trials=1)  # claims the waiting one, no sampler
    assert len(rec.seen) == 3
    study.ask()
    assert rec.seen[-1] == [(2, "running"), (4, "running")]
    assert other.number == 4
