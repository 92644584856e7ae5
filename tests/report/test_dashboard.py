"""The dashboard server over real HTTP: routes, path traversal, Host check, JSON, no password."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import tansaku as tk
from tansaku._records import TrialState
from tansaku.dashboard import DashboardServer
from tansaku.storage import get_storage
from tests.report._serve import serving
from tests.report._studies import SPACE, XSS, mixed_study


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardServer, str]]:
    """One server for the module; tests that add trials use studies of their own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'dash.db'}"
    mixed_study(20, storage=url, name="live")
    with serving(get_storage(url), interval=0.3) as server:
        yield server, url


def request(
    server: DashboardServer, path: str, *, method: str = "GET", host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send ``path`` exactly as given (http.client does not normalise it)."""
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(server: DashboardServer, path: str) -> tuple[int, Any]:
    status, headers, body = request(server, path)
    assert headers["content-type"].startswith("application/json")
    return status, json.loads(body)


TRAVERSALS = [
    "/../../etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/..%5c..%5cetc%5cpasswd",
    "/..\\..\\etc\\passwd",
    "//etc/passwd",
    "/static/../../etc/passwd",
    "/app.js/../../../etc/passwd",
    "/api/../../etc/passwd",
    "/api/study/../../../etc/passwd",
    "/static/app.js",
    "/index.html",
    "/_server.py",
    "/tansaku/dashboard/_server.py",
    "/api/studies/..",
    "/%00",
    "/etc/passwd",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_gets_404(served: tuple[DashboardServer, str], path: str) -> None:
    server, _ = served
    status, _, body = request(server, path)
    assert status == 404
    assert b"root:" not in body and b"import " not in body


def test_study_names_are_looked_up_not_opened(served: tuple[DashboardServer, str]) -> None:
    server, _ = served
    for name in ("../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd"):
        status, body = get_json(server, "/api/study?name=" + quote(name, safe=""))
        assert status == 404 and "no study named" in body["error"]
    status, body = get_json(server, "/api/study")
    assert status == 400
    status, body = get_json(server, "/api/study?name=live&name=other")
    assert status == 400


def test_pages_and_headers(served: tuple[DashboardServer, str]) -> None:
    server, _ = served
    for path, ctype in (
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/uplot.min.js", "text/javascript"),
        ("/uplot.min.css", "text/css"),
    ):
        status, headers, body = request(server, path)
        assert status == 200 and headers["content-type"].startswith(ctype)
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        if path == "/uplot.min.js":  # the vendored chart library names its home in its banner
            body = body.replace(b"/*! https://github.com/leeoniya/uPlot (v1.6.32) */", b"", 1)
        assert b"http://" not in body and b"https://" not in body  # no external assets
    _, _, page = request(server, "/")
    assert re.findall(rb'(?:src|href)="([^"]*)"', page) == [
        b"/uplot.min.css", b"/app.css", b"/uplot.min.js", b"/app.js"
    ]
    assert b"<script>" not in page and b"style=" not in page  # nothing inline (CSP allows none)
    for script in ("/app.js", "/uplot.min.js"):
        _, _, js = request(server, script)
        for sink in (
            b"innerHTML", b"outerHTML", b"insertAdjacentHTML", b"document.write", b"eval(",
            b"new Function", b"fetch(", b"XMLHttpRequest", b"WebSocket",
        ):
            if script == "/app.js" and sink == b"fetch(":
                continue  # the page polls its own /api (connect-src 'self')
            assert sink not in js, (script, sink)  # never parses study data as HTML
    status, headers, body = request(server, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    assert request(server, "/favicon.ico")[0] == 204


def test_read_only_and_host_checked(served: tuple[DashboardServer, str]) -> None:
    server, _ = served
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = request(server, "/api/studies", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD"
    port = server.server_address[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        assert request(server, "/api/studies", host=host)[0] == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert request(server, "/api/studies", host=host)[0] == 200


def test_api_payloads(served: tuple[DashboardServer, str]) -> None:
    server, url = served
    status, body = get_json(server, "/api/studies")
    assert status == 200
    live = next(s for s in body["studies"] if s["name"] == "live")
    assert live["counts"]["complete"] > 0
    status, d = get_json(server, "/api/study?name=live")
    assert status == 200
    assert d["name"] == "live" and d["direction"] == "minimize" and d["interval"] == 0.3
    assert d["counts"] == live["counts"]
    assert sum(d["counts"].values()) == 20
    assert len(d["recent"]["rows"]) == 20
    assert d["recent"]["columns"][-1] == "message"
    assert d["history"]["best_value"] and d["timeline"]["rows"]
    # issue 19.4 views: learning curves (mixed_study's pruned trials reported once), contour,
    # ECDF, and hover labels of the history points; no Pareto view for one objective
    curves = d["curves"]["curves"]
    assert curves and {c["state"] for c in curves} == {"pruned"}
    assert all(len(c["step"]) == len(c["value"]) == 1 for c in curves)
    assert d["curves"]["cutoff_step"] == []  # the storage does not know the study's pruner
    pair = d["contour"]["pairs"][0]
    assert len(pair["z"]) == len(pair["grid_y"]) and len(pair["z"][0]) == len(pair["grid_x"])
    assert pair["x_name"] in d["labels"][str(pair["number"][0])]
    assert d["ecdf"]["fraction"][-1] == 1.0 and len(d["ecdf"]["value"]) == d["counts"]["complete"]
    assert d["pareto"] is None and d["objectives"]["directions"] == ["minimize"]
    assert XSS in json.dumps(d)  # data is data: it is the page that must show it as text
    assert d["storage"] == url


def test_hostile_study_name_round_trips(served: tuple[DashboardServer, str]) -> None:
    server, url = served
    name = 'we/ird ?&#=%2F<b>"name"'
    mixed_study(3, storage=url, name=name)
    status, d = get_json(server, "/api/study?name=" + quote(name, safe=""))
    assert status == 200 and d["name"] == name


def test_new_trials_appear_on_the_next_poll(served: tuple[DashboardServer, str]) -> None:
    import time

    server, url = served
    mixed_study(5, storage=url, name="growing")
    _, before = get_json(server, "/api/study?name=growing")
    study = tk.load_study("growing", storage=url)
    trial = study.ask()
    time.sleep(0.6)  # > the payload's cache age
    _, running = get_json(server, "/api/study?name=growing")
    assert running["counts"]["running"] == 1
    assert running["recent"]["rows"][0][:2] == [str(trial.number), "running"]
    study.tell(trial, -100.0)
    time.sleep(0.6)
    _, after = get_json(server, "/api/study?name=growing")
    assert after["counts"]["complete"] == before["counts"]["complete"] + 1
    assert after["best"]["number"] == trial.number and after["best"]["value"] == -100.0


@pytest.mark.postgres
def test_storage_password_is_never_served(postgres_url: str) -> None:
    password = re.search(r"://[^:]+:([^@]+)@", postgres_url).group(1)  # type: ignore[union-attr]
    storage = get_storage(postgres_url)
    info = storage.create_study("pg", space=tk.Space(SPACE), direction="minimize")
    params = {"lr": 1e-3, "momentum": 0.5, "layers": 2, "hidden": 16, "act": XSS}
    for i in range(3):
        t = storage.start_trial(info.study_id, params, worker="w", limit=10)
        storage.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=float(i))
    with serving(storage) as server:
        paths = ("/", "/app.js", "/api/studies", "/api/study?name=pg")
        bodies = [request(server, p)[2] for p in paths]
        for body in bodies:
            assert password.encode() not in body
        assert b"***" in bodies[2] and b"***" in bodies[3]  # the URL is shown, redacted
        assert json.loads(bodies[3])["counts"]["complete"] == 3


def test_cli_dashboard_serves_until_stopped(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    mixed_study(4, storage=url, name="cli-study")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tansaku", "dashboard", "--storage", url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        served = re.search(r"on (http://127\.0\.0\.1:\d+/)", line)
        assert served, line
        with urllib.request.urlopen(served.group(1) + "api/studies", timeout=10) as resp:
            names = [s["name"] for s in json.load(resp)["studies"]]
        assert names == ["cli-study"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert proc.returncode == 0


def test_cli_dashboard_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tansaku.cli import main

    # a storage that does not exist yet is waited for: tests/report/test_report_small.py
    assert main(["dashboard"]) == 2
    assert "--storage" in capsys.readouterr().err
    url = f"sqlite:///{tmp_path / 'x.db'}"
    mixed_study(1, storage=url, name="x")
    assert main(["dashboard", "--storage", url, "--interval", "0"]) == 2


def test_api_shows_the_pareto_front_of_a_multi_objective_study(tmp_path: Path) -> None:
    from tansaku.dashboard import StudyCache

    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = tk.create_study(
        {"x": tk.Float(0, 1)},
        sampler="random",
        storage=url,
        name="mo",
        directions=["minimize", "minimize"],
    )
    for x, c in ((0.1, -1.0), (0.5, -1.0), (0.9, 1.0), (0.7, -1.0)):
        t = study.ask()
        t.set_constraint("c", c)
        values = {0.1: (1.0, 3.0), 0.5: (2.0, 2.0), 0.9: (0.5, 0.5), 0.7: (3.0, 3.0)}[x]
        study.tell(t, values)
    d = StudyCache(get_storage(url), "mo").payload()
    p = d["pareto"]
    assert p["number"] == [0, 1, 2, 3]
    assert p["values"] == [[1.0, 2.0, 0.5, 3.0], [3.0, 2.0, 0.5, 3.0]]
    assert p["feasible"] == [True, True, False, True]  # trial 2 would dominate, but infeasible
    assert p["on_front"] == [True, True, False, False]
    assert len(p["hv_number"]) == len(p["hypervolume"]) and p["hypervolume"][-1] > 0


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_learning_curves_follow_running_trials_without_rereading_the_study(
    tmp_path: Path, kind: str
) -> None:
    from tansaku.dashboard import StudyCache

    url = f"sqlite:///{tmp_path / 'c.db'}" if kind == "sqlite" else None
    study = tk.create_study({"x": tk.Float(0, 1)}, sampler="random", storage=url, name="c")
    for i in range(5):
        t = study.ask()
        for step in range(3):
            t.report(float(i + step), step)
        study.tell(t, float(i))
    storage = study.storage
    full_reads = []
    real = storage.intermediate_values
    storage.intermediate_values = lambda *a, **k: full_reads.append(a) or real(*a, **k)  # type: ignore[method-assign]
    cache = StudyCache(storage, "c", min_age=0.0)

    def curve(number: int, want: list[float]) -> list[float | None] | None:
        """Poll like a browser (a payload is reused for a few build times) until it shows."""
        deadline = time.monotonic() + 10
        while True:
            got = {c["number"]: c["value"] for c in cache.payload()["curves"]["curves"]}
            if got.get(number) == want or time.monotonic() > deadline:
                return got.get(number)
            time.sleep(0.02)

    for i in range(5):
        assert curve(i, [float(i + s) for s in range(3)]) == [float(i + s) for s in range(3)]
    running = study.ask()
    running.report(9.0, 0)
    assert curve(running.number, [9.0]) == [9.0]
    running.report(8.0, 1)
    assert curve(running.number, [9.0, 8.0]) == [9.0, 8.0]  # a running trial's curve grows
    running.report(7.0, 2)
    study.tell(running, 7.0)
    assert curve(running.number, [9.0, 8.0, 7.0]) == [9.0, 8.0, 7.0]
    assert len(full_reads) == 1  # the whole study's reports were read once, on the first poll
