"""One way for the dashboard tests to run a real dashboard server on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tansaku.dashboard import DashboardServer, make_server
from tansaku.storage import BaseStorage


@contextmanager
def serving(storage: BaseStorage, interval: float = 2.0) -> Iterator[DashboardServer]:
    """A dashboard server on ``storage`` answering from a daemon thread while the block runs
    (``interval``: the poll interval it tells the page); shut
    down, its socket closed and its thread joined afterwards, even when the block fails."""
    server = make_server(storage, interval=interval)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
