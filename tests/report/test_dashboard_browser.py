"""The dashboard in a real headless Chromium (the ``page`` fixture of tests/services.py): it loads,
shows a study, follows it live while the test drives the study with ask/tell on a SQLite file,
and shows hostile parameter values, messages and study names as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import tansaku as tk
from tansaku.dashboard import DashboardServer
from tansaku.storage import get_storage
from tests.report._canvas import canvas_pixels
from tests.report._serve import serving
from tests.report._studies import SPACE, XSS

pytestmark = pytest.mark.browser

NAME = 'live <img src=x onerror="alert(5)"> study'
HOSTILE = {"lr": 1e-3, "momentum": 0.5, "layers": 2, "hidden": 16, "act": XSS}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[DashboardServer, tk.Study]]:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = tk.create_study(SPACE, sampler="random", seed=0, storage=url, name=NAME)
    study.enqueue(HOSTILE)  # the first trial asked has the <script> value
    trial = study.ask()
    study.tell(trial, 3.0)
    with serving(get_storage(url), interval=0.25) as server:
        yield server, study


def _watch(page: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "requests": []}

    def on_dialog(d: Any) -> None:
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("request", lambda r: seen["requests"].append(r.url))
    return seen


def test_dashboard_follows_a_running_study(
    page: Any, live: tuple[DashboardServer, tk.Study]
) -> None:
    from playwright.sync_api import expect

    server, study = live
    seen = _watch(page)
    page.goto(server.url + "#study=" + quote(NAME, safe=""))

    # the page loads and shows the study
    expect(page.locator("#study-name")).to_have_text(NAME)
    expect(page.locator("#count-complete")).to_have_text("1")
    expect(page.locator("#best-value")).to_have_text("3 (trial 0)")
    expect(page.locator("#study-list a").first).to_contain_text(NAME)
    assert canvas_pixels(page, "#history-chart") > 500
    assert canvas_pixels(page, "#timeline-chart") > 500

    # a trial starts: it is listed as running
    running = study.ask()
    expect(page.locator("#count-running")).to_have_text("1")
    first_row = page.locator("#recent-table tbody tr").first
    expect(first_row.locator("td").nth(1)).to_have_text("running")
    expect(first_row.locator("td").first).to_have_text(str(running.number))

    # it finishes with a better value: counts, best value and tables follow
    study.tell(running, 0.5)
    expect(page.locator("#count-complete")).to_have_text("2")
    expect(page.locator("#count-running")).to_have_text("0")
    expect(page.locator("#best-value")).to_have_text(f"0.5 (trial {running.number})")
    expect(page.locator("#top-table tbody tr")).to_have_count(2)

    # a failure with an HTML-looking message
    failing = study.ask()
    study.tell(failing, state="failed", message="<b>bold</b><img src=x onerror=alert(6)>")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#failures-table td").nth(1)).to_have_text(
        "<b>bold</b><img src=x onerror=alert(6)>"
    )

    # hostile text is text: visible verbatim, never parsed into elements, never run
    cells = page.locator("#recent-table td", has_text=XSS)
    expect(cells.first).to_have_text(XSS)
    assert cells.count() >= 1
    assert page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))") == [
        "/uplot.min.js", "/app.js"
    ]
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0
    assert page.evaluate("typeof window.alert") == "function"  # not replaced, just never called
    assert seen["dialogs"] == []
    assert seen["errors"] == []
    # nothing outside the dashboard was fetched
    assert all(u.startswith(server.url) for u in seen["requests"]), seen["requests"]


def test_dashboard_lists_studies_and_reports_unknown_ones(
    page: Any, live: tuple[DashboardServer, tk.Study]
) -> None:
    from playwright.sync_api import expect

    server, _ = live
    seen = _watch(page)
    page.goto(server.url)
    expect(page.locator("#placeholder")).to_be_visible()
    link = page.locator("#study-list a").first
    expect(link).to_contain_text(NAME)
    link.click()  # navigates by the URL-encoded hash
    expect(page.locator("#study-name")).to_have_text(NAME)
    page.goto(server.url + "#study=" + quote("../../etc/passwd", safe=""))
    expect(page.locator("#study-error")).to_contain_text("no study named '../../etc/passwd'")
    assert seen["dialogs"] == []
