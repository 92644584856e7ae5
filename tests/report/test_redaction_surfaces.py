"""A PostgreSQL password given in every URL form never reaches an output surface.

The URL carries the password three ways: in the user-info part, as ``?password=`` and as
``?sslpassword=`` (a client key's passphrase).  Checked: ``tansaku status`` (one study, and the
list of a storage's studies), ``best``, ``export`` (CSV and JSON), the HTML report, the
dashboard's page and its ``/api`` endpoints, and the error line of an unreachable server.
"""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.cli._main import main
from tansaku.dashboard import make_server

pytestmark = pytest.mark.postgres

SSL_SECRET = "sslSecret-7f3a9c"


def test_password_in_every_url_form_is_redacted_on_every_surface(
    postgres_url, tmp_path: Path, capsys, monkeypatch
):
    from sqlalchemy.engine import make_url

    u = make_url(postgres_url)
    password = u.password
    assert password and len(password) >= 8
    base = u.set(drivername="postgresql").render_as_string(hide_password=False)
    url = f"{base}?password={password}&sslpassword={SSL_SECRET}"
    secrets = (password, SSL_SECRET)

    study = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="red", seed=0)
    study.optimize(lambda t: t.params["x"], n_trials=3)
    t = study.ask()
    t.report(0.5, 1)  # a learning curve on the report and the dashboard
    study.tell(t, 0.5)
    outputs: list[str] = []

    def cli(*argv: str) -> int:
        code = main(list(argv))
        out = capsys.readouterr()
        outputs.append(out.out + out.err)
        return code

    assert cli("status", "--storage", url, "--study", "red") == 0
    assert "***" in outputs[-1]  # the URL is shown, redacted
    assert cli("status", "--storage", url) == 0
    assert cli("best", "--json", "--storage", url, "--study", "red") == 0
    for fmt in ("csv", "json"):
        assert cli("export", "--storage", url, "--study", "red", "--format", fmt) == 0
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "report"
    assert cli("report", "--storage", url, "--study", "red", "-o", str(out_dir)) == 0
    for f in out_dir.rglob("*"):
        if f.is_file():
            outputs.append(f.read_bytes().decode("latin-1"))
    unreachable = url.replace(f":{u.port}/", ":1/")
    monkeypatch.setenv("TANSAKU_RETRY_TIMEOUT", "1")
    assert cli("status", "--storage", unreachable, "--study", "red") == 1
    assert outputs[-1].startswith("error: ") and outputs[-1].count("\n") == 1

    server = make_server(study.storage)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        # /api/study carries every chart's data (curves, contour, ecdf, labels) too
        for path in ("/", "/app.js", "/uplot.min.js", "/api/studies", "/api/study?name=red"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                outputs.append(r.read().decode("utf-8", "replace"))
        assert "***" in outputs[-1]
    finally:
        server.shutdown()
        server.server_close()
    for i, text in enumerate(outputs):
        for s in secrets:
            assert s not in text, f"output {i} leaks {s!r}: ...{text[text.find(s) - 80 :][:160]}"
    assert not any(s in repr(study) + study.storage.url for s in secrets)
