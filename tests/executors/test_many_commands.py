"""50 external trials at once on the local executor: every result arrives, none is lost."""

from __future__ import annotations

import tansaku as tk
from tansaku import TrialState


def test_fifty_concurrent_commands_lose_no_result(tmp_path):
    study = tk.create_study(
        {"x": tk.Float(0, 1), "k": tk.Int(0, 10**6)},
        storage=f"sqlite:///{tmp_path / 'many.db'}",
        sampler={"name": "random", "seed": 0},
    )
    # each trial sleeps ~1 s and echoes back one of its own parameters as the result
    cmd = tk.Command(["sh", "-c", 'sleep 1; echo "loss $0 at $1"', "{k}", "{x}"])
    study.optimize(cmd, n_trials=100, n_workers=50, workdir=tmp_path / "runs")
    trials = study.trials
    assert len(trials) == 100 and all(t.state is TrialState.COMPLETE for t in trials)
    # the result of each is its own x (the last number printed), exactly
    assert all(t.value == t.params["x"] for t in trials)
    # they really ran side by side: at some moment at least 40 of them were running
    events = sorted([(t.start_time, 1) for t in trials] + [(t.end_time, -1) for t in trials])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak >= 40, peak
    assert len(list((tmp_path / "runs").iterdir())) == 100
