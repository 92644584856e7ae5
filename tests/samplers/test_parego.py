"""gp (and dngo) serve a study with several objectives through ParEGO scalarising (issue 18):
random Chebyshev weights per ask spread the proposals along the front, and a resume proposes
what the uninterrupted study would."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import tansaku as tk
from tansaku.algorithms._pareto import hypervolume
from tansaku.samplers._parego import chebyshev, parego_weights


def _zdt1(trial: tk.Trial) -> tuple[float, float]:
    x = np.array([trial.params[f"x{i}"] for i in range(3)])
    g = 1 + 9 * x[1:].mean()
    return x[0], g * (1 - math.sqrt(x[0] / g))


def test_chebyshev_scalarisation_and_weights():
    w = parego_weights(0, 5, 1, 3)
    assert w.shape == (3,) and np.all(w >= 0) and math.isclose(w.sum(), 1.0)
    assert np.array_equal(w, parego_weights(0, 5, 1, 3))
    assert not np.array_equal(w, parego_weights(0, 6, 1, 3))
    y = np.array([[0.0, 10.0], [1.0, 0.0], [0.5, 5.0], [1.0, 10.0]])
    s = chebyshev(y, np.array([0.5, 0.5]))
    # scaled: (0, 1), (1, 0), (0.5, 0.5), (1, 1): max term 0.5, 0.5, 0.25, 0.5 (+ 5% of the sum)
    assert np.allclose(s, [0.525, 0.525, 0.275, 0.55])
    assert np.argmin(chebyshev(y, np.array([1.0, 0.0]))) == 0  # all weight on the first


@pytest.mark.slow  # a GP fit per ask: ~7 s of CPU, more on a loaded machine
def test_gp_serves_two_objectives_beats_random_and_resumes_exactly(tmp_path):
    space = {f"x{i}": tk.Float(0.0, 1.0) for i in range(3)}
    url = f"sqlite:///{tmp_path / 'z.db'}"
    hv = {}
    for smp in ({"name": "gp", "n_startup_trials": 8, "n_candidates": 256}, {"name": "random"}):
        s = tk.create_study(
            space, directions=["minimize", "minimize"], sampler={**smp, "seed": 2},
            storage=url, name=smp["name"],
        )
        s.optimize(_zdt1, n_trials=24)
        hv[smp["name"]] = hypervolume(np.array([t.values for t in s.trials]), np.array([1.1, 11.0]))
    assert hv["gp"] > hv["random"]
    late = tk.load_study("gp", storage=url).trials[8:]
    assert len({round(t.params["x0"], 2) for t in late}) >= 6  # spread along the front
    for suffix in ("", "-wal", "-shm"):
        if (tmp_path / f"z.db{suffix}").exists():
            shutil.copy(tmp_path / f"z.db{suffix}", tmp_path / f"copy.db{suffix}")
    first = tk.load_study("gp", storage=url)
    again = tk.load_study("gp", storage=f"sqlite:///{tmp_path / 'copy.db'}")
    assert again.ask().params == first.ask().params
