"""Smoke tests of the test infrastructure itself: each real service works from Python.

If one of these fails, the tests of tansaku that need the service cannot mean anything; they are
kept small so that they localise a broken setup quickly (see scripts/services/ and
tests/services.py).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import BatchQueue, PostgresServer, import_or_unavailable

# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def _engine(url: str):  # type: ignore[no-untyped-def]
    sqlalchemy = import_or_unavailable("sqlalchemy", "postgres")
    import_or_unavailable("psycopg", "postgres")
    return sqlalchemy.create_engine(url, pool_pre_ping=True)


@pytest.mark.postgres
def test_postgres_round_trip_with_psycopg3(postgres_url: str) -> None:
    from sqlalchemy import text

    engine = _engine(postgres_url)
    try:
        assert engine.dialect.driver == "psycopg"  # psycopg 3, not psycopg2
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE trial (number int PRIMARY KEY, value double precision)")
            )
            conn.execute(
                text("INSERT INTO trial VALUES (:n, :v)"), [{"n": i, "v": i / 4} for i in range(5)]
            )
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT number, value FROM trial ORDER BY number")).all()
            version = conn.execute(text("SHOW server_version")).scalar_one()
        assert rows == [(i, i / 4) for i in range(5)]
        assert int(version.split(".")[0]) >= 13
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_url_gives_each_test_an_empty_database(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    from sqlalchemy import text

    other = postgres_server.create_database()
    assert other != postgres_url
    for url in (postgres_url, other):
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                n = conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'public'"
                    )
                ).scalar_one()
            assert n == 0
        finally:
            engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_is_survived_by_a_new_connection(
    restartable_postgres: PostgresServer, mode: str
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    pg = restartable_postgres
    engine = _engine(pg.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kv (k text PRIMARY KEY, v int)"))
            conn.execute(text("INSERT INTO kv VALUES ('a', 1)"))
        port = pg.port

        pg.stop(mode=mode)  # "immediate" is a crash as far as PostgreSQL knows
        assert not pg.is_running()
        # Really down: a new connection is refused (the pooled one is dead too).
        engine.dispose()
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))

        pg.start()
        assert pg.port == port and pg.is_running()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT v FROM kv WHERE k = 'a'")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_restart_from_another_thread_during_use(
    restartable_postgres: PostgresServer,
) -> None:
    """The pattern issue 8 needs: the server restarts while the main thread keeps writing."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    pg = restartable_postgres
    engine = _engine(pg.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE log (i int PRIMARY KEY)"))
        restarter = threading.Thread(target=pg.restart, kwargs={"downtime": 0.5})
        failures = 0
        written = []
        t_end = time.monotonic() + 30
        i = 0
        restarter.start()
        while (restarter.is_alive() or len(written) < 20) and time.monotonic() < t_end:
            try:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO log VALUES (:i)"), {"i": i})
                written.append(i)
                i += 1
            except DBAPIError:
                failures += 1
                time.sleep(0.05)
        restarter.join()
        assert failures > 0, "the restart was not noticed: was the server really down?"
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT i FROM log ORDER BY i")).scalars().all()
        assert stored == written
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Slurm
# --------------------------------------------------------------------------------------------


def _wait_slurm_job_gone(job_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=15
        )
        # squeue forgets finished jobs (or errors "Invalid job id" once purged)
        if r.returncode != 0 or not r.stdout.strip():
            return
        time.sleep(0.2)
    raise AssertionError(f"slurm job {job_id} still queued after {timeout} s")


def _sbatch(slurm: BatchQueue, *args: str) -> str:
    r = subprocess.run(
        ["sbatch", "--parsable", "-p", slurm.queue, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return r.stdout.strip().split(";")[0]


@pytest.mark.slurm
@pytest.mark.timeout(120)
def test_slurm_sbatch_wrap_runs_and_writes_output(slurm: BatchQueue, tmp_path: Path) -> None:
    assert slurm.kind == "slurm" and slurm.slots >= 2
    job = _sbatch(
        slurm,
        "-o",
        str(tmp_path / "out-%j.txt"),
        "--chdir",
        str(tmp_path),
        "--wrap",
        'echo "job $SLURM_JOB_ID says $(( 6 * 7 ))"',
    )
    _wait_slurm_job_gone(job)
    out = tmp_path / f"out-{job}.txt"
    deadline = time.monotonic() + 10  # the file is written by slurmd; allow it a moment
    while not (out.exists() and out.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out.read_text().strip() == f"job {job} says 42"


@pytest.mark.slurm
@pytest.mark.timeout(120)
def test_slurm_runs_jobs_at_the_same_time(slurm: BatchQueue, tmp_path: Path) -> None:
    """Issue 5 needs >= 2 trial jobs running at once; 3 jobs of 3 s must overlap."""
    jobs = [
        _sbatch(
            slurm,
            "-o",
            "/dev/null",
            "--chdir",
            str(tmp_path),
            "--wrap",
            f"date +%s.%N > start-{k}; sleep 3; date +%s.%N > end-{k}",
        )
        for k in range(3)
    ]
    for j in jobs:
        _wait_slurm_job_gone(j)
    starts = [float((tmp_path / f"start-{k}").read_text()) for k in range(3)]
    ends = [float((tmp_path / f"end-{k}").read_text()) for k in range(3)]
    assert max(starts) < min(ends), f"jobs ran one after another: {starts=} {ends=}"


# --------------------------------------------------------------------------------------------
# Grid Engine
# --------------------------------------------------------------------------------------------


def _wait_sge_job_gone(job_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(["qstat", "-j", job_id], capture_output=True, text=True, timeout=15)
        if r.returncode != 0:  # "Following jobs do not exist"
            return
        time.sleep(0.2)
    raise AssertionError(f"sge job {job_id} still known to qstat after {timeout} s")


@pytest.mark.sge
@pytest.mark.timeout(120)
def test_sge_qsub_runs_and_writes_output(sge: BatchQueue, tmp_path: Path) -> None:
    assert sge.kind == "sge" and sge.slots >= 2
    # A script file, not "qsub -b y bash -c ...": -b y joins the arguments and drops quoting.
    script = tmp_path / "job.sh"
    script.write_text('#!/bin/bash\necho "job $JOB_ID in queue $QUEUE says $(( 6 * 7 ))"\n')
    r = subprocess.run(
        [
            "qsub",
            "-terse",
            "-q",
            sge.queue,
            "-cwd",
            "-j",
            "y",
            "-o",
            str(tmp_path / "out.txt"),
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=tmp_path,
    )
    job = r.stdout.strip()
    assert job.isdigit(), r.stdout
    _wait_sge_job_gone(job)
    assert (tmp_path / "out.txt").read_text().strip() == f"job {job} in queue {sge.queue} says 42"


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


def _square(x: int) -> int:
    return x * x


def _worker_env(name: str) -> tuple[int, str | None]:
    return os.getpid(), os.environ.get(name)


@pytest.mark.timeout(120)
def test_dask_local_cluster_computes_in_worker_processes() -> None:
    distributed = import_or_unavailable("distributed", "dask")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert sum(client.gather(client.map(_square, range(10)))) == 285
        pids = client.run(os.getpid)
        assert len(pids) == 2 and os.getpid() not in pids.values()


def _run_jobqueue_study(cls_name: str, q: BatchQueue, tmp_path: Path, job_env: str) -> set[str]:
    """Start 2 single-core dask workers as batch jobs, compute, return the workers' job ids."""
    distributed = import_or_unavailable("distributed", "dask")
    jobqueue = import_or_unavailable("dask_jobqueue", "dask")
    cls = getattr(jobqueue, cls_name)
    with (
        cls(
            cores=1,
            processes=1,
            memory="1GiB",
            queue=q.queue,
            walltime="00:10:00",
            interface="lo",  # scheduler and workers on loopback only
            log_directory=str(tmp_path / "logs"),
            local_directory=str(tmp_path / "work"),
            scheduler_options={"dashboard_address": None},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cluster.scale(jobs=2)
        client.wait_for_workers(2, timeout=90)
        assert sum(client.gather(client.map(_square, range(10)))) == 285
        info = client.run(_worker_env, job_env)
    job_ids = {env for _, env in info.values()}
    assert len(info) == 2 and None not in job_ids and len(job_ids) == 2, info
    return job_ids  # type: ignore[return-value]


@pytest.mark.timeout(180)
def test_dask_jobqueue_slurm_cluster_with_two_workers(slurm: BatchQueue, tmp_path: Path) -> None:
    job_ids = _run_jobqueue_study("SLURMCluster", slurm, tmp_path, "SLURM_JOB_ID")
    # Closing the cluster cancels its jobs: none may stay in the queue.
    for j in job_ids:
        _wait_slurm_job_gone(j, timeout=30)


@pytest.mark.timeout(180)
def test_dask_jobqueue_sge_cluster_with_two_workers(sge: BatchQueue, tmp_path: Path) -> None:
    job_ids = _run_jobqueue_study("SGECluster", sge, tmp_path, "JOB_ID")
    for j in job_ids:
        _wait_sge_job_gone(j, timeout=30)


# --------------------------------------------------------------------------------------------
# Headless Chromium
# --------------------------------------------------------------------------------------------


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """Serve tmp_path with Python's http.server on a free loopback port; yield the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_chromium_loads_local_page_and_runs_its_script(
    page,
    static_site: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>tansaku smoke</title></head><body>"
        '<p id="static">served by http.server</p><ul id="list"></ul>'
        "<script>for (const x of ['a', '<b>']) {"
        "  const li = document.createElement('li'); li.textContent = x;"
        "  document.getElementById('list').appendChild(li); }</script>"
        "</body></html>"
    )
    response = page.goto(f"{static_site}/index.html")
    assert response is not None and response.status == 200
    assert page.title() == "tansaku smoke"
    assert page.locator("#static").inner_text() == "served by http.server"
    # Only a real browser running the page's JavaScript produces these list items.
    assert page.locator("#list li").all_inner_texts() == ["a", "<b>"]
