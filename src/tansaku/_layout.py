"""The on-disk layout of a study's run directory, in one place.

::

    <base>/<study dir>/              base: runs/ next to the config (tansaku run), else ./runs
        .tansaku-study               the exact study name: whose directory this is
        tansaku-journal.jsonl        results the storage could not take (study/_journal.py)
        setup/                       the setup step (study/_setup.py)
        trial-NNNNNN/                one trial (stdout.txt, stderr.txt, ...)
            repeat-K/                its K-th evaluation when repeats > 1
            reevaluation-K/          re-evaluations (tansaku reevaluate)
        jobs/job-NNNNNN-TOKEN/       a batch job of several trials (executors/_batch.py)

An explicit ``workdir`` replaces ``<base>/<study dir>`` and is used as given.

**The study directory name is injective**: a readable slug of the name plus a short hash of the
exact name (``exp 1`` -> ``exp_1-<hash>``, ``exp_1`` -> ``exp_1-<other hash>``, ``学習`` ->
``study-<hash>``), so two studies never share a directory.  The marker file ``.tansaku-study``
holds the exact name; a directory whose marker names another study (a hash-prefix collision) is
never used: a longer hash is taken instead.

**Old studies keep their directories.**  Before this layout the directory was the name with every
character outside ``[A-Za-z0-9_.-]`` replaced by ``_`` (``_names.dir_name``; the batch executor's
fallback also prefixed ``t`` when the name did not start with a letter).  When the new directory
does not exist yet and such a legacy directory does, it is used if

* its marker names this study, or
* it has no marker and the study ran there before: the finished trials the storage holds record
  directories (``system_attrs["workdir"]``) and one of them lies in a directory of that name; or,
  when none records a directory (Python objectives), the study has started a trial or its setup
  step before.  A brand-new study never adopts a legacy directory.

An adopted legacy directory gets the marker, so the first of two old colliding studies to run
again keeps it and the other one moves to its own new directory from then on (its finished
trials keep their recorded directories).

**A full disk is one error.**  Writes into the run directory go through :func:`writing`, which
turns "no space left on device" and "disk quota exceeded" into :class:`~tansaku.DiskFullError`
naming the path; the coordinator then re-queues the running trials and stops with that one line.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tansaku._errors import DiskFullError, StudyNotFoundError
from tansaku._names import dir_name
from tansaku._records import TrialState

if TYPE_CHECKING:
    from tansaku.storage._base import BaseStorage

__all__ = [
    "MARKER",
    "RUNS",
    "default_study_dir",
    "default_trial_dir",
    "disk_full_error",
    "is_disk_full",
    "job_dir",
    "jobs_dir",
    "make_dir",
    "reevaluation_dir",
    "repeat_dir",
    "setup_dir",
    "study_dir",
    "study_dir_name",
    "trial_dir",
    "writing",
]

RUNS = "runs"
MARKER = ".tansaku-study"
_SLUG = 40  # characters of the readable part
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_EVIDENCE = 50  # finished trials looked at to recognise a legacy directory (once per study)


class StudyLike(Protocol):
    """What :func:`study_dir` reads from a study (a :class:`~tansaku.Study` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def storage(self) -> BaseStorage: ...
    @property
    def study_id(self) -> int: ...
    @property
    def system_attrs(self) -> Mapping[str, Any]: ...


# ------------------------------------------------------------------------------------ names
def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:_SLUG] or "study"


def study_dir_name(name: str, length: int = 8) -> str:
    """The study's directory name: a readable slug and ``length`` hex digits of the SHA-256 of
    the exact name (never ``.``/``..``, at most 105 characters)."""
    return f"{_slug(name)}-{_digest(name)[:length]}"


def _candidates(name: str) -> list[str]:
    return [study_dir_name(name, n) for n in (8, 16, 64)]


def _legacy_names(name: str) -> list[str]:
    old = dir_name(name)
    batch = old if old[:1].isalpha() else "t" + old  # executors/_batch.py's old fallback
    return list(dict.fromkeys([old, batch[:64]]))


def trial_dir(root: Path, number: int) -> Path:
    """The directory of trial ``number`` under the study directory ``root``."""
    return Path(root) / f"trial-{number:06d}"


def repeat_dir(root: Path, number: int, k: int) -> Path:
    """The ``k``-th evaluation of trial ``number`` when each point is evaluated several times."""
    return trial_dir(root, number) / f"repeat-{k}"


def reevaluation_dir(root: Path, number: int, k: int) -> Path:
    """The ``k``-th evaluation of trial ``number``'s point made by ``reevaluate``."""
    return trial_dir(root, number) / f"reevaluation-{k}"


def setup_dir(root: Path) -> Path:
    """The setup step's default directory."""
    return Path(root) / "setup"


