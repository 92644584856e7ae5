"""The HTML report: self-contained, escaped, and written by ``tansaku report``."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from tansaku import report
from tansaku.cli import main
from tansaku.report._html import CURVE_PLOTS, MULTI_OBJECTIVE_PLOTS
from tansaku.report._html import PLOTS as ALL_PLOTS
from tests.report._studies import XSS, empty_study, mixed_study

#: a single-objective study's plots (tests/report/test_pareto_report.py checks the others)
PLOTS = tuple(p for p in ALL_PLOTS if p[0] not in MULTI_OBJECTIVE_PLOTS)

URL_ATTRS = {"src", "href", "action", "formaction", "srcset", "poster", "data", "background"}


class _Tags(HTMLParser):
    """The real tags of a page (escaped text is not a tag) and their URL-valued attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in URL_ATTRS]


def _check_self_contained(page: str) -> None:
    """No reference that would need the network (or anything outside the file)."""
    parser = _Tags()
    parser.feed(page)
    assert parser.refs, "expected the inline images"
    for ref in parser.refs:
        assert ref.startswith("data:image/png;base64,"), ref
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page  # no CSS fetches either


def _check_escaped(page: str) -> None:
    assert XSS not in page  # never raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt; &amp; done" in page


def test_report_is_self_contained_escaped_and_has_every_plot(tmp_path: Path) -> None:
    page_path = report.write_report(mixed_study(60), tmp_path / "out")
    assert page_path == tmp_path / "out" / "index.html"
    page = page_path.read_text(encoding="utf-8")
    _check_self_contained(page)
    _check_escaped(page)
    for stem, title in PLOTS:
        png = (tmp_path / "out" / f"{stem}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
        assert title in page
        assert base64.b64encode(png).decode() in page  # the same image, inlined
    assert 'http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;' in page
    assert "Top 10 trials" in page and "Latest failures" in page


def test_report_of_an_empty_study(tmp_path: Path) -> None:
    page = report.write_report(empty_study(), tmp_path).read_text(encoding="utf-8")
    _check_self_contained(page)
    assert "study &#x27;empty&#x27; has no complete trials yet" in page
    assert len(list(tmp_path.glob("*.png"))) == len(PLOTS) - len(CURVE_PLOTS)  # nothing reported


def test_hostile_study_name_is_escaped(tmp_path: Path) -> None:
    study = mixed_study(12, name='"><script>alert(3)</script>')
    page = report.write_report(study, tmp_path).read_text(encoding="utf-8")
    _check_self_contained(page)
    assert "<script>alert(3)" not in page
    assert "&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page


def test_cli_report_from_storage_and_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    mixed_study(30, storage=f"sqlite:///{db}", name="cli")
    out = tmp_path / "rep"
    code = main(["report", "--storage", f"sqlite:///{db}", "--study", "cli", "--out", str(out)])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    page = (out / "index.html").read_text(encoding="utf-8")
    _check_self_contained(page)
    _check_escaped(page)
    assert {p.name for p in out.glob("*.png")} == {f"{s}.png" for s, _ in PLOTS}


def test_cli_report_from_a_config_file(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    mixed_study(20, storage=f"sqlite:///{db}", name="fromcfg")
    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        f"name: fromcfg\nstorage: sqlite:///{db}\nn_trials: 5\n"
        "space:\n  x: {type: float, low: 0, high: 1}\ncommand: [echo, '{x}']\n"
    )
    assert (
        main(["report", str(cfg), "--out", str(tmp_path / "r"), "--importance-model", "numpy"]) == 0
    )
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "Study fromcfg" in page
    assert (tmp_path / "r" / "importance.png").exists()


def test_cli_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.db"
    assert main(["report", "--storage", f"sqlite:///{db}", "--study", "x"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not exist" in err and "\n" not in err
    mixed_study(3, storage=f"sqlite:///{db}", name="there")
    assert main(["report", "--storage", f"sqlite:///{db}", "--study", "missing"]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["report", "--storage", f"sqlite:///{db}"]) == 2  # no study named
