"""Issue 13.10: a number in the dashboard never wraps mid-digit (real headless Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import tansaku as tk
from tansaku.storage import get_storage
from tests.report._serve import serving

pytestmark = pytest.mark.browser

# every number token in the text of the selected elements: does any span two lines?
SPLIT_NUMBERS = """(sel) => {
  const out = [];
  for (const node of document.querySelectorAll(sel)) {
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      for (const m of t.data.matchAll(/[-+]?[0-9][0-9.e+-]*/g)) {
        const r = document.createRange();
        r.setStart(t, m.index);
        r.setEnd(t, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].map((b) => Math.round(b.top)));
        if (tops.size > 1) out.push(m[0]);
      }
    }
  }
  return out;
}"""


def test_dashboard_numbers_do_not_wrap_mid_digit(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url = f"sqlite:///{tmp_path / 'w.db'}"
    space = {f"p{i}": tk.Float(0.0, 1.0) for i in range(8)}
    name = "w"
    study = tk.create_study(space, sampler="random", seed=0, storage=url, name=name)
    trial = study.ask()
    study.tell(trial, -1234567.8901234)
    with serving(get_storage(url), interval=0.25) as server:
        for width in (360, 520, 700):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(server.url + "#study=" + quote(name, safe=""))
            expect(page.locator("#best-value")).to_contain_text("(trial 0)")
            split = page.evaluate(SPLIT_NUMBERS, "#best-value, #best-params, #study-list .small")
            assert split == [], (width, split)
