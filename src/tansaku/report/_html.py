"""The HTML report: one self-contained file (images inlined as base64 PNG, CSS inline, no script,
no external URL) plus the same PNGs beside it.

Every text that comes from the study (its name, parameter names and values, worker ids, failure
messages) goes through :func:`html.escape`, and a Content-Security-Policy forbids scripts and
any network access, so a hostile parameter value can neither run nor phone home.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from tansaku.report._contour import Contour, contour
from tansaku.report._curves import LearningCurves, learning_curves
from tansaku.report._ecdf import ECDF, ecdf
from tansaku.report._history import History, history
from tansaku.report._importance import Importance, importance
from tansaku.report._parallel import ParallelCoordinates, parallel_coordinates
from tansaku.report._pareto import Pareto, pareto
from tansaku.report._slices import Slices, slices
from tansaku.report._table import as_table
from tansaku.report._timeline import Timeline, timeline
from tansaku.report._top import TopTrials, top_trials

__all__ = ["PLOTS", "ReportData", "build_report", "render_html", "write_report"]

#: file stem and section title of each figure, in page order
PLOTS: tuple[tuple[str, str], ...] = (
    ("history", "Best value so far"),
    ("timeline", "Trials per worker"),
    ("parallel_coordinates", "Parallel coordinates"),
    ("slices", "Objective by parameter"),
    ("importance", "Parameter importance"),
    ("learning_curves", "Learning curves"),  # studies with reported intermediate values only
    ("contour", "Objective over parameter pairs"),
    ("ecdf", "Distribution of the values"),
    ("pareto", "Pareto front"),  # several objectives only (MULTI_OBJECTIVE_PLOTS)
    ("hypervolume", "Hypervolume over trials"),
)
#: the plots a report has only for a study with several objectives
MULTI_OBJECTIVE_PLOTS = frozenset({"pareto", "hypervolume"})
#: the plots a report has only when some trial reported intermediate values
CURVE_PLOTS = frozenset({"learning_curves"})

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the report shows, computed once from one snapshot of the study."""

    study: str
    direction: str
    sampler: str
    storage: str
    generated_at: float
    first_start: float
    last_end: float
    history: History
    parallel_coordinates: ParallelCoordinates
    slices: Slices
    importance: Importance
    timeline: Timeline
    top: TopTrials
    learning_curves: LearningCurves | None = None
    contour: Contour | None = None
    ecdf: ECDF | None = None
    #: the trade-off view of a study with several objectives (None for one objective)
    pareto: Pareto | None = None


def build_report(
    source: Any,
    *,
    storage_url: str = "",
    importance_model: str = "auto",
    trade_offs: Pareto | None = None,
    pruner: Any = None,
) -> ReportData:
    """Compute every plot's data from a Study / TrialTable (no drawing).  ``trade_offs``: the
    Pareto view of a multi-objective study (computed here when ``source`` is such a Study);
    ``pruner``: whose cut-off the learning curves draw (a Study's own by default)."""
    if not storage_url and hasattr(source, "storage"):
        storage_url = str(getattr(source.storage, "url", ""))
    t = as_table(source)
    if pruner is None:
        pruner = getattr(source, "pruner", None)
    curves = learning_curves(t, pruner=pruner)
    imp = importance(t, model=importance_model)
    ends = t.end[np.isfinite(t.end)]
    return ReportData(
        study=t.study,
        direction=t.direction,
        sampler=t.sampler,
        storage=storage_url,
        generated_at=time.time(),
        first_start=t.origin,
        last_end=float(ends.max()) if ends.size else math.nan,
        history=history(t),
        parallel_coordinates=parallel_coordinates(t),
        slices=slices(t),
        importance=imp,
        timeline=timeline(t),
        top=top_trials(t),
        pareto=trade_offs if trade_offs is not None else _pareto_of(source),
        learning_curves=None if curves.empty else curves,
        contour=contour(t, ranking=imp.names),
        ecdf=ecdf(t),
    )


def _pareto_of(source: Any) -> Pareto | None:
    """The trade-off data when ``source`` is a Study with several objectives."""
    if getattr(source, "n_objectives", 1) <= 1:
        return None
    return pareto(
        source.trials, source.directions, source.objective_names, study=str(source.name)
    )