def jobs_dir(root: Path) -> Path:
    """Where a batch job running several trials keeps its script and log."""
    return Path(root) / "jobs"


# ------------------------------------------------------------------------------- markers
def _owner(d: Path) -> str | None:
    """The study named by ``d``'s marker; None without one."""
    try:
        return (d / MARKER).read_bytes().decode("utf-8", "surrogatepass")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # unreadable: not ours to use


def _claim(d: Path, name: str) -> bool:
    """Mark ``d`` as ``name``'s unless it is marked already; True if it is (now) ``name``'s.
    Atomic (a complete file is linked into place), so concurrent coordinators agree."""
    marker = d / MARKER
    tmp = d / f"{MARKER}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    with writing(marker):
        try:
            tmp.write_bytes(name.encode("utf-8", "surrogatepass"))
            os.link(tmp, marker)
        except FileExistsError:
            return _owner(d) == name
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return True


def _ran_in(study: StudyLike, d: Path) -> bool:
    """Did ``study`` run in the legacy directory ``d`` (see the module docstring)?"""
    st, sid = study.storage, study.study_id
    finished = st.get_trials(
        sid,
        states=[TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED],
        limit=_EVIDENCE,
    )
    recorded = []
    for t in finished:
        recorded.append(t.system_attrs.get("workdir"))
        evaluations = t.system_attrs.get("evaluations")
        if isinstance(evaluations, list):
            recorded += [e.get("workdir") for e in evaluations if isinstance(e, Mapping)]
    paths = [Path(p) for p in recorded if isinstance(p, str) and p]
    if paths:
        return any(d.name in p.parts for p in paths)
    c = st.counts(sid)
    return c.running + c.finished > 0 or isinstance(study.system_attrs.get("setup"), Mapping)


def study_dir(base: str | Path, study: StudyLike | str) -> Path:
    """The study's directory under ``base``, created and marked (see the module docstring).

    Given only a name (no storage to ask), a legacy directory is used only if its marker names
    the study."""
    base = Path(base).resolve()
    name = study if isinstance(study, str) else study.name
    with writing(base):
        for cand in _candidates(name):
            d = base / cand
            if not d.is_dir():
                break
            owner = _owner(d)
            if owner == name or (owner is None and _claim(d, name)):
                return d
        for old in _legacy_names(name):
            d = base / old
            if not d.is_dir():
                continue
            owner = _owner(d)
            if owner == name:
                return d
            if owner is None and not isinstance(study, str):
                with contextlib.suppress(StudyNotFoundError):
                    if _ran_in(study, d) and _claim(d, name):
                        return d
        for cand in _candidates(name):
            d = base / cand
            d.mkdir(parents=True, exist_ok=True)
            if _owner(d) == name or _claim(d, name):
                return d
    raise DiskFullError(f"no directory for study {name!r} under {base}: every name is taken")


def default_study_dir(study: StudyLike | str) -> Path:
    """The study's directory when no ``workdir`` is given: under ``./runs`` of the current
    directory (``tansaku run`` uses ``runs/`` next to the config instead)."""
    return study_dir(Path.cwd() / RUNS, study)


def default_trial_dir(study_name: str, number: int) -> Path:
    """A trial's directory when the caller gave none: under ``./runs`` (executors and direct
    calls of a Command that have no study to ask)."""
    return trial_dir(default_study_dir(study_name or "study"), number)


def job_dir(root: Path, number: int, token: str) -> Path:
    """The directory of a batch job of several trials (its script and log): named by its first
    trial's number and the executor's ``token``."""
    return jobs_dir(root) / f"job-{number:06d}-{token}"


# --------------------------------------------------------------------------- full disks
def is_disk_full(e: BaseException) -> bool:
    """Is ``e`` "no space left on device" or "disk quota exceeded"?"""
    return isinstance(e, OSError) and e.errno in _FULL


def disk_full_error(
    e: OSError, path: str | Path | None = None, trial_id: int | None = None
) -> DiskFullError:
    """The one-line error for a full file system met while writing ``path`` (default: the file
    the error names)."""
    where = path if path is not None else e.filename
    return DiskFullError(
        f"no space left on device writing {where}: {e.strerror or e}", trial_id=trial_id
    )


@contextlib.contextmanager
def writing(path: str | Path, *, trial_id: int | None = None) -> Iterator[None]:
    """Turn a full disk met inside the block into :class:`~tansaku.DiskFullError` naming the file
    (the one the error names, else ``path``); other errors pass through."""
    try:
        yield
    except OSError as e:
        if not is_disk_full(e):
            raise
        raise disk_full_error(e, e.filename or path, trial_id) from None


def make_dir(path: str | Path, *, trial_id: int | None = None) -> Path:
    """``mkdir -p`` that reports a full disk as :class:`~tansaku.DiskFullError`."""
    with writing(path, trial_id=trial_id):
        Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)
