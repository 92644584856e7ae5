"""Checks of user-given numbers and paths: one rule, one wording, a ``ConfigError`` naming the field.

Every option that takes a count, a duration or a path (run options, config keys, command-line
flags, sampler/pruner/executor options) is checked here, so ``n_trials: 0`` in a YAML file,
``study.optimize(n_trials=0)`` and ``--n-trials 0`` are refused by the same rule.  The messages read
``<field>: must be an integer > 0 and <= 2147483647, got 0``; an unbounded positive number reads
``must be a positive number, got -1``.  Nothing here raises anything but :class:`ConfigError`
(a huge int, NaN, a numpy scalar or a string all give the one-line error).

This module imports only :mod:`tansaku._errors`, so every layer may use it.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

from tansaku._errors import ConfigError

__all__ = [
    "MAX_COUNT",
    "MAX_SECONDS",
    "check_count",
    "check_number",
    "check_path",
    "describe_number",
]

#: the largest count (n_trials, n_workers, ...) a config may give: trial numbers and counts are
#: PostgreSQL ``integer`` columns
MAX_COUNT = 2**31 - 1
#: the longest duration in seconds (timeout, stale_after, ...): about 31 years, well inside what
#: ``time.sleep``/``threading`` accept (``threading.TIMEOUT_MAX``)
MAX_SECONDS = 1e9


def describe_number(value: Any) -> str:
    """``value`` shown in an error: a short repr for numbers (a 10,000-digit int is described,
    not printed), the type's name for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return type(value).__name__
    if isinstance(value, int) and value.bit_length() > 200:  # its repr may not even exist
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_number(
    value: Any,
    field: str,
    *,
    integer: bool = False,
    low: float = 0.0,
    low_open: bool = True,
    high: float = math.inf,
    none_ok: bool = False,
) -> Any:
    """``value`` checked to be a finite number (``integer``: an int, numpy ints included; never a
    bool) with ``low < value`` (``low_open``) or ``low <= value``, and ``value <= high``.

    Returns the value as given (a numpy scalar as the Python int/float), or None when it is None
    and ``none_ok``.  Anything else raises a one-line ``ConfigError`` naming ``field``."""
    if value is None and none_ok:
        return None
    if integer:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        try:
            v = float(value)
        except OverflowError:
            v = math.inf
        ok = (
            math.isfinite(v)
            and (value > low if low_open else value >= low)
            and (high == math.inf or value <= high)
        )
    if not ok:
        kind = "an integer" if integer else "a number"
        if high == math.inf and low == 0 and low_open:
            wanted = f"a positive {kind.split()[-1]}"
        else:
            wanted = f"{kind} {'>' if low_open else '>='} {low:g}"
            if high != math.inf:
                wanted += f" and <= {int(high) if integer else format(high, 'g')}"
        raise ConfigError(f"must be {wanted}, got {describe_number(value)}", field=field)
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        return value.item()  # numpy scalar -> Python number
    return value


def check_count(
    value: Any, field: str, *, low: int = 1, high: float = MAX_COUNT, none_ok: bool = False
) -> Any:
    """A count (``--n-trials``, ``--top``, ``--port`` ...): an integer with ``low <= value <=
    high``, by the rule of :func:`check_number`; None passes when ``none_ok``."""
    return check_number(
        value, field, integer=True, low=low, low_open=False, high=high, none_ok=none_ok
    )


def check_path(value: Any, field: str, *, none_ok: bool = False) -> Any:
    """``value`` checked to be a path: a non-empty ``str`` or ``os.PathLike`` without NUL bytes
    (the OS refuses those).  Returned as given; None passes when ``none_ok``."""
    if value is None and none_ok:
        return None
    text = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(text, str) or not text:
        got = repr(text) if isinstance(text, str) else type(value).__name__
        raise ConfigError(f"must be a path, got {got}", field=field)
    if "\0" in text:
        raise ConfigError("a path cannot contain a NUL byte", field=field)
    return value
