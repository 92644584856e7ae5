from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.samplers._random import RandomSampler
from tansaku.study._repeats import PointStats, evaluation_records, point_stats, trial_seed


def noisy(trial: tk.Trial) -> float:
    return trial.params["x"] ** 2 + random.Random(trial.seed).gauss(0, 1)


def test_each_point_is_evaluated_r_times_and_its_value_is_the_mean() -> None:
    study = tk.create_study({"x": tk.Float(-1, 1)}, seed=7)
    study.optimize(noisy, n_trials=5, repeats=3)
    assert len(study.trials) == 5
    for t in study.trials:
        evals = t.system_attrs["evaluations"]
        assert [e["kind"] for e in evals] == ["repeat"] * 3
        seeds = [e["seed"] for e in evals]
        assert seeds == [trial_seed(7, t.number, k) for k in range(3)]
        assert len(set(seeds)) == 3
        values = [noisy(tk.Trial(number=0, params=t.params, seed=s)) for s in seeds]
        assert [e["value"] for e in evals] == pytest.approx(values)
        assert t.value == pytest.approx(statistics.mean(values))
        stats = point_stats(t)
        assert stats.n == 3 and stats.mean == pytest.approx(t.value)
        assert stats.sem == pytest.approx(statistics.stdev(values) / 3**0.5)


def test_the_sampler_sees_one_value_per_point() -> None:
    told: list[tk.FrozenTrial] = []

    class Spy(RandomSampler):
        def tell(self, trial: tk.FrozenTrial) -> None:
            told.append(trial)
            super().tell(trial)

    study = tk.create_study({"x": tk.Float(-1, 1)}, sampler=Spy(seed=0), seed=1)
    study.optimize(noisy, n_trials=4, repeats=2)
    study.ask()
    assert [t.number for t in told] == [0, 1, 2, 3]
    assert [t.value for t in told] == [t.value for t in study.trials[:4]]


def test_single_evaluations_get_and_record_a_seed() -> None:
    seen: list[int | None] = []

    def objective(trial: tk.Trial) -> float:
        seen.append(trial.seed)
        return 1.0

    study = tk.create_study({"x": tk.Float(-1, 1)}, seed=3)
    study.optimize(objective, n_trials=3)
    assert seen == [trial_seed(3, n, 0) for n in range(3)]
    assert [t.system_attrs["seed"] for t in study.trials] == seen
    assert "evaluations" not in study.trials[0].system_attrs
    assert [e["value"] for e in evaluation_records(study.trials[0])] == [1.0]


def test_only_the_first_evaluation_reports_and_can_be_pruned() -> None:
    calls: dict[int, int] = {}

    def objective(trial: tk.Trial) -> float:
        calls[trial.number] = calls.get(trial.number, 0) + 1
        k = calls[trial.number] - 1
        for step in range(1, 6):
            # the second evaluation would look terrible at every step: it must not be pruned
            trial.report(trial.number + (100.0 if k else 0.0) + 1.0 / step, step)
            if trial.should_prune():
                raise tk.TrialPruned()
        return trial.number + 0.1 * k

    study = tk.create_study({"x": tk.Float(-1, 1)}, pruner={"name": "asha", "reduction_factor": 2})
    study.optimize(objective, n_trials=4, repeats=2)
    t0, t1 = study.trials[:2]
    assert t0.state is tk.TrialState.COMPLETE and calls[0] == 2
    assert t0.value == pytest.approx(0.05)
    inter = study.storage.get_trial(t0.trial_id, with_intermediate=True).intermediate
    assert inter == pytest.approx({s: 1.0 / s for s in range(1, 6)})  # the first evaluation's
    assert t1.state is tk.TrialState.PRUNED and calls[1] == 1  # pruned at once: no repeat
    assert t1.value == pytest.approx(2.0)
    assert "evaluations" not in t1.system_attrs


def test_a_failed_evaluation_fails_the_point_and_keeps_the_others() -> None:
    def objective(trial: tk.Trial) -> float:
        if trial.seed == trial_seed(None, trial.number, 1):
            raise RuntimeError("diverged")
        return 1.0

    study = tk.create_study({"x": tk.Float(-1, 1)})
    study.optimize(objective, n_trials=1, repeats=3, max_failures=1)
    (t,) = study.trials
    assert t.state is tk.TrialState.FAILED
    assert t.message is not None and t.message.startswith("evaluation 2 of 3: RuntimeError")
    assert [e["value"] for e in t.system_attrs["evaluations"]] == [1.0]


