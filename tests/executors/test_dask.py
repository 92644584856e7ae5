"""The dask executor: a LocalCluster (its own, or an existing scheduler's address), and
dask-jobqueue's SLURMCluster on the real single-node Slurm."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import TrialState
from tests.executors.batch_cases import AboveHalf, _alive

distributed = pytest.importorskip("distributed")

SPACE = {"x": tk.Float(0, 1)}


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster shared by this module's tests (2 worker processes with nannies)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def _study(name: str, **kw) -> tk.Study:
    return tk.create_study(SPACE, name=name, seed=3, **kw)


def reporting(trial):
    x = trial.params["x"]
    for step in range(3):
        trial.report(x + step, step)
        if trial.should_prune():
            raise tk.TrialPruned()
    trial.set_user_attr("pid", os.getpid())
    return x * 2


def test_own_local_cluster_runs_a_python_objective():
    study = _study("own")
    study.optimize(reporting, n_trials=6, n_workers=2, executor={"name": "dask"})
    trials = study.get_trials(with_intermediate=True)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for t in trials:
        assert t.value == 2 * t.params["x"]
        assert dict(t.intermediate) == {s: t.params["x"] + s for s in range(3)}
        assert t.user_attrs["pid"] != os.getpid()
        assert t.system_attrs["dask_worker"].startswith(("tcp://", "inproc://"))
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # both worker processes were used


def test_commands_run_on_the_cluster(scheduler, tmp_path):
    study = _study("cmd")
    cmd = tk.Command(
        [
            sys.executable,
            "-c",
            "import sys; print('tansaku:report step=1 value=0.5'); print(float(sys.argv[1]) + 1)",
            "{x}",
        ]
    )
    study.optimize(
        cmd,
        n_trials=4,
        n_workers=2,
        workdir=tmp_path / "runs",
        executor={"name": "dask", "address": scheduler},
    )
    trials = study.get_trials(with_intermediate=True)
    assert all(t.state is TrialState.COMPLETE for t in trials)
    for t in trials:
        assert t.value == pytest.approx(t.params["x"] + 1) and dict(t.intermediate) == {1: 0.5}
        assert (tmp_path / "runs" / f"trial-{t.number:06d}" / "stdout.txt").exists()


def test_pruning_reaches_remote_python_trials(scheduler):
    study = _study("prune", pruner=AboveHalf())
    for x in (0.1, 0.7):
        study.enqueue({"x": x})
    study.optimize(
        reporting, n_trials=2, n_workers=2, executor={"name": "dask", "address": scheduler}
    )
    by_x = {t.params["x"]: t for t in study.trials}
    # 0.1 reports 0.1 (kept), then 1.1 > 0.5 at step 1: pruned there; 0.7 at step 0
    assert by_x[0.7].state is TrialState.PRUNED and by_x[0.7].value == 0.7
    assert by_x[0.1].state is TrialState.PRUNED and by_x[0.1].value == pytest.approx(1.1)


def test_prune_and_timeout_kill_remote_commands(scheduler, tmp_path):
    study = _study("kill", pruner=AboveHalf())
    cmd = tk.Command(
        [
            "bash",
            "-c",
            'echo $$ > prog.pid; echo "tansaku:report step=1 value=$1"; sleep 60; echo 1',
            "_",
            "{x}",
        ]
    )
    ex = {"name": "dask", "address": scheduler}
    t0 = time.monotonic()
    study.enqueue({"x": 0.9})
    study.optimize(cmd, n_trials=1, workdir=tmp_path / "runs", executor=ex)
    study.enqueue({"x": 0.2})
    study.optimize(
        cmd, n_trials=1, trial_timeout=2, max_failures=1, workdir=tmp_path / "runs", executor=ex
    )
    assert time.monotonic() - t0 < 30
    by_x = {t.params["x"]: t for t in study.trials}
    assert by_x[0.9].state is TrialState.PRUNED and by_x[0.9].value == 0.9
    assert by_x[0.2].state is TrialState.FAILED and by_x[0.2].message.startswith("timeout")
    for t in (by_x[0.9], by_x[0.2]):
        pid = int((tmp_path / "runs" / f"trial-{t.number:06d}" / "prog.pid").read_text())
        assert not _alive(pid)


def stubborn(trial):
    if trial.params["x"] > 0.5:
        time.sleep(300)  # ignores should_prune; only restarting its worker stops it
    return trial.params["x"]


def test_python_trial_past_its_timeout_is_stopped_by_restarting_its_worker(scheduler):
    study = _study("stubborn")
    for x in (0.9, 0.1, 0.2):
        study.enqueue({"x": x})
    t0 = time.monotonic()
    study.optimize(
        stubborn,
        n_trials=2,
        n_workers=1,
        trial_timeout=2,
        max_failures=3,
        executor={"name": "dask", "address": scheduler, "kill_grace": 0.5},
    )
    assert time.monotonic() - t0 < 60
    by_x = {t.params["x"]: t for t in study.trials}
    assert by_x[0.9].state is TrialState.FAILED and by_x[0.9].message.startswith("timeout")
    assert by_x[0.1].state is by_x[0.2].state is TrialState.COMPLETE
    # the stopped worker came back: the cluster has its 2 workers again
    from distributed import Client

    with Client(scheduler) as c:
        c.wait_for_workers(2, timeout=30)


@pytest.mark.slurm
def test_dask_jobqueue_slurm_cluster(slurm, tmp_path):
    pytest.importorskip("dask_jobqueue")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the jobs cannot import tests/
    try:
        study = _study("jq")
        study.optimize(
            reporting,
            n_trials=4,
            n_workers=2,
            executor={
                "name": "dask",
                "cluster": {
                    "type": "slurm",
                    "queue": slurm.queue,
                    "cores": 1,
                    "memory": "1GiB",
                    "walltime": "00:10:00",
                    "interface": "lo",
                    "log_directory": str(tmp_path / "dask-logs"),
                },
            },
        )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    logs = list(Path(tmp_path / "dask-logs").glob("*"))
    assert logs, "no Slurm job logs: the workers did not run as Slurm jobs"


@pytest.mark.slow  # a minute on the loaded shared machine (Dask's per-task overhead)
def test_define_by_run_on_dask_workers(scheduler):
    """``trial.suggest_*`` on a Dask worker: the suggested params come back with the outcome."""
    from tests.study.test_define_by_run import check_trials, network

    study = tk.create_study(sampler="tpe", name="dbr", seed=2)
    study.optimize(
        network, n_trials=4, n_workers=2, executor={"name": "dask", "address": scheduler}
    )
    assert len(study.trials) == 4
    check_trials(study)
