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


def _draw(study: Any, kind: type, compute: Any, render: str, options: dict[str, Any]) -> Figure:
    """``render`` (a ``tansaku.plot._render`` function) of ``study`` when it already is the
    plot's data object ``kind``, else of ``compute(study, **options)``: every wrapper below."""
    from tansaku.plot import _render

    data = study if isinstance(study, kind) else compute(study, **options)
    fig: Figure = getattr(_render, render)(data)
    return fig


def history(study: Any, **options: Any) -> Figure:
    """Best value so far by trial number and by wall time; failed trials as marks on the axis."""
    return _draw(study, _history.History, _history.history, "render_history", options)


def parallel_coordinates(study: Any, **options: Any) -> Figure:
    """One line per trial through every parameter (``params=[...]`` to choose) and the objective."""
    return _draw(
        study,
        _parallel.ParallelCoordinates,
        _parallel.parallel_coordinates,
        "render_parallel_coordinates",
        options,
    )


def slices(study: Any, **options: Any) -> Figure:
    """The objective against each parameter (log axes for log parameters)."""
    return _draw(study, _slices.Slices, _slices.slices, "render_slices", options)


def importance(study: Any, **options: Any) -> Figure:
    """Share of the objective's variance each parameter explains (``model="numpy"|"sklearn"``)."""
    return _draw(
        study, _importance.Importance, _importance.importance, "render_importance", options
    )


def timeline(study: Any, **options: Any) -> Figure:
    """Gantt chart of trials per worker lane, with each lane's busy fraction."""
    return _draw(study, _timeline.Timeline, _timeline.timeline, "render_timeline", options)


def learning_curves(study: Any, **options: Any) -> Figure:
    """Intermediate values by step; pruned trials marked, the pruner's cut-off dashed
    (``pruner=`` to choose whose; a Study's own by default, else the one its latest run
    recorded)."""
    return _draw(
        study, _curves.LearningCurves, _curves.learning_curves, "render_learning_curves", options
    )


def contour(study: Any, **options: Any) -> Figure:
    """The objective over pairs of the most important numeric parameters (``params=[...]``)."""
    return _draw(study, _contour.Contour, _contour.contour, "render_contour", options)


def ecdf(study: Any, **options: Any) -> Figure:
    """The empirical distribution of the complete trials' values."""
    return _draw(study, _ecdf.ECDF, _ecdf.ecdf, "render_ecdf", options)
