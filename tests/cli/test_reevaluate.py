from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.cli._main import main

OBJ = """
import random

def f(trial):
    return (trial.params["x"] - 0.3) ** 2 + random.Random(trial.seed).gauss(0, 0.1)
"""


def truth(x: float, seed: int) -> float:
    return (x - 0.3) ** 2 + random.Random(seed).gauss(0, 0.1)


def setup_study(tmp_path: Path, direction: str = "minimize") -> Path:
    (tmp_path / "obj.py").write_text(OBJ)
    cfg = tmp_path / "noisy.yaml"
    cfg.write_text(
        f"""
name: noisy
direction: {direction}
space:
  x: {{type: float, low: 0, high: 1}}
objective: obj.py:f
n_trials: 10
seed: 4
"""
    )
    assert main(["run", str(cfg), "-q"]) == 0
    return cfg


def load(tmp_path: Path) -> tk.Study:
    return tk.load_study("noisy", storage=f"sqlite:///{tmp_path / 'noisy.db'}", sampler="random")


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_reevaluate_top_k_and_rank_by_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], direction: str
) -> None:
    cfg = setup_study(tmp_path, direction)
    capsys.readouterr()
    before = load(tmp_path).trials
    sign = 1.0 if direction == "minimize" else -1.0
    top3 = sorted(before, key=lambda t: (sign * (t.value or 0), t.number))[:3]
    assert main(["reevaluate", str(cfg), "--top", "3", "--repeats", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["rank", "trial", "n", "mean"]
    rows = [line.split() for line in out[1:4]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert {int(r[1]) for r in rows} == {t.number for t in top3}
    means = [float(r[3]) for r in rows]
    assert means == sorted(means, reverse=direction == "maximize")

    study = load(tmp_path)
    seeds = set()
    for t in top3:
        now = study.trials[t.number]
        assert now.value == t.value  # what the sampler saw is unchanged
        evals = now.system_attrs["evaluations"]
        assert [e["kind"] for e in evals] == ["single"] + ["reevaluation"] * 4
        assert evals[0]["value"] == t.value and evals[0]["seed"] == t.system_attrs["seed"]
        for e in evals:
            assert e["value"] == pytest.approx(truth(t.params["x"], e["seed"]))
            seeds.add(e["seed"])
    assert len(seeds) == 15
    ranking = study.system_attrs["reevaluation"]["ranking"]
    assert [p["trial"] for p in ranking] == [int(r[1]) for r in rows]
    assert ranking[0]["n"] == 5 and ranking[0]["sem"] > 0

    assert main(["best", str(cfg), "--by", "mean", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["number"] == ranking[0]["trial"] and best["points_ranked"] == 3
    assert best["mean"] == pytest.approx(ranking[0]["mean"])
    assert main(["best", str(cfg), "--by", "mean", "--min-evaluations", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["points_ranked"] == 10
    assert main(["best", str(cfg), "--by", "mean"]) == 0
    assert capsys.readouterr().out.startswith("best mean: ")

    # each call adds evaluations to the point that is best now (by its current mean), and
    # reports every point evaluated more than once
    current = {p["trial"]: p["mean"] for p in ranking}
    for t in load(tmp_path).trials:
        current.setdefault(t.number, t.value)
    chosen = sorted(current, key=lambda n: (sign * current[n], n))[0]
    n_before = len(load(tmp_path).trials[chosen].system_attrs.get("evaluations", [1]))
    assert main(["reevaluate", str(cfg), "--top", "1", "--repeats", "2", "--json"]) == 0
    again = {p["trial"]: p for p in json.loads(capsys.readouterr().out)}
    assert again[chosen]["n"] == n_before + 2
    assert set(again) == {int(r[1]) for r in rows} | {chosen}


def test_reevaluate_with_repeats_keeps_counting_seeds(tmp_path: Path) -> None:
    (tmp_path / "obj.py").write_text(OBJ)
    study = tk.create_study(
        {"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path / 'noisy.db'}", name="noisy", seed=1
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("obj_mod", tmp_path / "obj.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    study.optimize(mod.f, n_trials=4, repeats=2)
    from tansaku.study._reevaluate import reevaluate
    from tansaku.study._repeats import trial_seed

    by_mean = sorted(study.trials, key=lambda t: (t.value, t.number))
    ranked = reevaluate(study, mod.f, top=2, repeats=3)
    assert len(ranked) == 4  # every point has 2 or more evaluations
    n = {p.trial: p.n for p in ranked}
    assert [n[t.number] for t in by_mean] == [5, 5, 2, 2]
    for p in ranked:
        if p.n != 5:
            continue
        evals = study.trials[p.trial].system_attrs["evaluations"]
        assert [e["seed"] for e in evals] == [trial_seed(1, p.trial, k) for k in range(5)]


def test_reevaluate_needs_a_complete_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "obj.py").write_text(OBJ)
    tk.create_study({"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path / 'e.db'}", name="e")
    code = main(
        ["reevaluate", "--storage", f"sqlite:///{tmp_path / 'e.db'}", "--study", "e", "--top", "2"]
    )
    assert code == 2  # no stored config: tells the user to pass the config file
    assert "no stored config" in capsys.readouterr().err


def test_enqueue_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = setup_study(tmp_path)
    assert main(["enqueue", str(cfg), "--params", '{"x": 0.25}', "--from-trial", "3"]) == 0
    assert "enqueued trial 10" in capsys.readouterr().out
    assert main(["run", str(cfg), "--n-trials", "11", "-q"]) == 0
    t = load(tmp_path).trials[10]
    assert t.params == {"x": 0.25} and t.system_attrs["from_trial"] == 3
    assert main(["enqueue", str(cfg), "--params", "[1]"]) == 2
    assert "--params: must be a JSON object" in capsys.readouterr().err
    assert main(["enqueue", str(cfg), "--params", '{"x": 0.5}', "--from-trial", "99"]) == 2
    assert "from_trial: study 'noisy'" in capsys.readouterr().err
