"""Reports: what a study found, as plain data, matplotlib figures, an HTML page or a live dashboard.

Every plot is computed first as a plain data object from a :class:`TrialTable` (a columnar snapshot
of the study), then drawn: ``tansaku.report.history(study)`` returns a :class:`History`, and
``tansaku.plot.history(study)`` draws it with matplotlib.  The data functions need only numpy;
drawing needs the ``plot`` extra (matplotlib).  Large studies are downsampled (best trials and
every improvement are always kept), so 100k trials render in seconds.

* :func:`history`: best-so-far by trial number and by wall time;
* :func:`parallel_coordinates`, :func:`slices`: where the good trials are;
* :func:`importance`: which parameters matter (fANOVA-style, random forest);
* :func:`learning_curves`: intermediate values by step, pruned trials and the pruner's cut-off;
* :func:`contour`: the objective over pairs of the most important parameters (a smooth fit);
* :func:`ecdf`: the empirical distribution of the values;
* :func:`timeline`: trials per worker over time, and how busy the workers were;
* :func:`top_trials`: the best trials and the newest failures;
* :func:`write_report`: all of the above as a self-contained HTML file plus PNGs.
"""

from __future__ import annotations

from tansaku.report._contour import Contour, ContourPair, contour
from tansaku.report._curves import Curve, LearningCurves, learning_curves
from tansaku.report._ecdf import ECDF, ecdf
from tansaku.report._history import History, history
from tansaku.report._html import write_report
from tansaku.report._importance import Importance, importance
from tansaku.report._parallel import Axis, ParallelCoordinates, parallel_coordinates
from tansaku.report._slices import Slice, Slices, slices
from tansaku.report._table import STATES, TrialTable, as_table
from tansaku.report._timeline import Timeline, timeline
from tansaku.report._top import TopTrials, top_trials

__all__ = [
    "ECDF",
    "STATES",
    "Axis",
    "Contour",
    "ContourPair",
    "Curve",
    "History",
    "Importance",
    "LearningCurves",
    "ParallelCoordinates",
    "Slice",
    "Slices",
    "Timeline",
    "TopTrials",
    "TrialTable",
    "as_table",
    "contour",
    "ecdf",
    "history",
    "importance",
    "learning_curves",
    "parallel_coordinates",
    "slices",
    "timeline",
    "top_trials",
    "write_report",
]
