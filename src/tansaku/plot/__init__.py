"""Matplotlib figures of a study: ``tansaku.plot.history(study)`` and friends.

Each function takes a :class:`~tansaku.Study` (or a :class:`~tansaku.report.TrialTable`, or the
plain data object of that plot from :mod:`tansaku.report`) and returns a
``matplotlib.figure.Figure``; save it with ``fig.savefig("history.png")``.  Importing this module
is cheap; matplotlib (the ``plot`` extra) loads on the first call.  An empty study gives a figure
that says so instead of an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tansaku.report import (
    _contour,
    _curves,
    _ecdf,
    _history,
    _importance,
    _parallel,
    _slices,
    _timeline,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "contour",
    "ecdf",
    "history",
    "importance",
    "learning_curves",
    "parallel_coordinates",
    "slices",
    "timeline",
]


def history(study: Any, **options: Any) -> Figure:
    """Best value so far by trial number and by wall time; failed trials as marks on the axis."""
    from tansaku.plot._render import render_history

    data = study if isinstance(study, _history.History) else _history.history(study, **options)
    return render_history(data)


def parallel_coordinates(study: Any, **options: Any) -> Figure:
    """One line per trial through every parameter (``params=[...]`` to choose) and the objective."""
    from tansaku.plot._render import render_parallel_coordinates

    data = (
        study
        if isinstance(study, _parallel.ParallelCoordinates)
        else _parallel.parallel_coordinates(study, **options)
    )
    return render_parallel_coordinates(data)


def slices(study: Any, **options: Any) -> Figure:
    """The objective against each parameter (log axes for log parameters)."""
    from tansaku.plot._render import render_slices

    data = study if isinstance(study, _slices.Slices) else _slices.slices(study, **options)
    return render_slices(data)


def importance(study: Any, **options: Any) -> Figure:
    """Share of the objective's variance each parameter explains (``model="numpy"|"sklearn"``)."""
    from tansaku.plot._render import render_importance

    data = (
        study
        if isinstance(study, _importance.Importance)
        else _importance.importance(study, **options)
    )
    return render_importance(data)


def timeline(study: Any, **options: Any) -> Figure:
    """Gantt chart of trials per worker lane, with each lane's busy fraction."""
    from tansaku.plot._render import render_timeline

    data = study if isinstance(study, _timeline.Timeline) else _timeline.timeline(study, **options)
    return render_timeline(data)


def learning_curves(study: Any, **options: Any) -> Figure:
    """Intermediate values by step; pruned trials marked, the pruner's cut-off dashed
    (``pruner=`` to choose whose; a Study's own by default)."""
    from tansaku.plot._render import render_learning_curves

    data = (
        study
        if isinstance(study, _curves.LearningCurves)
        else _curves.learning_curves(study, **options)
    )
    return render_learning_curves(data)


def contour(study: Any, **options: Any) -> Figure:
    """The objective over pairs of the most important numeric parameters (``params=[...]``)."""
    from tansaku.plot._render import render_contour

    data = study if isinstance(study, _contour.Contour) else _contour.contour(study, **options)
    return render_contour(data)


def ecdf(study: Any, **options: Any) -> Figure:
    """The empirical distribution of the complete trials' values."""
    from tansaku.plot._render import render_ecdf

    data = study if isinstance(study, _ecdf.ECDF) else _ecdf.ecdf(study, **options)
    return render_ecdf(data)