def test_a_requeued_point_resumes_at_its_next_evaluation() -> None:
    study = tk.create_study({"x": tk.Float(-1, 1)}, seed=0)
    number = study.enqueue({"x": 0.5})
    trial = study.storage.get_trial_by_number(study.study_id, number)
    done = [{"seed": trial_seed(0, number, 0), "value": 10.0, "duration": 1.0, "kind": "repeat"}]
    study.storage.set_trial_system_attrs(trial.trial_id, {"evaluations": done})
    seeds: list[int | None] = []

    def objective(t: tk.Trial) -> float:
        seeds.append(t.seed)
        return 1.0

    study.optimize(objective, n_trials=1, repeats=3)
    assert seeds == [trial_seed(0, number, k) for k in (1, 2)]
    (t,) = study.trials
    assert t.value == pytest.approx(4.0)  # (10 + 1 + 1) / 3


def test_commands_get_a_seed_and_a_directory_per_evaluation(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(
        "import os, random, sys\n"
        "seed = int(sys.argv[2])\n"
        "assert os.environ['TANSAKU_SEED'] == sys.argv[2]\n"
        "open('seed.txt', 'w').write(sys.argv[2])\n"
        "print(float(sys.argv[1]) + random.Random(seed).random())\n"
    )
    study = tk.create_study({"x": tk.Float(0, 1)}, seed=11)
    cmd = tk.Command([sys.executable, "prog.py", "{x}", "{seed}"], base_dir=tmp_path)
    study.optimize(cmd, n_trials=3, repeats=2, n_workers=2, workdir=tmp_path / "runs")
    for t in study.trials:
        assert t.state is tk.TrialState.COMPLETE, t.message
        evals = t.system_attrs["evaluations"]
        for k, e in enumerate(evals):
            d = tmp_path / "runs" / f"trial-{t.number:06d}" / f"repeat-{k}"
            assert e["workdir"] == str(d)
            assert (d / "seed.txt").read_text() == str(e["seed"])
            assert e["value"] == pytest.approx(t.params["x"] + random.Random(e["seed"]).random())
        assert t.value == pytest.approx(sum(e["value"] for e in evals) / 2)


def test_point_stats_edge_cases() -> None:
    assert PointStats.of([]).n == 0
    one = PointStats.of([2.0])
    assert (one.n, one.mean, one.std, one.sem) == (1, 2.0, None, None)


def test_repeats_must_be_a_positive_integer() -> None:
    study = tk.create_study({"x": tk.Float(-1, 1)})
    with pytest.raises(tk.ConfigError, match=r"^repeats: must be an integer > 0"):
        study.optimize(noisy, n_trials=1, repeats=0)


def test_a_point_whose_evaluations_were_all_stored_is_finished_without_running() -> None:
    study = tk.create_study({"x": tk.Float(-1, 1)}, seed=0)
    number = study.enqueue({"x": 0.5})
    trial = study.storage.get_trial_by_number(study.study_id, number)
    done = [
        {"seed": trial_seed(0, number, k), "value": v, "duration": 1.0, "kind": "repeat"}
        for k, v in enumerate([1.0, 2.0])
    ]
    study.storage.set_trial_system_attrs(trial.trial_id, {"evaluations": done})
    calls: list[int] = []
    study.optimize(lambda t: calls.append(t.number) or 0.0, n_trials=1, repeats=2)
    assert calls == []
    (t,) = study.trials
    assert t.state is tk.TrialState.COMPLETE and t.value == pytest.approx(1.5)


def test_ctrl_c_between_evaluations_requeues_the_point_with_what_it_measured() -> None:
    study = tk.create_study({"x": tk.Float(-1, 1)}, seed=0)
    calls: list[int | None] = []

    def objective(trial: tk.Trial) -> float:
        calls.append(trial.seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 1.0

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=1, repeats=3)
    (t,) = study.trials
    assert t.state is tk.TrialState.WAITING
    assert [e["value"] for e in t.system_attrs["evaluations"]] == [1.0]
    study.optimize(lambda tr: calls.append(tr.seed) or 3.0, n_trials=1, repeats=3)
    (t,) = study.trials
    assert t.value == pytest.approx((1.0 + 3.0 + 3.0) / 3)
    assert calls[2:] == [trial_seed(0, 0, 1), trial_seed(0, 0, 2)]
