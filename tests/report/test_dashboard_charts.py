"""Issue 19.4 / 18.4: the dashboard's charts (the vendored uPlot) in a real headless Chromium —
they render, hover shows a trial's values and parameters, a drag zooms the axis, the state filter
hides trials, a second study is overlaid, a multi-objective study shows its Pareto front — and
every study-provided text on those new surfaces (legends, hover box, compare list) stays text."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

import tansaku as tk
from tansaku.dashboard import DashboardServer
from tansaku.storage import get_storage
from tests.report._canvas import canvas_pixels
from tests.report._serve import serving
from tests.report._studies import XSS
from tests.report.test_dashboard_browser import _watch

pytestmark = pytest.mark.browser

A = "curves"
B = 'other <img src=x onerror="alert(7)"> study'
SPACE = {
    "lr": tk.Float(1e-4, 1e-1, log=True),
    "width": tk.Int(8, 64),
    "act": tk.Categorical(["relu", XSS]),
}

CHARTS = ("history", "curves", "contour", "ecdf", "timeline")
MEDIAN = {"name": "median", "n_startup_trials": 3}
MO3_TRIALS = 16


def _run(study: tk.Study, n: int) -> None:
    """Trials whose curves fall towards a target set by lr; every 5th fails (no value)."""
    for i in range(n):
        trial = study.ask()
        p = trial.params
        target = (math.log10(p["lr"]) + 2.5) ** 2 + 8.0 / p["width"] + (p["act"] == "relu")
        if i % 5 == 4:
            study.tell(trial, state="failed", message="<b>no</b>")
            continue
        pruned = False
        for step in range(1, 9):
            trial.report(target + 3.0 / step, step)
            if trial.should_prune():
                pruned = True
                break
        study.tell(trial, state="pruned") if pruned else study.tell(trial, target + 3.0 / 8)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardServer, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('charts') / 'c.db'}"
    for name, seed in ((A, 0), (B, 1)):
        study = tk.create_study(
            SPACE,
            sampler="random",
            seed=seed,
            storage=url,
            name=name,
            pruner=MEDIAN,
        )
        _run(study, 24)
    mo = tk.create_study(
        {"x": tk.Float(0, 1)},
        sampler="random",
        seed=0,
        storage=url,
        name="mo",
        directions=["minimize", "minimize"],
    )
    for _ in range(15):
        t = mo.ask()
        x = t.params["x"]
        t.set_constraint("c", x - 0.8)
        mo.tell(t, (x, (1 - math.sqrt(x)) + 0.1))
    mo3 = tk.create_study(
        {"x": tk.Float(0, 1), "y": tk.Float(0, 1)},
        sampler="random",
        seed=0,
        storage=url,
        name="mo3",
        directions=["minimize", "minimize", "maximize"],
        objective_names=["cost", XSS, "gain"],
    )
    for _ in range(MO3_TRIALS):
        t = mo3.ask()
        x, y = t.params["x"], t.params["y"]
        t.set_constraint("c", x + y - 1.4)
        mo3.tell(t, (x, y + 0.3 * x * x, 1.0 - (x + y) / 2))
    with serving(get_storage(url), interval=0.5) as server:
        yield server, url


def _box(page: Any, chart: str) -> dict[str, float]:
    return page.locator(f"{chart} .u-over").bounding_box()


def _points(page: Any, chart: str) -> int:
    return int(page.locator(chart).get_attribute("data-points") or "0")


def test_charts_hover_zoom_filter_and_compare(
    page: Any, served: tuple[DashboardServer, str]
) -> None:
    from playwright.sync_api import expect

    server, url = served
    seen = _watch(page)
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.goto(server.url + f"#study={quote(A, safe='')}&compare={quote(B, safe='')}")
    expect(page.locator("#study-name")).to_have_text(A)
    for name in CHARTS:
        expect(page.locator(f"#{name}-chart canvas")).to_have_count(1)
    expect(page.locator("#compare-card")).to_be_visible()
    for name in CHARTS:
        assert canvas_pixels(page, f"#{name}-chart") > 300, name

    # comparison: the second study is overlaid and named, verbatim (its name is hostile HTML)
    expect(page.locator("#compare-name")).to_have_text(B)
    expect(page.locator("#history-legend")).to_contain_text(B)
    expect(page.locator("#ecdf-legend")).to_contain_text(A)
    expect(page.locator("#ecdf-legend")).to_contain_text(B)
    assert page.locator("#compare").input_value() == B

    # hover: sweep the history chart until the box names a trial; its values are that trial's
    study_a = tk.load_study(A, storage=url)
    trials = {t.number: t for t in study_a.trials}
    box = _box(page, "#history-chart")
    text = ""
    for k in range(2, 200):
        page.mouse.move(box["x"] + box["width"] * k / 200, box["y"] + box["height"] / 2)
        if page.locator("#tooltip").is_visible():
            text = page.locator("#tooltip").inner_text()
            if re.match(r"trial \d+\n(complete|pruned), value", text):
                break
    m = re.match(r"trial (\d+)\n(complete|pruned), value (\S+)\n(.*)", text)
    assert m, text
    t = trials[int(m.group(1))]
    assert t.state.value == m.group(2)
    assert float(m.group(3)) == pytest.approx(t.value, rel=1e-4)
    assert f"width={t.params['width']}" in m.group(4) and f"act={t.params['act']}" in m.group(4)
    page.mouse.move(5, 5)
    expect(page.locator("#tooltip")).to_be_hidden()

    # zoom: a drag across the middle narrows the x axis; a double-click restores it
    chart = page.locator("#history-chart")
    lo, hi = float(chart.get_attribute("data-x-min")), float(chart.get_attribute("data-x-max"))
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=6)
    page.mouse.up()
    page.wait_for_function(
        "lo => Number(document.querySelector('#history-chart').dataset.xMin) > lo", arg=lo
    )
    zlo, zhi = float(chart.get_attribute("data-x-min")), float(chart.get_attribute("data-x-max"))
    assert lo < zlo < zhi < hi and (zhi - zlo) < 0.5 * (hi - lo), (lo, hi, zlo, zhi)
    page.wait_for_timeout(800)  # a poll or two: the zoom survives new data
    assert float(chart.get_attribute("data-x-min")) == pytest.approx(zlo)
    page.mouse.dblclick(box["x"] + box["width"] / 2, y)
    page.wait_for_function(
        "([lo, hi]) => { const c = document.querySelector('#history-chart');"
        " return Number(c.dataset.xMin) <= lo && Number(c.dataset.xMax) >= hi; }",
        arg=[lo, hi],
    )

    # state filter: hiding pruned trials removes their points, curves and table rows
    n_pruned = sum(1 for t in trials.values() if t.state.value == "pruned")
    assert n_pruned > 0
    before, curves_before = _points(page, "#history-chart"), _points(page, "#curves-chart")
    page.locator("#show-pruned").uncheck()
    expect(page.locator("#history-chart")).to_have_attribute("data-points", str(before - n_pruned))
    assert _points(page, "#curves-chart") < curves_before
    rows = page.locator("#recent-table tbody tr.state-pruned")
    assert rows.count() > 0
    for i in range(rows.count()):
        expect(rows.nth(i)).to_be_hidden()
    page.locator("#show-pruned").check()
    expect(page.locator("#history-chart")).to_have_attribute("data-points", str(before))

    # choosing "(none)" drops the overlay
    page.locator("#compare").select_option("")
    expect(page.locator("#compare-card")).to_be_hidden()
    expect(page.locator("#history-legend")).not_to_contain_text(B)

    # every hostile text stayed text
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert all(u.startswith(server.url) for u in seen["requests"]), seen["requests"]


def test_learning_curves_draw_the_cutoff_the_report_draws(
    page: Any, served: tuple[DashboardServer, str]
) -> None:
    """The run stored its pruner (ask/tell here: at the first report), so the dashboard, which
    only reads the storage, draws the same cut-off as the report of the Study with its pruner."""
    import json

    from playwright.sync_api import expect

    from tansaku import report

    server, url = served
    seen = _watch(page)
    want = report.learning_curves(tk.load_study(A, storage=url, pruner=MEDIAN))
    assert want.cutoff_step.size > 0 and want.cutoff_label
    page.goto(server.url + f"#study={quote(A, safe='')}")
    expect(page.locator("#curves-chart canvas")).to_have_count(1)
    expect(page.locator("#curves-legend")).to_contain_text("cut-off: " + want.cutoff_label)
    expect(page.locator("#curves-note")).to_have_text(want.note)
    steps, values = json.loads(page.locator("#curves-chart").get_attribute("data-cutoff") or "")
    assert steps == want.cutoff_step.tolist()
    assert values == pytest.approx(want.cutoff_value.tolist(), rel=1e-6)
    assert seen["errors"] == []
    assert all(u.startswith(server.url) for u in seen["requests"]), seen["requests"]


def test_pareto_front_and_hypervolume_of_a_multi_objective_study(
    page: Any, served: tuple[DashboardServer, str]
) -> None:
    from playwright.sync_api import expect

    server, _ = served
    seen = _watch(page)
    page.goto(server.url + "#study=mo")
    expect(page.locator("#pareto-figure")).to_be_visible()
    expect(page.locator("#hypervolume-figure")).to_be_visible()
    legend = page.locator("#pareto-legend")
    expect(legend).to_contain_text("Pareto front (")
    n = [int(x) for x in re.findall(r"\((\d+)\)", legend.inner_text())]
    assert sum(n) == 15 and n[2] > 0  # front + dominated + infeasible = every complete trial
    assert canvas_pixels(page, "#pareto-chart") > 300 and canvas_pixels(page, "#hypervolume-chart") > 300
    assert seen["errors"] == []


def _front_and_infeasible(study: tk.Study) -> tuple[set[int], set[int]]:
    """Numbers of the feasible non-dominated trials and of the infeasible ones, by brute force
    on the stored values (every objective turned to minimise)."""
    sign = [1.0 if d == "minimize" else -1.0 for d in ("minimize", "minimize", "maximize")]
    done = [t for t in study.trials if t.state.value == "complete"]
    bad = {t.number for t in done if any(v > 0 for v in t.constraints.values())}
    ok = [(t.number, [s * v for s, v in zip(sign, t.values)]) for t in done if t.number not in bad]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    front = {n for n, v in ok if not any(dominates(w, v) for _, w in ok)}
    return front, bad


def test_pareto_matrix_of_a_three_objective_study(
    page: Any, served: tuple[DashboardServer, str]
) -> None:
    """Three objectives: one small scatter per pair of objectives (3 cells), each drawing every
    complete trial, the infeasible ones red and the front green; the hostile objective name is
    shown as text in the cell captions; a two-objective study has no matrix."""
    from playwright.sync_api import expect

    server, url = served
    seen = _watch(page)
    front, bad = _front_and_infeasible(tk.load_study("mo3", storage=url))
    assert bad and front and len(front) + len(bad) < MO3_TRIALS  # every group is drawn
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.goto(server.url + "#study=mo3")
    expect(page.locator("#pareto-matrix-figure")).to_be_visible()
    cells = page.locator("#pareto-matrix .pareto-cell")
    expect(cells).to_have_count(3)
    names = ["cost", XSS, "gain"]
    pairs = []
    for k in range(3):
        cell = cells.nth(k)
        i, j = (int(v) for v in (cell.get_attribute("data-pair") or "").split(","))
        pairs.append((i, j))
        chart = f"#pareto-matrix .pareto-cell:nth-child({k + 1}) .chart"
        expect(page.locator(chart + " canvas")).to_have_count(1)
        expect(page.locator(chart)).to_have_attribute("data-points", str(MO3_TRIALS))
        assert cell.get_attribute("data-front") == str(len(front))
        assert cell.get_attribute("data-infeasible") == str(len(bad))
        expect(cell.locator(".cell-title")).to_have_text(names[i] + " \u00d7 " + names[j])
        assert canvas_pixels(page, chart, (0xC4, 0x4E, 0x52)) > 4 * len(bad), (i, j)  # infeasible
        assert canvas_pixels(page, chart, (0x2A, 0x9D, 0x3A)) > 4 * len(front), (i, j)  # front
    assert sorted(pairs) == [(0, 1), (0, 2), (1, 2)]
    # hover an infeasible (red) dot of a cell: the box names that trial, its group and values
    values = {t.number: t.values for t in tk.load_study("mo3", storage=url).trials}
    page.locator("#pareto-matrix .pareto-cell").first.scroll_into_view_if_needed()
    at = page.evaluate(
        """([sel, rgb]) => {
            const c = document.querySelector(sel + " canvas");
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            const r = c.getBoundingClientRect();
            const o = c.parentNode.querySelector(".u-over").getBoundingClientRect();
            for (let i = 0; i < d.length; i += 4) {
                const x = r.left + ((i / 4) % c.width + 0.5) * r.width / c.width;
                const y = r.top + (Math.floor(i / 4 / c.width) + 2.5) * r.height / c.height;
                if (x < o.left + 4 || x > o.right - 4 || y < o.top + 4 || y > o.bottom - 4) continue;
                if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 8
                    && Math.abs(d[i + 1] - rgb[1]) < 8 && Math.abs(d[i + 2] - rgb[2]) < 8) {
                    return [x, y];
                }
            }
            return null;
        }""",
        ["#pareto-matrix .pareto-cell:nth-child(1) .chart", [0xC4, 0x4E, 0x52]],
    )
    assert at
    page.mouse.move(at[0] - 3, at[1] - 3)
    page.mouse.move(at[0], at[1], steps=3)
    expect(page.locator("#tooltip")).to_be_visible()
    text = page.locator("#tooltip").inner_text()
    m = re.match(r"trial (\d+)\n(Pareto front|dominated|infeasible)\ncost=(\S+), ", text)
    assert m, text
    number = int(m.group(1))
    assert m.group(2) == "infeasible" and number in bad, text
    assert float(m.group(3)) == pytest.approx(values[number][0], rel=1e-4)
    page.mouse.move(5, 5)
    # the big chart and its pair chooser stay
    expect(page.locator("#pareto-pair option")).to_have_count(3)
    assert canvas_pixels(page, "#pareto-chart") > 300

    page.goto(server.url + "#study=mo")
    expect(page.locator("#pareto-figure")).to_be_visible()
    expect(page.locator("#pareto-matrix-figure")).to_be_hidden()
    assert page.evaluate("[...document.scripts].every((s) => s.getAttribute('src'))")
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert all(u.startswith(server.url) for u in seen["requests"]), seen["requests"]
