"""What every training-library integration shares: importing the library with an error that names
the extra to install, and the report-then-maybe-prune step each pruning callback takes."""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any

from tansaku._errors import ConfigError, TrialPruned
from tansaku._install import install_hint

__all__ = ["report_and_prune", "require"]


def require(module: str, *, extra: str, user: str, package: str | None = None) -> ModuleType:
    """Import ``module`` for ``user`` (the integration's module name), or raise an ImportError
    that says which extra (or package) to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{user} needs {package or module}: {install_hint(extra)} (or {package or module})"
        ) from e


def check_monitor(monitor: Any) -> None:
    """Refuse a ``monitor`` that cannot name a logged metric (a one-line ConfigError)."""
    if not isinstance(monitor, str) or not monitor:
        raise ConfigError("must be the name of a logged metric, e.g. 'val_loss'", field="monitor")


def observed(value: Any, *, key: str, field: str) -> float:
    """``value`` as a float for :meth:`tansaku.Trial.report` (a library's metric can be a numpy or
    torch scalar); a value that is not a number raises a ConfigError naming ``field`` and ``key``."""
    if hasattr(value, "item"):  # numpy / torch scalars and 1-element tensors
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"the metric {key!r} is not a number (got {type(value).__name__})", field=field
        ) from None


def report_and_prune(trial: Any, value: float, step: int, *, key: str) -> None:
    """Report ``value`` at ``step`` to ``trial`` and raise :class:`tansaku.TrialPruned` when the
    study's pruner then says the trial should stop.  A nan/inf value is not reported (the trial
    ignores it) but the pruner is still asked, so a diverged run can still be cut by the others'."""
    if math.isfinite(value):
        trial.report(value, step)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step} ({key} = {value:g})")
