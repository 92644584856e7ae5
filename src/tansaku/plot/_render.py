"""Matplotlib drawing of the report data objects (``tansaku.report``).

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot, no global state, no GUI
backend), so drawing is safe in threads and servers.  matplotlib is imported on first use; without
it the functions raise an ImportError naming the ``plot`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tansaku._install import install_hint
from tansaku.report._history import History
from tansaku.report._importance import Importance
from tansaku.report._parallel import ParallelCoordinates, objective_scale
from tansaku.report._slices import Slices
from tansaku.report._table import COMPLETE, FAILED, PRUNED, RUNNING
from tansaku.report._timeline import Timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "render_contour",
    "render_ecdf",
    "render_history",
    "render_importance",
    "render_learning_curves",
    "render_parallel_coordinates",
    "render_slices",
    "render_timeline",
    "require_matplotlib",
]

#: one colour per kind of mark, shared by every plot (and the dashboard)
COLORS = {
    "complete": "#4c72b0",
    "best": "#2a9d3a",
    "pruned": "#dd8452",
    "failed": "#c44e52",
    "running": "#9a9a9a",
}
STATE_COLORS = {
    COMPLETE: COLORS["complete"],
    PRUNED: COLORS["pruned"],
    FAILED: COLORS["failed"],
    RUNNING: COLORS["running"],
}


def log_ticks(low: float, high: float, *, most: int = 5) -> list[float]:
    """At most ``most`` readable tick positions on a log axis from ``low`` to ``high`` (> 0):
    1-2-5 steps per decade, else 1-3, else powers of ten (every k-th decade when there are many);
    the two ends when no such value falls in between."""
    if not (0 < low < high and math.isfinite(high)):
        return [v for v in (low, high) if v > 0 and math.isfinite(v)]
    k0, k1 = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [float(f"{m}e{k}") for k in range(k0, k1 + 1) for m in mantissas]
        ticks = [v for v in ticks if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if len(ticks) <= most:
            break
    else:
        step = math.ceil(len(ticks) / most)
        ticks = ticks[::step]
    if len(ticks) < 2:
        ticks = sorted({float(f"{low:.2g}"), *ticks, float(f"{high:.2g}")})
        ticks = [v for v in ticks if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)] or [low, high]
    return ticks


def require_matplotlib() -> Any:
    """The ``matplotlib`` module, or an ImportError that says how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"tansaku plots need matplotlib: {install_hint('plot')}") from None
    return matplotlib


