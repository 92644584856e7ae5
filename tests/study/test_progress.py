"""Issue 13.10: the progress display of a worker ends with the study's tally and no ETA."""

from __future__ import annotations

import io

import tansaku as tk
from tansaku._progress import Progress


def test_a_worker_ends_with_the_study_tally_and_no_eta(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    mine = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="p", seed=0)
    other = tk.load_study("p", storage=url)  # a second worker of the same study
    stream = io.StringIO()
    progress = Progress(
        enabled=True, study=mine, total=4, count_study=True, n_workers=1, stream=stream
    )
    progress.start()
    for _ in range(3):
        t = other.ask()
        other.tell(t, 0.5)
    t = mine.ask()
    mine.tell(t, 0.25)
    progress.finished(mine.storage.get_trial(t.trial_id))
    mid = stream.getvalue().splitlines()[-1]
    assert "ETA" in mid  # while running, a line says how long is left
    progress.close("done")
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("finished (done): 4/4 done"), last
    assert "ETA" not in last
