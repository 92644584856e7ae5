"""Calling a Python objective and turning whatever happens into an :class:`Outcome`."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from tansaku._errors import TrialPruned
from tansaku._records import TrialState
from tansaku._trial import Trial
from tansaku.objectives._base import Outcome

__all__ = ["as_value", "as_values", "run_callable", "tail"]

TAIL_CHARS = 4000


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def as_value(result: Any, what: str = "the objective returned") -> tuple[float | None, str | None]:
    """``(value, None)`` for a usable objective value, else ``(None, reason)``; never raises.

    The one place where a raw result (a Python objective's return, a number in a command's JSON
    result file, a value given to ``tell``) becomes a float: ``None``, a bool, nan, +-inf, a
    non-number, an int too large for a float (``10**400``) or a ``__float__`` that raises are all
    reasons.  ``what`` starts the reason (``"the result in r.json is"``)."""
    if result is None:
        return None, f"{what} None"
    if isinstance(result, bool):
        return None, f"{what} a bool ({result}), not a number"
    try:
        value = float(result)
    except OverflowError:
        return None, f"{what} an integer too large for a float ({_short(result)})"
    except Exception:  # TypeError, ValueError, or whatever a user's __float__ raises
        return None, f"{what} {type(result).__name__}, not a number"
    if math.isnan(value):
        return None, f"{what} nan"
    if math.isinf(value):
        return None, f"{what} {value}"
    return value, None


def as_values(
    result: Any, what: str = "the objective returned"
) -> tuple[float | None, tuple[float, ...] | None, str | None]:
    """``(value, values, None)`` for a usable result, else ``(None, None, reason)``; never raises.

    A number gives ``(value, None, None)`` (see :func:`as_value`); a sequence of numbers (list,
    tuple, numpy array: several objectives) gives its first as ``value`` and all as ``values``,
    each checked by :func:`as_value` (the reason names the bad one's position)."""
    if _is_sequence(result):
        items = list(result)
        if not items:
            return None, None, f"{what} an empty sequence"
        out: list[float] = []
        for i, item in enumerate(items, 1):
            v, reason = as_value(item, what)
            if reason is not None:
                return None, None, f"objective {i}: {reason}"
            assert v is not None
            out.append(v)
        return out[0], tuple(out), None
    value, reason = as_value(result, what)
    return value, None, reason


def _is_sequence(obj: Any) -> bool:
    if isinstance(obj, (str, bytes, bytearray, Mapping)):
        return False
    if getattr(obj, "ndim", None) == 0:  # a numpy scalar
        return False
    return isinstance(obj, (list, tuple)) or (
        hasattr(obj, "__len__") and hasattr(obj, "__getitem__") and hasattr(obj, "__iter__")
    )


def _short(number: Any) -> str:
    """The first digits of a huge int (``str()`` of one over 4,300 digits raises)."""
    try:
        digits = number.bit_length() * 0.30103
        return f"about 10**{digits:.0f}" if digits > 40 else repr(number)
    except Exception:
        return type(number).__name__


def run_callable(objective: Callable[[Trial], Any], trial: Trial) -> Outcome:
    """Run ``objective(trial)``; exceptions become FAILED (traceback kept), ``TrialPruned`` PRUNED.

    ``KeyboardInterrupt`` and ``SystemExit`` propagate: they stop the study, not the trial.
    Whatever the ending, the outcome carries the params the trial used and what it suggested
    (define-by-run, see :meth:`Trial.used`).
    """
    outcome = _run(objective, trial)
    used = trial.used()
    if used is not None:
        outcome.params, outcome.suggested = used
    return outcome


def _run(objective: Callable[[Trial], Any], trial: Trial) -> Outcome:
    try:
        result = objective(trial)
    except TrialPruned as e:
        return Outcome(
            trial.trial_id,
            TrialState.PRUNED,
            message=str(e) or "pruned",
            user_attrs=dict(trial.user_attrs),
            constraints=dict(trial.constraints),
        )
    except Exception as e:
        stderr = getattr(e, "stderr", None)  # CommandFailed carries the program's own stderr
        if isinstance(stderr, str):
            msg = " ".join(str(e).split())
        else:
            stderr = tail(traceback.format_exc())
            msg = " ".join(f"{type(e).__name__}: {e}".split())
        return Outcome(
            trial.trial_id,
            TrialState.FAILED,
            message=msg[:1000],
            stderr=stderr,
            user_attrs=dict(trial.user_attrs),
            constraints=dict(trial.constraints),
        )
    value, values, reason = as_values(result)
    if reason is not None:
        return Outcome(
            trial.trial_id,
            TrialState.FAILED,
            message=reason,
            user_attrs=dict(trial.user_attrs),
            constraints=dict(trial.constraints),
        )
    return Outcome(
        trial.trial_id,
        TrialState.COMPLETE,
        value=value,
        values=values,
        user_attrs=dict(trial.user_attrs),
        constraints=dict(trial.constraints),
    )
