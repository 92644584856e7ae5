"""Learning curves, contours and a study comparison: the pictures of docs/report.md.

    python examples/report/curves.py                 # curves.db + report-curves/ (report PNGs)
    python examples/report/curves.py --screenshots   # also docs/images/dashboard_charts.png

Two studies of the same toy training run (one by tpe, one by random search, both with the
median pruner) and one with two objectives and a constraint, in ``curves.db``.  The screenshot
needs Playwright and a Chromium (``TANSAKU_CHROMIUM`` or ``chromium`` on PATH).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import threading
from pathlib import Path

import tansaku as tk
from tansaku.report import write_report

SPACE = {
    "lr": tk.Float(1e-4, 1e-1, log=True),
    "momentum": tk.Float(0.0, 0.99),
    "width": tk.Int(8, 256),
}


def train(trial: tk.Trial) -> float:
    """A fake training run: the loss falls towards a floor set by the parameters."""
    p = trial.params
    floor = (
        0.1 + 0.3 * (math.log10(p["lr"]) + 2.2) ** 2 + (p["momentum"] - 0.8) ** 2 + 20 / p["width"]
    )
    loss = 2.0
    for epoch in range(1, 21):
        loss = floor + (2.0 - floor) * math.exp(-epoch / 5)
        trial.report(loss, epoch)
        if trial.should_prune():
            raise tk.TrialPruned()
    return loss


def make(db: Path) -> tk.Study:
    url = f"sqlite:///{db}"
    studies = {}
    for name, sampler in (("tpe", "tpe"), ("random", "random")):
        studies[name] = tk.create_study(
            SPACE,
            sampler=sampler,
            seed=2,
            storage=url,
            name=name,
            pruner={"name": "median", "n_startup_trials": 5},
            load_if_exists=True,
        )
        studies[name].optimize(train, n_trials=60 - len(studies[name].trials))
    mo = tk.create_study(
        {"x": tk.Float(0, 1), "y": tk.Float(0, 1)},
        sampler="nsga2",
        seed=0,
        storage=url,
        name="trade-off",
        directions=["minimize", "minimize"],
        load_if_exists=True,
    )

    def zdt(t: tk.Trial) -> tuple[float, float]:
        x, y = t.params["x"], t.params["y"]
        t.set_constraint("x_plus_y", x + y - 1.6)
        g = 1 + 9 * y
        return x, g * (1 - math.sqrt(x / g))

    mo.optimize(zdt, n_trials=80 - len(mo.trials))
    return studies["tpe"]


def screenshot(db: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tansaku.dashboard import make_server
    from tansaku.storage import get_storage

    server = make_server(get_storage(f"sqlite:///{db}"), interval=60)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chromium = os.environ.get("TANSAKU_CHROMIUM") or shutil.which("chromium") or "chromium"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(server.url + "#study=tpe&compare=random")
            page.locator("#compare-card").wait_for()
            page.wait_for_timeout(500)
            page.locator("#study-view .charts").screenshot(path=str(out))
            browser.close()
    finally:
        server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="curves.db")
    ap.add_argument("--out", default="report-curves")
    ap.add_argument("--screenshots", action="store_true")
    args = ap.parse_args()
    study = make(Path(args.db))
    print(write_report(study, args.out))
    if args.screenshots:
        images = Path(__file__).resolve().parents[2] / "docs" / "images"
        for stem in ("learning_curves", "contour"):
            shutil.copy(Path(args.out) / f"{stem}.png", images / f"{stem}.png")
        screenshot(Path(args.db), images / "dashboard_charts.png")
        print(f"wrote {images}/learning_curves.png, contour.png, dashboard_charts.png")


if __name__ == "__main__":
    main()
