"""``tansaku report`` (HTML + PNGs) and ``tansaku dashboard`` (live, read-only web page).

Kept apart from ``_main.py`` so the commands plug in with one call: :func:`add_commands`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tansaku._check import check_count, check_number
from tansaku._errors import ConfigError
from tansaku.cli._common import add_target, short, storage_exists, target

__all__ = ["add_commands", "cmd_dashboard", "cmd_report"]


def cmd_report(args: argparse.Namespace) -> int:
    from tansaku.report._html import write_report
    from tansaku.report._table import TrialTable

    check_count(args.dpi, "--dpi", high=2400, none_ok=True)
    storage, name, _ = target(args)
    table = TrialTable.load(storage, name)
    info = storage.get_study(name)
    trade_offs = None
    if info.n_objectives > 1:  # the Pareto front and hypervolume plots
        from tansaku.report._pareto import pareto

        trade_offs = pareto(
            storage.get_trials(info.study_id),
            info.directions,
            info.objective_names,
            study=info.name,
        )
    pruner = None
    if args.config:  # the learning curves draw the cut-off of the pruner the config names
        from tansaku.cli._config import pruner_of

        pruner = pruner_of(args.config)
    try:
        page = write_report(
            table,
            args.out,
            storage_url=storage.url,
            importance_model=args.importance_model,
            dpi=args.dpi,
            trade_offs=trade_offs,
            pruner=pruner,
        )
    except ImportError as e:  # matplotlib / scikit-learn missing: say which extra
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # an output directory that cannot be made or written
        raise ConfigError(
            f"cannot write {short(str(args.out))}: {e.strerror or e}", field="-o/--out"
        ) from None
    n_png = len(list(Path(args.out).glob("*.png")))
    print(f"wrote {page} and {n_png} PNG files ({len(table)} trials)")
    return 0


def _dashboard_storage(args: argparse.Namespace, *, poll: float = 0.5) -> Any:
    """The storage to show; a SQLite file that does not exist yet (the study has not started)
    is waited for, saying so once, instead of created (the dashboard only reads)."""
    from tansaku.storage._url import get_storage

    url = args.storage
    if not url and args.config:
        from tansaku.cli._config import locate

        url = locate(args.config)[1]  # only the storage: the objective is not imported
    if not url:
        raise ConfigError("give --storage URL (or a config file)", field="storage")
    if not storage_exists(url):
        print(
            f"waiting for {url.split(':///', 1)[-1]} (the study has not started yet; Ctrl-C to stop)",
            file=sys.stderr,
            flush=True,
        )
        while not storage_exists(url):
            time.sleep(poll)
    return get_storage(url)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from tansaku.dashboard._server import _is_loopback, make_server

    check_number(args.interval, "--interval", high=86400, none_ok=True)
    check_count(args.port, "--port", low=0, high=65535, none_ok=True)
    try:
        storage = _dashboard_storage(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    try:
        server = make_server(
            storage, host=args.host, port=args.port, interval=args.interval, quiet=not args.verbose
        )
    except OSError as e:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr
        )
        return 1
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: anyone who can reach this host can read the "
            "studies (the dashboard has no login)",
            file=sys.stderr,
        )
    print(f"tansaku dashboard for {storage.url} on {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def add_commands(sub: Any) -> None:
    """Register ``report`` and ``dashboard`` on the ``tansaku`` subparsers."""

    p = sub.add_parser(
        "report",
        help="write an HTML report (plots + tables) and PNGs of a study",
        description="Write DIR/index.html (self-contained: opens offline, no external assets) and "
        "one PNG per plot: best value so far, trials per worker, parallel coordinates, slices, "
        "parameter importance; plus the best trials and the latest failures. Needs matplotlib "
        "(the plot extra: pip install '.[plot]' in a clone, 'tansaku[plot]' from PyPI).",
    )
    add_target(p)
    p.add_argument("-o", "--out", default="report", help="output directory (default: ./report)")
    p.add_argument(
        "--importance-model",
        choices=["auto", "numpy", "sklearn"],
        default="auto",
        help="forest used for parameter importance (auto: scikit-learn if installed)",
    )
    p.add_argument("--dpi", type=int, default=110, help="PNG resolution (default 110)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "dashboard",
        help="serve a live, read-only web page of the studies in a storage",
        description="Serve a read-only dashboard of every study in a storage: trial table, "
        "best-so-far history and job timeline, updated live while studies run.",
    )
    p.add_argument("config", nargs="?", help="a study config whose storage to show")
    p.add_argument("--storage", help="storage URL")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free)")
    p.add_argument(
        "--interval", type=float, default=2.0, help="seconds between page refreshes (default 2)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    p.set_defaults(func=cmd_dashboard)
