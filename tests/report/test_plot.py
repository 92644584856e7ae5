"""Every matplotlib figure renders for a full study and for an empty one."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

import tansaku as tk
from tansaku import report
from tests.report._studies import empty_study, mixed_study

PLOTS = [
    "history",
    "parallel_coordinates",
    "slices",
    "importance",
    "timeline",
    "learning_curves",  # a report has it only when some trial reported (mixed_study's do)
    "contour",
    "ecdf",
]


@pytest.fixture(scope="module")
def study() -> tk.Study:
    return mixed_study(60)


def _texts(fig) -> str:  # type: ignore[no-untyped-def]
    """Every text drawn on a figure (titles, labels, annotations)."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text))


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


@pytest.mark.parametrize("name", PLOTS)
def test_plot_renders_a_full_study(study: tk.Study, name: str) -> None:
    from matplotlib.figure import Figure

    fig = getattr(tk.plot, name)(study)
    assert isinstance(fig, Figure)
    assert _png(fig).startswith(b"\x89PNG")
    text = _texts(fig)
    assert "mixed" in text  # titled with the study name
    assert "no finished" not in text and "has no" not in text


def test_plots_show_each_kind_of_parameter_and_trial(study: tk.Study) -> None:
    from matplotlib.collections import PathCollection

    fig = tk.plot.slices(study)
    labels = _texts(fig)
    for name in ("lr (log)", "momentum", "layers", "hidden (log)", "act"):
        assert name in labels
    assert "relu" in labels and "<script>alert…" in labels  # category names, shortened
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"
    # history: complete points, pruned triangles and failed crosses are separate collections
    fig = tk.plot.history(study)
    ax = fig.axes[0]
    labels = [c.get_label() for c in ax.collections if isinstance(c, PathCollection)]
    assert any(lbl.startswith("complete") for lbl in labels)
    assert any(lbl.startswith("pruned") for lbl in labels)
    assert any(lbl.startswith("failed") for lbl in labels)


@pytest.mark.parametrize("name", PLOTS)
def test_plot_of_an_empty_study_says_so(name: str) -> None:
    fig = getattr(tk.plot, name)(empty_study())
    assert _png(fig).startswith(b"\x89PNG")
    text = _texts(fig)
    assert "study 'empty' has no" in text or "needs at least 8 complete trials" in text


def test_plot_accepts_the_data_object_and_options(study: tk.Study) -> None:
    data = report.parallel_coordinates(study, params=["lr", "act"], max_lines=5)
    fig = tk.plot.parallel_coordinates(data)
    text = _texts(fig)
    assert "lr (log)" in text and "momentum" not in text
    assert "of" in fig.get_suptitle()  # "(n of N trials)" when sampled
    fig = tk.plot.importance(study, model="numpy")
    assert "numpy random forest" in _texts(fig)


def test_import_tansaku_does_not_load_matplotlib_and_missing_matplotlib_names_the_extra() -> None:
    code = (
        "import sys, tansaku, tansaku.plot, tansaku.report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "sys.modules['matplotlib'] = None\n"  # as if not installed
        "from tansaku.report import TrialTable\n"
        "import tansaku as tk\n"
        "t = TrialTable.from_trials([], study='s', direction='minimize',"
        " space=tk.Space({'x': tk.Float(0, 1)}))\n"
        "try:\n"
        "    tk.plot.history(t)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install '.[plot]' (in the tansaku clone at" in out.stdout  # run from src/


def _edge_studies() -> dict[str, tk.Study]:
    one = tk.create_study({"x": tk.Float(0.0, 1.0)}, sampler="random", seed=0, name="one-param")
    for _ in range(12):
        t = one.ask()
        one.tell(t, t.params["x"] ** 2)
    failed = tk.create_study({"c": tk.Categorical([None, True, 1.5])}, name="all-failed")
    for _ in range(3):
        failed.tell(failed.ask(), state="failed", message="no")
    running = tk.create_study({"n": tk.Int(1, 4)}, name="only-running")
    running.ask()
    maxi = tk.create_study(
        {"x": tk.Float(1.0, 1e6, log=True), "k": tk.Int(0, 3)}, direction="maximize", name="maxi"
    )
    for _ in range(30):  # huge spread: log axes
        t = maxi.ask()
        maxi.tell(t, t.params["x"])
    return {s.name: s for s in (one, failed, running, maxi)}


@pytest.mark.parametrize("name", ["one-param", "all-failed", "only-running", "maxi"])
def test_edge_cases_render(name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    study = _edge_studies()[name]
    page = report.write_report(study, tmp_path).read_text(encoding="utf-8")  # draws them all
    assert len(list(tmp_path.glob("*.png"))) == len(PLOTS) - 1  # no reports: no learning curves
    assert f"Study {name}" in page
    if name == "only-running":
        assert "1 running" in page
        assert "no finished trials" in _texts(tk.plot.history(study))
        assert "running" in _texts(tk.plot.timeline(study))  # the running bar is drawn
    if name == "maxi":
        fig = tk.plot.history(study)
        assert fig.axes[0].get_yscale() == "log"
        h = report.history(study)
        assert h.best_value[-1] == max(t.value for t in study.trials)