def render_pngs(data: ReportData, *, dpi: int = 110) -> dict[str, bytes]:
    """Draw each figure (needs matplotlib) and return its PNG bytes by file stem."""
    from tansaku.plot import _render as r

    figures = {
        "history": r.render_history(data.history),
        "timeline": r.render_timeline(data.timeline),
        "parallel_coordinates": r.render_parallel_coordinates(data.parallel_coordinates),
        "slices": r.render_slices(data.slices),
        "importance": r.render_importance(data.importance),
    }
    if data.learning_curves is not None:
        figures["learning_curves"] = r.render_learning_curves(data.learning_curves)
    if data.contour is not None:
        figures["contour"] = r.render_contour(data.contour)
    if data.ecdf is not None:
        figures["ecdf"] = r.render_ecdf(data.ecdf)
    if data.pareto is not None:
        figures["pareto"] = r.render_pareto(data.pareto)
        figures["hypervolume"] = r.render_hypervolume(data.pareto)
    out = {}
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        out[name] = buf.getvalue()
    return out


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _utc(ts: float) -> str:
    if not math.isfinite(ts):
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, cls: str = "") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _workers_text(workers: Sequence[str], lanes: Iterable[int], busy: float) -> str:
    """``1 worker running up to 2 trials at once, 93% busy``: a worker is one coordinator
    (``tansaku run`` or ``tansaku worker``), its lanes the trials it ran at the same time."""
    per = [int(k) for k in lanes]
    n = len(workers)
    at_once = sum(per)
    who = f"{n} worker" if n == 1 else f"{n} workers"
    split = "" if n == 1 else f" ({' + '.join(map(str, per))})"
    trials = "1 trial" if at_once == 1 else f"up to {at_once} trials"
    return f"{who} running {trials} at once{split}, {busy:.0%} busy overall"


def _summary(data: ReportData) -> str:
    c = data.top.counts
    items: list[tuple[str, str]] = [
        ("direction", data.direction),
        ("sampler", data.sampler or "?"),
        (
            "trials",
            f"{c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed, "
            f"{c['running']} running, {c['waiting']} waiting",
        ),
    ]
    if data.top.rows:
        best = dict(zip(data.top.columns, data.top.rows[0]))
        items.append(("best value", f"{best['value']} (trial {best['number']})"))
        params = ", ".join(f"{k}={best[k]}" for k in data.top.param_columns)
        items.append(("best params", params))
    if math.isfinite(data.first_start):
        items.append(("ran", f"{_utc(data.first_start)} → {_utc(data.last_end)}"))
    tl = data.timeline
    if not tl.empty:
        items.append(("workers", _workers_text(tl.workers, tl.worker_lanes, tl.busy)))
    if data.storage:
        items.append(("storage", data.storage))
    items.append(("generated", _utc(data.generated_at)))
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return f'<table class="summary">{rows}</table>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#f6f7f9}
header{background:#23395b;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;opacity:.8;font-size:13px}
main{padding:18px 28px;max-width:1280px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 18px;
margin:0 0 18px}
h2{font-size:16px;margin:0 0 10px}
img{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e8eb;text-align:left;vertical-align:top}
thead th{background:#f0f2f5}
table.summary th{color:#555;font-weight:500;width:120px}
table.trials td{font-variant-numeric:tabular-nums;white-space:nowrap}
td.msg,table.failures td{white-space:pre-wrap;word-break:break-word;max-width:900px}
.note{color:#666;font-size:12px}
.scroll{overflow-x:auto}
"""


def _note(data: ReportData, stem: str) -> str:
    """The line under a figure that says what it cannot show by itself."""
    lc = data.learning_curves
    if stem != "learning_curves" or lc is None:
        return ""
    text = lc.note
    return f'<p class="note">{_e(text)}</p>'


def render_html(data: ReportData, images: Mapping[str, bytes]) -> str:
    """The report page; ``images`` maps the stems of :data:`PLOTS` to PNG bytes."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tansaku report: {_e(data.study)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>Study {_e(data.study)}</h1>"
        f"<p>tansaku report, {_e(_utc(data.generated_at))}</p></header><main>",
        f"<section><h2>Summary</h2>{_summary(data)}</section>",
    ]
    top = data.top
    if top.rows:
        parts.append(
            f'<section><h2>Top {len(top.rows)} trials</h2><div class="scroll">'
            f"{_table(top.columns, top.rows, cls='trials')}</div></section>"
        )
    else:
        parts.append(f'<section><h2>Top trials</h2><p class="note">{_e(top.message)}</p></section>')
    for stem, title in PLOTS:
        png = images.get(stem)
        if png is None:
            continue
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<section><h2>{_e(title)}</h2>"
            f'<img alt="{_e(title)}" src="data:image/png;base64,{b64}">{_note(data, stem)}</section>'
        )
    if top.failures:
        parts.append(
            "<section><h2>Latest failures</h2>"
            f"{_table(('trial', 'message'), [(n, m[:2000]) for n, m in top.failures], cls='failures')}"
            "</section>"
        )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_report(
    source: Any,
    out_dir: str | Path,
    *,
    storage_url: str = "",
    importance_model: str = "auto",
    dpi: int = 110,
    trade_offs: Pareto | None = None,
    pruner: Any = None,
) -> Path:
    """Write ``index.html`` (self-contained) and one PNG per plot into ``out_dir``; returns the
    HTML path.  ``source``: a Study or a TrialTable.  Needs matplotlib (the ``plot`` extra)."""
    from tansaku.plot._render import require_matplotlib

    require_matplotlib()
    data = build_report(
        source,
        storage_url=storage_url,
        importance_model=importance_model,
        trade_offs=trade_offs,
        pruner=pruner,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = render_pngs(data, dpi=dpi)
    for stem, png in images.items():
        (out / f"{stem}.png").write_bytes(png)
    page = out / "index.html"
    page.write_text(render_html(data, images), encoding="utf-8")
    return page
