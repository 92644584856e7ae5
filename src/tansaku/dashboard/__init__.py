"""A small read-only web dashboard: ``tansaku dashboard --storage URL``.

Lists the studies of a storage and shows one live (trial table, best-so-far history, learning
curves, a contour, the distribution of values, the Pareto front and hypervolume of a study with
several objectives, job timeline), refreshed by polling JSON endpoints; a second study of the
same storage can be overlaid.  Standard library only (``http.server``) plus static files shipped
with the package (the charts are drawn by a vendored copy of uPlot 1.6.32, MIT); no external
assets, so it works offline.  See
:mod:`tansaku.dashboard._server` for the safety rules (routes, Host check, CSP, escaping).
"""

from __future__ import annotations

from tansaku.dashboard._payload import StudyCache, studies_payload
from tansaku.dashboard._server import ROUTES, DashboardServer, make_server, serve

__all__ = ["ROUTES", "DashboardServer", "StudyCache", "make_server", "serve", "studies_payload"]
