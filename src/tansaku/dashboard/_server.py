"""The dashboard's HTTP server: stdlib ``ThreadingHTTPServer``, read-only, a fixed set of routes.

Safety rules (each one is tested):

* only the routes in ``ROUTES`` exist; any other path — ``/../../etc/passwd``, its %-encoded
  variants, ``/static/..`` — is a 404.  No request path is ever joined to a file-system path: the
  static files are read from the package by fixed names;
* a study is named by the ``name`` query parameter, URL-decoded and looked up in the storage; it is
  never used as a path;
* only GET and HEAD: there is nothing to write;
* the page inserts every study-provided string with ``textContent`` and the server sends a
  Content-Security-Policy that allows scripts from this origin only (no inline script), so a
  parameter value like ``<script>alert(1)</script>`` is text, twice over;
* bound to 127.0.0.1 by default; while bound to a loopback address, a request whose ``Host``
  header is not a loopback name is refused (403), which stops DNS-rebinding pages from reading it;
* the storage URL shown is ``storage.url``, from which SQLStorage removes any password.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tansaku._errors import StudyNotFoundError, TansakuError
from tansaku.dashboard._payload import StudyCache, studies_payload
from tansaku.storage._base import BaseStorage

__all__ = ["ROUTES", "DashboardServer", "make_server", "serve"]

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    # uPlot 1.6.32 (MIT, https://github.com/leeoniya/uPlot; its licence: static/uplot.LICENSE),
    # vendored unchanged from the npm package's dist/ so the page needs no network
    "/uplot.min.js": ("uplot.min.js", "text/javascript; charset=utf-8"),
    "/uplot.min.css": ("uplot.min.css", "text/css; charset=utf-8"),
}
ROUTES = (*_STATIC, "/api/studies", "/api/study", "/favicon.ico")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _static(name: str) -> bytes:
    return (resources.files("tansaku.dashboard") / "static" / name).read_bytes()


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DashboardServer(ThreadingHTTPServer):
    """Serves one storage.  ``url`` is where to point a browser; ``serve_forever()`` runs it and
    ``shutdown()`` (from another thread) stops it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        storage: BaseStorage,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float = 2.0,
        quiet: bool = True,
    ) -> None:
        self.storage = storage
        self.interval = float(interval)
        self.quiet = quiet
        self.loopback = _is_loopback(host)
        self._caches: dict[str, StudyCache] = {}
        self._caches_lock = threading.Lock()
        self._assets = {path: (_static(f), ctype) for path, (f, ctype) in _STATIC.items()}
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def cache(self, name: str) -> StudyCache:
        with self._caches_lock:
            c = self._caches.get(name)
            if c is None:
                if len(self._caches) > 256:  # names are user input: bound the memory
                    self._caches.clear()
                c = self._caches[name] = StudyCache(
                    self.storage, name, min_age=min(1.0, self.interval / 2)
                )
            return c


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "tansaku-dashboard"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    # ---------------------------------------------------------------- responses
    def _send(self, status: int, body: bytes, ctype: str, *, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, *, head: bool = False) -> None:
        body = json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", head=head)

    def _error(self, status: HTTPStatus, message: str, *, head: bool = False) -> None:
        self._json(status, {"error": message}, head=head)

    # ---------------------------------------------------------------- routing
    def _host_ok(self) -> bool:
        if not self.server.loopback:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):  # [::1]:port
            name = host[1 : host.find("]")] if "]" in host else host
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in _LOOPBACK_NAMES

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # read-only

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, *, head: bool) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header", head=head)
            return
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/favicon.ico":  # browsers ask for it; there is none
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", head=True)
        elif path in _STATIC and not parts.query:
            body, ctype = self.server._assets[path]
            self._send(HTTPStatus.OK, body, ctype, head=head)
        elif path == "/api/studies":
            self._api(lambda: studies_payload(self.server.storage), head=head)
        elif path == "/api/study":
            names = parse_qs(parts.query, keep_blank_values=True).get("name", [])
            if len(names) != 1 or not names[0]:
                self._error(HTTPStatus.BAD_REQUEST, "give exactly one ?name=STUDY", head=head)
                return
            cache = self.server.cache(names[0])
            self._api(lambda: {**cache.payload(), "interval": self.server.interval}, head=head)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found", head=head)

    def _api(self, build: Any, *, head: bool) -> None:
        try:
            payload = build()
        except StudyNotFoundError as e:
            self._error(HTTPStatus.NOT_FOUND, str(e), head=head)
            return
        except TansakuError as e:  # e.g. storage unreachable: the page shows it and retries
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(e), head=head)
            return
        self._json(HTTPStatus.OK, payload, head=head)


def make_server(
    storage: BaseStorage,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    interval: float = 2.0,
    quiet: bool = True,
) -> DashboardServer:
    """A dashboard bound to ``host:port`` (port 0: any free port; see ``server.url``)."""
    return DashboardServer(storage, host=host, port=port, interval=interval, quiet=quiet)


def serve(
    storage: BaseStorage,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    interval: float = 2.0,
    quiet: bool = False,
) -> None:
    """Run a dashboard until interrupted."""
    server = make_server(storage, host=host, port=port, interval=interval, quiet=quiet)
    try:
        server.serve_forever()
    finally:
        server.server_close()
