"""Thread pools per trial when several trials share this machine's cores.

OpenMP, OpenBLAS, MKL, numexpr and Apple's Accelerate each start one thread per core by default.
With ``n_workers`` trials at once that is ``n_workers`` times too many threads, and OpenMP's
spinning threads then fight over the cores: 10 scikit-learn HistGradientBoosting trials on two
workers took 110 s with the defaults and 19 s with one thread each (issue 13.7).  So the local
executor gives each trial ``max(1, cores // n_workers)`` threads in :data:`THREAD_VARS` -- unless
the user set any of those variables (in tansaku's environment or a command's ``env:``), which then
all stay as the user left them.  ``cores`` is the CPUs this process may run on
(``os.sched_getaffinity``, so a Slurm/cgroup CPU set counts, not the whole node).

Commands get the variables in their environment.  Python objectives run in worker processes that
set them in ``os.environ`` (for libraries they load later and programs they start) and, through
``threadpoolctl``, also limit the pools of libraries already loaded (a forked worker inherits
numpy's OpenBLAS, sized when the coordinator imported it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

__all__ = ["THREAD_VARS", "thread_env", "threads_limited", "usable_cores"]

#: the variables that size the common native thread pools
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_env(n_workers: int, *, user_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The :data:`THREAD_VARS` to give each of ``n_workers`` concurrent trials: each set to
    ``max(1, usable_cores() // n_workers)``; empty for one worker (the libraries' defaults fit)
    or when any of them is set in ``os.environ`` or ``user_env`` (the user decides)."""
    if n_workers <= 1:
        return {}
    user = {**os.environ, **(user_env or {})}
    if any(v in user for v in THREAD_VARS):
        return {}
    n = str(max(1, usable_cores() // n_workers))
    return dict.fromkeys(THREAD_VARS, n)


@contextlib.contextmanager
def threads_limited(env: Mapping[str, str]) -> Iterator[None]:
    """While a Python objective runs: limit already loaded thread pools to ``env``'s
    ``OMP_NUM_THREADS`` (as :func:`thread_env` made it; nothing when it is absent)."""
    value = env.get("OMP_NUM_THREADS")
    if value is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency, but the limit is a speed-up, not a requirement
        yield
        return
    with threadpool_limits(limits=int(value)):
        yield