def _figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    """A figure; ``constrained=False`` for figures placed by :func:`_margins` — constrained
    layout measures every tick label twice and costs more than the drawing on multi-panel
    figures."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained" if constrained else None)


def _margins(
    fig: Figure,
    *,
    left: float,
    right: float,
    top: float,
    bottom: float,
    wspace: float = 0.0,
    hspace: float = 0.0,
    ncols: int = 1,
    nrows: int = 1,
) -> None:
    """Place the subplot grid with margins and gaps in inches."""
    w, h = fig.get_size_inches()
    aw = (w - left - right - wspace * (ncols - 1)) / ncols
    ah = (h - top - bottom - hspace * (nrows - 1)) / nrows
    fig.subplots_adjust(
        left=left / w,
        right=1 - right / w,
        bottom=bottom / h,
        top=1 - top / h,
        wspace=wspace / aw,
        hspace=hspace / ah,
    )


def _message(fig: Figure, title: str, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        wrap=True,
        fontsize=11,
        color="#555555",
        transform=ax.transAxes,
    )
    return fig


def _time_unit(span: float) -> tuple[float, str]:
    if span >= 3 * 3600:
        return 3600.0, "hours"
    if span >= 3 * 60:
        return 60.0, "minutes"
    return 1.0, "seconds"


def _value_axis(ax: Axes, values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Scale the objective axis to the COMPLETE trials' values (log when they are positive over
    more than 3 decades; 1st..99th percentile when a few outliers would squash the rest) and
    return a function that pins other values — pruned trials' intermediate values, outliers —
    inside the axis edges, so they stay visible without stretching the axis."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return lambda a: a
    log = bool(v.min() > 0 and v.max() / v.min() > 1e3)
    lo, hi = objective_scale(np.log10(v) if log else v)
    pad = 0.05 * (hi - lo)
    edges = (lo - pad / 2, hi + pad / 2)
    limits = (lo - pad, hi + pad)
    if log:
        ax.set_yscale("log")
        edges = (10 ** edges[0], 10 ** edges[1])
        limits = (10 ** limits[0], 10 ** limits[1])
    ax.set_ylim(*limits)
    return lambda a: np.clip(a, *edges)


def _rug(ax: Axes, x: np.ndarray, *, label: str | None) -> None:
    """Failed trials: red marks along the bottom edge (they have no value to plot)."""
    if x.size == 0:
        return
    ax.scatter(
        x,
        np.full(x.size, 0.02),
        marker="x",
        s=18,
        color=COLORS["failed"],
        linewidths=1,
        transform=ax.get_xaxis_transform(),
        label=label,
        zorder=3,
        clip_on=False,
    )


# ------------------------------------------------------------------------------------- history
def render_history(data: History) -> Figure:
    title = f"{data.study}: best value so far ({data.direction})"
    if data.empty:
        return _message(_figure(10, 3.6), title, str(data.message))
    fig = _figure(11, 4.0, constrained=False)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    _margins(fig, left=0.8, right=0.2, top=0.45, bottom=0.55, wspace=0.2, ncols=2)
    scale, unit = _time_unit(float(np.nanmax(data.best_time)) if data.best_time.size else 0.0)
    panels = (
        (
            ax1,
            data.number,
            data.pruned_number,
            data.failed_number,
            data.best_number,
            data.best_value,
            "trial number",
            1.0,
        ),
        (
            ax2,
            data.time,
            data.pruned_time,
            data.failed_time,
            data.best_time,
            data.best_time_value,
            f"wall time ({unit})",
            scale,
        ),
    )
    pin = _value_axis(ax1, data.value)
    for ax, x, px, fx, bx, by, xlabel, div in panels:
        ax.scatter(
            x / div,
            pin(data.value),
            s=9,
            alpha=0.45,
            color=COLORS["complete"],
            linewidths=0,
            label=f"complete ({data.n_complete})",
        )
        if px.size:
            ax.scatter(
                px / div,
                pin(data.pruned_value),
                s=14,
                marker="^",
                alpha=0.6,
                color=COLORS["pruned"],
                linewidths=0,
                label=f"pruned ({data.n_pruned})",
            )
        fx = fx[np.isfinite(fx)]
        _rug(ax, fx / div, label=f"failed ({data.n_failed})" if data.n_failed else None)
        ax.step(
            bx / div, pin(by), where="post", color=COLORS["best"], linewidth=2, label="best so far"
        )
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.25)
    ax1.set_ylabel("objective")
    ax1.legend(loc="upper right", fontsize=8, framealpha=0.8)
    note = " (sampled points)" if data.downsampled else ""
    fig.suptitle(title + note)
    return fig


# ------------------------------------------------------------------------- parallel coordinates
def render_parallel_coordinates(data: ParallelCoordinates) -> Figure:
    title = f"{data.study}: parallel coordinates"
    if data.empty:
        return _message(_figure(10, 3.6), title, str(data.message))
    require_matplotlib()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    m = len(data.axes)
    right, bottom = 1.1, 0.9 if m > 6 else 0.5
    fig = _figure(max(8.0, 1.6 * m + 2), 4.6, constrained=False)
    ax = fig.add_subplot()
    _margins(fig, left=0.3, right=right, top=0.45, bottom=bottom)
    xs = np.arange(m, dtype=float)
    cmap = colormaps["viridis"]
    complete = data.state == COMPLETE
    obj = data.lines[:, -1]
    goodness = 1.0 - obj if data.direction == "minimize" else obj
    for code, style in ((FAILED, ":"), (PRUNED, "--")):
        sel = data.state == code
        if sel.any():
            segs = [np.column_stack([xs, row]) for row in data.lines[sel]]
            segs = [s[np.isfinite(s[:, 1])] for s in segs]
            ax.add_collection(
                LineCollection(
                    segs, colors=STATE_COLORS[code], linewidths=0.8, alpha=0.5, linestyles=style
                )
            )
    if complete.any():
        segs = [np.column_stack([xs, row]) for row in data.lines[complete]]
        ax.add_collection(
            LineCollection(segs, colors=cmap(goodness[complete]), linewidths=0.9, alpha=0.55)
        )
    for i, axis in enumerate(data.axes):
        ax.axvline(i, color="#333333", linewidth=1)
        for pos, lab in zip(axis.ticks, axis.labels):
            ax.text(
                i + 0.03,
                pos,
                lab,
                fontsize=7,
                va="center",
                ha="left",
                color="#333333",
                bbox={"facecolor": "white", "alpha": 0.6, "pad": 0.5, "linewidth": 0},
            )
    ax.set_xticks(
        xs,
        [a.name + (" (log)" if a.kind == "log" else "") for a in data.axes],
        rotation=20 if m > 6 else 0,
    )
    ax.set_yticks([])
    ax.set_xlim(-0.1, m - 0.6)
    ax.set_ylim(-0.03, 1.03)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    lo, hi = data.objective_range
    sm = ScalarMappable(
        norm=Normalize(lo, hi), cmap=cmap if data.direction == "maximize" else cmap.reversed()
    )
    w, h = fig.get_size_inches()
    cax = fig.add_axes(((w - right + 0.25) / w, bottom / h, 0.14 / w, 1 - (0.45 + bottom) / h))
    fig.colorbar(sm, cax=cax, label="objective")
    n_shown = int(data.lines.shape[0])
    note = f" ({n_shown} of {data.n_trials} trials)" if n_shown < data.n_trials else ""
    fig.suptitle(title + note)
    return fig


# ------------------------------------------------------------------------------------- slices
def render_slices(data: Slices) -> Figure:
    title = f"{data.study}: objective by parameter"
    if data.empty:
        return _message(_figure(10, 3.6), title, str(data.message))
    n = len(data.panels)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    rotated = any(p.kind == "categorical" and len(p.categories) > 3 for p in data.panels)
    bottom = 1.05 if rotated else 0.65  # room for the x label (and slanted category names)
    pw, ph, gap, vgap = 3.0, 2.5, 0.3, bottom + 0.1
    left, right, top = 0.8, 1.1, 0.5
    fig = _figure(
        left + right + ncols * pw + (ncols - 1) * gap,
        top + bottom + nrows * ph + (nrows - 1) * vgap,
        constrained=False,
    )
    grid = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    _margins(
        fig,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        wspace=gap,
        hspace=vgap,
        ncols=ncols,
        nrows=nrows,
    )
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.remove()
    rng = np.random.default_rng(0)
    sc = None
    pin = _value_axis(axes[0], data.panels[0].y)  # y is shared: every panel has the same trials
    for ax, p in zip(axes, data.panels):

        def jitter(x: np.ndarray, p: Any = p) -> np.ndarray:
            if p.kind != "categorical":
                return x
            return x + rng.uniform(-0.18, 0.18, size=x.size)

        sc = ax.scatter(
            jitter(p.x), pin(p.y), c=p.number, cmap="viridis", s=9, alpha=0.6, linewidths=0
        )
        if p.pruned_x.size:
            ax.scatter(
                jitter(p.pruned_x),
                pin(p.pruned_y),
                marker="^",
                s=14,
                alpha=0.6,
                color=COLORS["pruned"],
                linewidths=0,
            )
        _rug(ax, jitter(p.failed_x[np.isfinite(p.failed_x)]), label=None)
        if p.kind == "categorical":
            ax.set_xticks(
                range(len(p.categories)),
                [c if len(c) <= 14 else c[:13] + "…" for c in p.categories],
                rotation=30 if len(p.categories) > 3 else 0,
                fontsize=8,
            )
            ax.set_xlim(p.low, p.high)
        elif p.kind == "log":
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ticks = log_ticks(p.low, p.high)
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks], fontsize=8)
            ax.xaxis.set_minor_formatter(NullFormatter())  # "2x10^0" labels crowd a narrow panel
            ax.set_xlim(p.low, p.high)
        else:
            pad = 0.02 * (p.high - p.low)
            ax.set_xlim(p.low - pad, p.high + pad)
        ax.set_xlabel(p.name + (" (log)" if p.kind == "log" else ""))
        ax.grid(alpha=0.25)
    for r in range(nrows):
        axes[r * ncols].set_ylabel("objective")
    if sc is not None:
        w, h = fig.get_size_inches()
        cax = fig.add_axes(((w - right + 0.25) / w, bottom / h, 0.14 / w, 1 - (top + bottom) / h))
        fig.colorbar(sc, cax=cax, label="trial number")
    note = " (sampled points)" if data.downsampled else ""
    fig.suptitle(title + note)
    return fig


# --------------------------------------------------------------------------------- importance
def render_importance(data: Importance) -> Figure:
    title = f"{data.study}: parameter importance"
    if data.empty:
        return _message(_figure(8, 3.0), title, str(data.message))
    n = len(data.names)
    fig = _figure(8, 1.2 + 0.38 * n)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.barh(y, data.importance, color=COLORS["complete"], height=0.65)
    ax.set_yticks(y, data.names)
    for yi, v in zip(y, data.importance):
        ax.text(v + 0.01, yi, f"{v:.0%}", va="center", fontsize=8)
    ax.set_xlim(0, min(1.0, max(data.importance) + 0.12))
    ax.set_xlabel("share of explained variance (first-order)")
    ax.grid(axis="x", alpha=0.25)
    ax.set_title(
        f"{data.model}, {data.n_trials} complete trials; interactions ≈ {data.interactions:.0%}",
        fontsize=9,
        color="#555555",
    )
    fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------------- timeline
def render_timeline(data: Timeline) -> Figure:
    title = f"{data.study}: trials per worker"
    if data.empty:
        return _message(_figure(10, 3.0), title, str(data.message))
    require_matplotlib()
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    n_rows = len(data.rows)
    fig = _figure(11, min(12.0, 1.6 + 0.32 * n_rows))
    ax = fig.add_subplot()
    scale, unit = _time_unit(data.span)
    present = []
    for code, name in (
        (COMPLETE, "complete"),
        (PRUNED, "pruned"),
        (RUNNING, "running"),
        (FAILED, "failed"),
    ):
        sel = data.bar_state == code
        if not sel.any():
            continue
        present.append(name)
        x0, x1 = data.bar_start[sel] / scale, data.bar_end[sel] / scale
        # a minimum visible width so short trials do not vanish
        x1 = np.maximum(x1, x0 + data.span / scale / 1500)
        y = data.bar_row[sel].astype(float)
        verts = np.stack(
            [
                np.column_stack([x0, y - 0.38]),
                np.column_stack([x0, y + 0.38]),
                np.column_stack([x1, y + 0.38]),
                np.column_stack([x1, y - 0.38]),
            ],
            axis=1,
        )
        ax.add_collection(
            PolyCollection(
                list(verts),
                facecolors=COLORS[name],
                edgecolors="white",
                linewidths=0.3 if data.bar_row.size < 500 else 0,
            )
        )
    labels = [f"{r}  ({b:.0%} busy)" for r, b in zip(data.rows, data.row_busy)]
    ax.set_yticks(range(n_rows), labels, fontsize=8)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlim(0, max(data.span / scale, 1e-9) * 1.01)
    ax.set_xlabel(f"wall time since the first trial started ({unit})")
    ax.grid(axis="x", alpha=0.25)
    ax.legend(
        handles=[
            Patch(color=COLORS[n], label=f"{n} ({data.state_counts.get(n, 0)})") for n in present
        ],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    extra = []
    if data.merged:
        extra.append("each pixel shows the state that filled most of it")
    if data.hidden_rows:
        extra.append(f"{data.hidden_rows} more lanes not shown")
    note = f" ({'; '.join(extra)})" if extra else ""
    fig.suptitle(f"{title}: {len(data.workers)} worker(s), {data.busy:.0%} busy overall{note}")
    return fig


def render_pareto(data: Any) -> Figure:
    """A multi-objective study's trials in objective space: the Pareto front highlighted,
    dominated trials faint, infeasible ones as crosses; a matrix of pairs for 3+ objectives."""
    title = f"{data.study}: trade-offs ({len(data.number)} complete trials)"
    m = len(data.names)
    if len(data.number) == 0:
        return _message(_figure(8, 3.6), title, "no complete trial yet")
    pairs = [(0, 1)] if m == 2 else [(i, j) for i in range(m) for j in range(i + 1, m)]
    cols = min(3, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig = _figure(4.2 * cols + 0.6, 3.8 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    v, front, ok = data.values, data.on_front, data.feasible
    for ax, (i, j) in zip(axes, pairs):
        rest = ok & ~front
        ax.scatter(v[rest, i], v[rest, j], s=12, alpha=0.4, color=COLORS["complete"],
                   linewidths=0, label=f"dominated ({int(rest.sum())})")
        ax.scatter(v[~ok, i], v[~ok, j], s=16, marker="x", color=COLORS["failed"],
                   linewidths=1, label=f"infeasible ({int((~ok).sum())})")
        order = np.argsort(v[front, i])
        ax.plot(v[front, i][order], v[front, j][order], "-o", ms=4, color=COLORS["best"],
                label=f"Pareto front ({int(front.sum())})")
        ax.set_xlabel(f"{data.names[i]} ({data.directions[i]})")
        ax.set_ylabel(f"{data.names[j]} ({data.directions[j]})")
    for ax in axes[len(pairs):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def render_hypervolume(data: Any) -> Figure:
    """The hypervolume of the feasible trials found so far (objectives scaled to [0, 1])."""
    title = f"{data.study}: hypervolume of the feasible trials so far"
    if len(data.hv_number) == 0:
        return _message(_figure(8, 3.2), title, "no feasible complete trial yet")
    fig = _figure(8, 3.4)
    ax = fig.add_subplot()
    ax.step(data.hv_number, data.hypervolume, where="post", color=COLORS["best"])
    ax.set_xlabel("trial number")
    ax.set_ylabel("hypervolume (scaled, ref. 1.1)")
    ax.set_title(title)
    return fig


# ------------------------------------------------------------------- learning curves, contour, ecdf
def render_learning_curves(data: Any) -> Figure:
    """Each trial's intermediate values by step: complete trials in blue, pruned ones in orange
    ending in a triangle where they stopped, the best complete trial in green, and the pruner's
    cut-off as a dashed black line when it has one."""
    title = f"{data.study}: learning curves ({data.direction})"
    if data.empty:
        return _message(_figure(9, 3.6), title, str(data.message))
    fig = _figure(9, 4.2)
    ax = fig.add_subplot()
    last = [c.value[-1] for c in data.curves if c.state == "complete"]
    best = None
    if last:
        sign = 1.0 if data.direction == "minimize" else -1.0
        done = [c for c in data.curves if c.state == "complete"]
        best = done[int(np.argmin(np.array(last) * sign))].number
    labelled: set[str] = set()
    for c in data.curves:
        kind = "best" if c.number == best else c.state
        color = {"complete": COLORS["complete"], "pruned": COLORS["pruned"],
                 "best": COLORS["best"]}.get(kind, COLORS["running"])
        label = None
        if kind not in labelled:
            labelled.add(kind)
            label = {"best": f"best (trial {best})"}.get(kind, kind)
        ax.plot(c.step, c.value, color=color, alpha=0.9 if kind == "best" else 0.45,
                linewidth=2 if kind == "best" else 1, label=label, zorder=3 if kind == "best" else 2)
        if c.state == "pruned":
            ax.scatter(c.step[-1:], c.value[-1:], marker="v", s=22, color=COLORS["pruned"],
                       linewidths=0, zorder=3)
    if data.cutoff_step.size:
        ax.step(data.cutoff_step, data.cutoff_value, where="post", color="#222222",
                linestyle="--", linewidth=1.5, label=f"cut-off: {data.cutoff_label}", zorder=4)
    values = np.concatenate([c.value for c in data.curves])
    pos = values[np.isfinite(values)]
    if pos.size and pos.min() > 0 and pos.max() / pos.min() > 1e3:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("intermediate value")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, framealpha=0.8)
    note = f" ({len(data.curves)} of {data.n_with_reports} trials)" if data.downsampled else ""
    ax.set_title(title + note)
    return fig


def render_contour(data: Any) -> Figure:
    """One panel per parameter pair: filled contours of the fitted objective, the trials as
    dots, the best one as a star."""
    title = f"{data.study}: objective over parameter pairs ({data.direction})"
    if data.empty:
        return _message(_figure(8, 3.6), title, str(data.message))
    n = len(data.pairs)
    fig = _figure(4.6 * n + 0.4, 4.3)
    axes = np.atleast_1d(fig.subplots(1, n)).ravel()
    finite = np.concatenate([p.z[np.isfinite(p.z)] for p in data.pairs] + [np.zeros(0)])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    levels = np.linspace(lo, hi if hi > lo else lo + 1.0, 15)
    cmap = "viridis" if data.direction == "minimize" else "viridis_r"
    filled = None
    for ax, p in zip(axes, data.pairs):
        filled = ax.contourf(p.grid_x, p.grid_y, p.z, levels=levels, cmap=cmap, extend="both")
        ax.scatter(p.x, p.y, s=8, color="white", edgecolors="#333333", linewidths=0.4)
        if p.value.size:
            sign = 1.0 if data.direction == "minimize" else -1.0
            b = int(np.argmin(p.value * sign))
            ax.scatter(p.x[b:b + 1], p.y[b:b + 1], marker="*", s=140, color=COLORS["best"],
                       edgecolors="white", linewidths=0.8, label="best")
        if p.x_log:
            ax.set_xscale("log")
        if p.y_log:
            ax.set_yscale("log")
        ax.set_xlabel(p.x_name)
        ax.set_ylabel(p.y_name)
    if filled is not None:
        fig.colorbar(filled, ax=list(axes), label="objective (fit)", shrink=0.9)
    fig.suptitle(f"{title}, {data.n_complete} complete trials")
    return fig


def render_ecdf(data: Any) -> Figure:
    """The share of complete trials at or below each value (a step function)."""
    title = f"{data.study}: distribution of the values ({data.direction})"
    if data.empty:
        return _message(_figure(7, 3.4), title, str(data.message))
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    ax.step(data.value, data.fraction, where="post", color=COLORS["complete"], linewidth=1.8)
    v = data.value[np.isfinite(data.value)]
    if v.size and v.min() > 0 and v.max() / v.min() > 1e3:
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("objective value")
    ax.set_ylabel("share of complete trials ≤ value")
    ax.grid(alpha=0.25)
    ax.set_title(f"{title}, {data.n_complete} trials")
    return fig
