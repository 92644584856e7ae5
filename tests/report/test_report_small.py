"""Issue 13.10: the report's smaller defects: the workers line, log-int tick labels."""

from __future__ import annotations

import itertools

import pytest

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.report import TrialTable
from tansaku.report._html import _summary, build_report


def _trial(number: int, start: float, end: float, worker: str, x: float) -> FrozenTrial:
    return FrozenTrial(
        number=number,
        state=TrialState.COMPLETE,
        params={"x": x},
        value=x,
        start_time=start,
        end_time=end,
        worker=worker,
    )


def test_one_worker_with_two_at_once_is_not_called_one_worker_with_two_lanes():
    space = tk.Space({"x": tk.Float(0, 1)})
    # n_workers: 2 -> one coordinator running two trials at a time
    trials = [
        _trial(i, 100.0 + 5 * (i // 2), 104.0 + 5 * (i // 2), "host:1", i / 10) for i in range(6)
    ]
    table = TrialTable.from_trials(trials, study="w", direction="minimize", space=space, now=200.0)
    html = _summary(build_report(table, importance_model="numpy"))
    assert "1 worker running up to 2 trials at once" in html
    assert "lanes" not in html
    two = [*trials, *(_trial(6 + i, 100.0 + 5 * i, 104.0 + 5 * i, "host:2", 0.5) for i in range(3))]
    table = TrialTable.from_trials(two, study="w", direction="minimize", space=space, now=200.0)
    html = _summary(build_report(table, importance_model="numpy"))
    assert "2 workers running up to 3 trials at once (2 + 1)" in html


@pytest.mark.parametrize("low,high", [(2, 60), (1, 1000), (8, 512), (3, 9)])
def test_log_int_slice_tick_labels_do_not_overlap(low, high):
    pytest.importorskip("matplotlib")
    study = tk.create_study(
        {"n": tk.Int(low, high, log=True), "y": tk.Float(0, 1)}, sampler="random", seed=0
    )
    study.optimize(lambda t: t.params["n"] * t.params["y"], n_trials=30)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = tk.plot.slices(study)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = next(a for a in fig.axes if a.get_xlabel().startswith("n"))
    labels = [
        t
        for t in [*ax.get_xticklabels(), *ax.get_xticklabels(minor=True)]
        if t.get_visible() and t.get_text().strip() and low <= t.get_position()[0] <= high
    ]
    assert len(labels) >= 2, [t.get_text() for t in labels]
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), [t.get_text() for t in labels]
    assert all("^" not in t.get_text() and "times" not in t.get_text() for t in labels)


def test_dashboard_waits_for_the_database_of_a_study_not_started_yet(tmp_path):
    import json
    import os
    import re
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    db = tmp_path / "later.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tansaku",
            "dashboard",
            "--storage",
            f"sqlite:///{db}",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": src, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        first = proc.stderr.readline()
        assert first.startswith(f"waiting for {db}"), first
        time.sleep(0.7)
        assert proc.poll() is None  # still waiting, not refused
        assert not db.exists()  # and nothing created: the dashboard only reads
        study = tk.create_study({"x": tk.Float(0, 1)}, storage=f"sqlite:///{db}", name="later")
        study.optimize(lambda t: t.params["x"], n_trials=2)
        line = proc.stdout.readline()
        url = re.search(r"on (http://\S+)", line).group(1)
        with urllib.request.urlopen(url + "/api/studies", timeout=10) as r:
            names = [s["name"] for s in json.load(r)["studies"]]
        assert names == ["later"]
    finally:
        proc.terminate()
        proc.wait(10)
