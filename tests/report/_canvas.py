"""Counting what a dashboard chart painted, for the headless-browser tests."""

from __future__ import annotations

from typing import Any


def canvas_pixels(page: Any, chart: str, rgb: tuple[int, int, int] | None = None) -> int:
    """Pixels of the chart's uPlot canvas: every non-transparent one, or with ``rgb`` the opaque
    ones within a few levels of that colour."""
    return int(
        page.evaluate(
            """([sel, rgb]) => {
                const c = document.querySelector(sel + " canvas");
                if (!c) return 0;
                const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 0; i < d.length; i += 4) {
                    if (rgb === null ? d[i + 3] > 0
                        : d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 8
                          && Math.abs(d[i + 1] - rgb[1]) < 8 && Math.abs(d[i + 2] - rgb[2]) < 8) n++;
                }
                return n;
            }""",
            [chart, None if rgb is None else list(rgb)],
        )
    )
