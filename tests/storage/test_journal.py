"""The journal storage beyond the conformance suite: replay, torn lines, the NFS-safe lock, the
budget between processes, URLs, and the network-filesystem warning for SQLite."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time

import pytest

import tansaku as tk
from tansaku import StorageError, TrialState
from tansaku.storage import JournalStorage, get_storage
from tansaku.storage._netfs import network_filesystem, warn_if_network_sqlite
from tansaku.storage._nfslock import NFSLock
from tests.storage.conformance import SPACE, P


def _snapshot(st: JournalStorage) -> object:
    out = []
    for info in st.list_studies():
        sid = info.study_id
        out.append(
            (
                info,
                st.counts(sid),
                st.get_trials(sid, with_intermediate=True),
                st.get_trials(sid, order="finish"),
                st.finished_since(sid, 0),
                st.best_trial(sid, info.direction),
            )
        )
    return out


def _some_history(st: JournalStorage) -> int:
    sid = st.create_study("s", space=SPACE, direction="minimize", sampler={"name": "random"})
    sid = sid.study_id
    st.set_study_system_attrs(sid, {"config": {"a": [1, 2]}})
    a = st.start_trial(sid, P, worker="w1", system_attrs={"sampler": {"k": 1}})
    st.enqueue_trial(sid, {**P, "x": 0.25})
    b = st.start_trial(sid, {**P, "c": "b"}, worker="w2", limit=3)
    st.report(a.trial_id, 1, 0.5)
    st.set_trial_user_attrs(a.trial_id, {"acc": 0.9})
    st.finish_trial(a.trial_id, worker="w1", state=TrialState.COMPLETE, value=0.1 + 0.2)
    st.heartbeat([b.trial_id], worker="w2")
    q = st.claim_waiting(sid, worker="w3")
    st.release_trial(q.trial_id, worker="w3")
    st.reclaim_worker_trials(sid, ["w2"], requeue=True)
    return sid


def test_a_second_process_replays_the_same_state_and_then_only_the_tail(tmp_path):
    path = tmp_path / "s.journal"
    a = JournalStorage(path)
    sid = _some_history(a)
    b = JournalStorage(path)
    assert _snapshot(b) == _snapshot(a)
    size = path.stat().st_size
    assert b._offset == size
    # b reads only the new tail: a later change is seen, nothing is replayed twice
    t = a.start_trial(sid, P, worker="w9")
    got = b.get_trial(t.trial_id)
    assert got.state is TrialState.RUNNING and b.counts(sid) == a.counts(sid)
    assert b.counts(sid).total == 4 and b._offset == path.stat().st_size > size
    b.finish_trial(t.trial_id, worker="w9", state=TrialState.FAILED, message="boom")
    assert a.get_trial(t.trial_id).message == "boom"
    assert _snapshot(JournalStorage(path)) == _snapshot(a) == _snapshot(b)


def test_reclaim_stale_decides_by_the_logged_time_in_every_replay(tmp_path):
    path = tmp_path / "s.journal"
    a = JournalStorage(path)
    sid = a.create_study("s", space=SPACE, direction="minimize").study_id
    t = a.start_trial(sid, P, worker="w")
    time.sleep(0.05)
    assert [x.number for x in a.reclaim_stale(sid, grace=0.01, requeue=True)] == [t.number]
    # replayed much later (every heartbeat is now "older"), the outcome is the one logged
    later = JournalStorage(path)
    assert later.get_trial(t.trial_id).state is TrialState.WAITING
    assert later.get_trial(t.trial_id).system_attrs["requeued"].startswith("lost")


def test_a_torn_last_line_is_skipped_and_never_glued_onto(tmp_path):
    path = tmp_path / "s.journal"
    a = JournalStorage(path)
    sid = a.create_study("s", space=SPACE, direction="minimize").study_id
    good = a.start_trial(sid, P, worker="w")
    # a writer killed mid-write leaves half a record and no newline
    torn = json.dumps({"op": "start", "study": sid, "params": P, "worker": "dead", "t": 1.0})
    with open(path, "ab") as f:
        f.write(torn[: len(torn) // 2].encode())
    reader = JournalStorage(path)
    assert reader.counts(sid).running == 1 and reader._tail  # waits before the unfinished line
    t = a.start_trial(sid, P, worker="w2")  # the next writer ends the torn line first
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and json.loads(lines[-2])["worker"] == "w2"
    assert all(line.startswith(b"{") for line in lines[:-1])
    for st in (a, reader, JournalStorage(path)):
        assert st.counts(sid).running == 2
        assert [x.worker for x in st.get_trials(sid)] == ["w", "w2"]
        assert st.get_trial(t.trial_id).number == 1
    assert reader.skipped_lines == 1 and JournalStorage(path).skipped_lines == 1
    assert a.get_trial(good.trial_id).number == 0


def test_garbage_lines_are_skipped_alike_by_all_readers(tmp_path):
    path = tmp_path / "s.journal"
    a = JournalStorage(path)
    sid = a.create_study("s", space=SPACE, direction="minimize").study_id
    with open(path, "ab") as f:
        f.write(b'\0\0\0\0\n[1, 2]\n{"op": "finish", "trial": 99, "t": 1}\n')
    t = a.start_trial(sid, P, worker="w")
    b = JournalStorage(path)
    assert b.skipped_lines == a.skipped_lines == 3
    assert b.get_trial(t.trial_id) == a.get_trial(t.trial_id)


def test_a_failed_write_changes_nothing(tmp_path):
    a = JournalStorage(tmp_path / "s.journal")
    sid = a.create_study("s", space=SPACE, direction="minimize").study_id
    t = a.start_trial(sid, P, worker="w")
    size = (tmp_path / "s.journal").stat().st_size
    with pytest.raises(ValueError):
        a.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=float("nan"))
    assert a.finish_trial(t.trial_id, worker="other", state=TrialState.FAILED) is None
    assert a.start_trial(sid, P, worker="w", limit=1) is None  # budget used up: nothing logged
    assert (tmp_path / "s.journal").stat().st_size == size
    with pytest.raises(tk.DuplicatedStudyError, match="journal:///"):
        a.create_study("s", space=SPACE, direction="minimize")


# ---------------------------------------------------------------- the lock
def test_lock_of_a_killed_holder_on_this_host_is_broken_at_once(tmp_path):
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2])\n"
        "from tansaku.storage._nfslock import NFSLock\n"
        "NFSLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)\n"
    )
    lock_path = tmp_path / "x.lock"
    src = os.path.dirname(os.path.dirname(tk.__file__))
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(lock_path), src], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout.readline().strip() == "held"
    p.kill()
    p.wait()
    assert os.path.islink(lock_path)  # left behind by the killed holder
    t0 = time.monotonic()
    lock = NFSLock(lock_path, stale_after=60.0, timeout=5.0)
    with lock:
        assert lock.still_held()
    assert time.monotonic() - t0 < 2.0
    assert os.listdir(tmp_path) == []  # no leftovers


def _foreign_lock(path, age: float) -> None:
    path.write_text(f"elsewhere-{socket.gethostname()} x 1 t0")
    os.utime(path, (time.time() - age, time.time() - age))


def test_lock_of_another_host_is_broken_only_when_stale(tmp_path):
    path = tmp_path / "x.lock"
    _foreign_lock(path, age=0.0)
    with pytest.raises(StorageError, match="could not lock .* within 0 s"):
        NFSLock(path, stale_after=30.0, timeout=0.3).acquire()
    assert path.read_text().split()[3] == "t0"  # a fresh foreign lock is left alone
    _foreign_lock(path, age=31.0)
    lock = NFSLock(path, stale_after=30.0, timeout=2.0)
    lock.acquire()
    assert lock.still_held() and os.readlink(path).split()[2] == str(os.getpid())
    lock.release()
    assert not os.path.lexists(path)


def test_a_held_lock_is_refreshed_so_it_never_looks_stale(tmp_path):
    path = tmp_path / "x.lock"
    lock = NFSLock(path, stale_after=0.4, timeout=1.0)
    with lock:
        os.utime(path, (time.time() - 10, time.time() - 10), follow_symlinks=False)
        time.sleep(0.5)  # the refresher runs every stale_after / 4
        assert time.time() - path.lstat().st_mtime < 0.4
        with pytest.raises(StorageError):  # a second owner waits, it does not break it
            NFSLock(path, stale_after=0.4, timeout=0.6).acquire()
        assert lock.still_held()


def _hammer(path: str, worker: str, n: int, start) -> None:
    st = JournalStorage(path)
    sid = st.get_study("h").study_id
    start.wait(30)  # all four contend from the first trial, even on a loaded machine
    while True:
        t = st.start_trial(sid, P, worker=worker, limit=n)
        if t is None:
            return
        st.report(t.trial_id, 1, 0.5)
        st.finish_trial(t.trial_id, worker=worker, state=TrialState.COMPLETE, value=1.0)
        time.sleep(0.002)  # give the other processes a turn at the lock between trials


def test_processes_never_exceed_the_budget_nor_share_a_number(tmp_path):
    path = str(tmp_path / "h.journal")
    JournalStorage(path).create_study("h", space=SPACE, direction="minimize")
    ctx = mp.get_context("fork")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_hammer, args=(path, f"p{i}", 120, start)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    st = JournalStorage(path)
    sid = st.get_study("h").study_id
    trials = st.get_trials(sid)
    assert st.counts(sid).complete == 120 and len(trials) == 120
    assert sorted(t.number for t in trials) == list(range(120))
    assert len({t.worker for t in trials}) >= 2
    assert st.skipped_lines == 0


# ---------------------------------------------------------------- URLs and the study API
def test_journal_url_relative_to_the_config_and_absolute(tmp_path, monkeypatch):
    from tansaku.cli._config import load_config

    (tmp_path / "cfg").mkdir()
    cfg = tmp_path / "cfg" / "study.yaml"
    cfg.write_text(
        "storage: journal:///data/s.journal\nn_trials: 2\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "command: [echo, '{x}']\n"
    )
    assert load_config(cfg).storage == f"journal:///{tmp_path / 'cfg' / 'data' / 's.journal'}"
    monkeypatch.chdir(tmp_path)
    study = tk.create_study(SPACE, storage="journal:///rel.journal", name="r")
    assert (tmp_path / "rel.journal").exists() and study.storage.url.startswith("journal:////")
    with pytest.raises(tk.ConfigError, match="journal URL needs a file path"):
        get_storage("journal:///")


def test_optimize_and_resume_on_a_journal_study(tmp_path):
    url = f"journal:///{tmp_path / 'o.journal'}"
    study = tk.create_study(SPACE, storage=url, name="o", sampler={"name": "random", "seed": 0})
    study.optimize(lambda t: t.params["x"], n_trials=5)
    again = tk.load_study("o", storage=url)
    again.optimize(lambda t: t.params["x"], n_trials=3)
    assert tk.load_study("o", storage=url).counts().complete == 8
    assert again.best_value == min(t.value for t in again.trials)


# ---------------------------------------------------------------- SQLite on a network filesystem
MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,vers=4.2 0 0
/dev/sdb1 /home/local ext4 rw 0 0
10.0.0.1@tcp:/lfs /lustre lustre rw 0 0
//fs/share /mnt/my\\040share cifs rw 0 0
/dev/sdc /lustre/scratch/tmpfs tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/home/alice/db", "nfs4"),
        ("/home", "nfs4"),
        ("/home/local/db", None),  # the longest mount point wins: a local disk under /home
        ("/home/localx/db", "nfs4"),  # a prefix of the name is not a parent directory
        ("/lustre/proj/x", "lustre"),
        ("/lustre/scratch/tmpfs/x", None),
        ("/mnt/my share/x", "cifs"),
        ("/tmp", None),
    ],
)
def test_network_filesystem_from_mounts_text(path, expected):
    assert network_filesystem(path, MOUNTS) == expected


def test_a_later_mount_over_the_same_point_wins():
    text = "a /data ext4 rw 0 0\nb:/x /data nfs rw 0 0\n"
    assert network_filesystem("/data/f", text) == "nfs"
    assert network_filesystem("/data/f", text + "c /data xfs rw 0 0\n") is None


def test_sqlite_on_nfs_warns_once_naming_the_journal(tmp_path, monkeypatch, caplog):
    import tansaku.storage._netfs as netfs

    monkeypatch.setattr(netfs, "network_filesystem", lambda path, mounts=None: "nfs4")
    db = tmp_path / "x.db"
    with caplog.at_level(logging.WARNING, logger="tansaku.storage"):
        warn_if_network_sqlite(db)
        warn_if_network_sqlite(db)
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "\n" not in msgs[0]
    assert "nfs4" in msgs[0] and f"journal:///{tmp_path / 'x'}.journal" in msgs[0]


def test_sqlite_on_a_local_disk_does_not_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="tansaku.storage"):
        get_storage(f"sqlite:///{tmp_path / 'local.db'}").close()
    assert not [r for r in caplog.records if r.name == "tansaku.storage"]


def test_leftover_unique_files_of_killed_processes_are_removed(tmp_path):
    path = tmp_path / "x.lock"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    left = tmp_path / f"x.lock.{socket.gethostname()}.{dead}.abcd"
    mine = tmp_path / f"x.lock.{socket.gethostname()}.{os.getpid()}.ef01"
    left.write_text("{}")
    mine.write_text("{}")
    with NFSLock(path):
        pass
    assert not left.exists() and mine.exists()


def test_cli_commands_on_a_journal_study(tmp_path):
    (tmp_path / "study.yaml").write_text(
        "name: cli\nstorage: journal:///cli.journal\nn_trials: 3\n"
        "sampler: {name: random, seed: 0}\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "command: [sh, -c, 'echo \"$1\"', sh, '{x}']\n"
    )

    def tansaku(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tansaku", *args]
        return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    missing = tansaku(
        "status", "--storage", f"journal:///{tmp_path / 'no.journal'}", "--study", "x"
    )
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert not (tmp_path / "no.journal").exists()
    assert tansaku("run", "-q", "study.yaml").returncode == 0
    status = tansaku("status", "study.yaml")
    assert "3 of 3 done" in status.stdout and "journal:////" in status.stdout
    rows = json.loads(tansaku("export", "--format", "json", "study.yaml").stdout)
    assert len(rows) == 3 and all(r["value"] == r["params"]["x"] for r in rows)
