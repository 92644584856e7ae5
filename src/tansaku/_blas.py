"""Run sampler work with single-threaded BLAS.

Model-based samplers do many small dense linear-algebra calls (Cholesky of a few hundred to a few
thousand rows).  OpenBLAS' threads gain nothing at those sizes and, on a machine whose cores are busy
— with the trials the study itself runs — they spin against each other: a GP suggestion measured
here took 16x longer with the default two BLAS threads than with one.  So the study limits BLAS to
``TANSAKU_BLAS_THREADS`` threads (default 1; ``0`` leaves the libraries alone) while a sampler asks
or learns.  The objective itself is not affected: the limit is lifted when the sampler returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["blas_limit"]

_controller: Any = None
_known_modules = -1


def _threads() -> int:
    try:
        return max(0, int(os.environ.get("TANSAKU_BLAS_THREADS", "1")))
    except ValueError:
        return 1


@contextlib.contextmanager
def blas_limit() -> Iterator[None]:
    global _controller, _known_modules
    n = _threads()
    if n == 0:
        yield
        return
    import sys

    if _controller is None or len(sys.modules) != _known_modules:  # a BLAS may have been loaded since
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional at run time; the limit is a speed-up, not a requirement
            yield
            return
        _controller, _known_modules = ThreadpoolController(), len(sys.modules)
    with _controller.limit(limits=n, user_api="blas"):
        yield
