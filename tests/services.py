"""Real services for tests: a throwaway PostgreSQL server, single-node Slurm, Grid Engine and OpenPBS, and
headless Chromium driven by Playwright. No mocks: each fixture hands out the real thing.

Availability rule (the same for every service): when a service is missing, a test that needs it is
*skipped* with a reason that names the service -- unless the environment variable
``TANSAKU_REQUIRE_SERVICES=1`` is set (``scripts/test.sh`` sets it, so CI has it), in which case
the test *fails* instead, so CI can never go green by skipping.

A test "needs" a service when it is marked (``@pytest.mark.postgres``, ``slurm``, ``sge``,
``pbs``, ``browser``) or uses one of the fixtures below; using a fixture adds the marker, so
``pytest -m "not slurm"`` deselects every Slurm test.

Fixtures (wired in ``tests/conftest.py`` through ``pytest_plugins``):

========================  ========  ==============================================================
``postgres_server``       session   :class:`PostgresServer` shared by the run. Do not leave it
                                    stopped (a finalizer restarts it if a test does).
``postgres_url``          function  ``postgresql+psycopg://...`` URL of a new, empty database on
                                    the shared server (one per test, so tests do not see each
                                    other's tables).
``restartable_postgres``  function  a private :class:`PostgresServer` for this test alone, which it
                                    may ``stop()``, ``start()``, ``restart(downtime=...)`` or crash
                                    with ``stop(mode="immediate")``; removed after the test.
``slurm``                 session   :class:`BatchQueue` of the single-node Slurm (partition, host,
                                    slots), checked to have a usable node.
``sge``                   session   :class:`BatchQueue` of the single-node Grid Engine (queue,
                                    host, slots), checked to have a usable queue instance.
``pbs``                   session   :class:`PBSQueue` of the single-host OpenPBS (queue, host,
                                    slots, ``bin_dir`` of its commands, the ordinary ``user``),
                                    checked to have a free node. More PBS fixtures (a venv the
                                    ordinary user can run, executor options) are in
                                    ``tests/executors/conftest.py``.
``chromium_path``         session   path of the Chromium executable.
``browser``               session   Playwright ``Browser``: headless Chromium from Debian.
``page``                  function  Playwright ``Page`` in a fresh browser context.
========================  ========  ==============================================================

:class:`PostgresServer` also works outside pytest (e.g. in ``benchmarks/``):
``with PostgresServer.create() as pg: ... pg.url ...``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "BatchQueue",
    "PBSQueue",
    "PostgresServer",
    "ServiceUnavailable",
    "browser",
    "chromium_path",
    "find_chromium",
    "find_postgres_bindir",
    "import_or_unavailable",
    "page",
    "pbs",
    "postgres_server",
    "postgres_url",
    "require_services",
    "restartable_postgres",
    "sge",
    "slurm",
]

SERVICE_MARKERS = ("postgres", "slurm", "sge", "pbs", "browser")
# markers whose tests must not overlap each other (one xdist worker each; see the hook below)
_SERIAL_MARKERS = ("slurm", "sge", "pbs")
# fixture name -> marker it implies
_FIXTURE_MARKERS = {
    "postgres_server": "postgres",
    "postgres_url": "postgres",
    "restartable_postgres": "postgres",
    "slurm": "slurm",
    "sge": "sge",
    "pbs": "pbs",
    "chromium_path": "browser",
    "browser": "browser",
    "page": "browser",
}
_SETUP_HINT = "scripts/test.sh installs and starts it"


class ServiceUnavailable(RuntimeError):
    """A service needed by a test is not installed or not running (the message says which)."""


def require_services() -> bool:
    """True when a missing service must fail the test rather than skip it (CI)."""
    return os.environ.get("TANSAKU_REQUIRE_SERVICES", "") == "1"


def _unavailable(reason: str) -> NoReturn:
    """Skip the current test, or fail it when TANSAKU_REQUIRE_SERVICES=1."""
    if require_services():
        pytest.fail(
            f"{reason} [TANSAKU_REQUIRE_SERVICES=1, so this fails instead of skipping]",
            pytrace=False,
        )
    pytest.skip(reason)


def import_or_unavailable(module: str, extra: str) -> Any:
    """Import ``module``, or skip/fail (as for a missing service) naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        _unavailable(f"{module} is not installed ({e}); pip install -e '.[{extra}]'")


def _run(cmd: list[str], *, timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def find_postgres_bindir() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl``; raises :class:`ServiceUnavailable`.

    Order: ``$TANSAKU_PG_BINDIR``; Debian's ``/usr/lib/postgresql/<newest>/bin``; ``initdb`` on
    ``PATH``.
    """
    env = os.environ.get("TANSAKU_PG_BINDIR")
    if env:  # an explicit choice is never second-guessed
        if (Path(env) / "initdb").is_file() and (Path(env) / "pg_ctl").is_file():
            return Path(env)
        raise ServiceUnavailable(f"TANSAKU_PG_BINDIR={env} has no initdb and pg_ctl")
    candidates: list[Path] = []
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p)],
        reverse=True,
    )
    candidates += [Path(p) for p in debian]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    raise ServiceUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
        f"'postgresql' ({_SETUP_HINT}) or set TANSAKU_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(eq=False)  # identity semantics: servers are kept in a set
class PostgresServer:
    """A PostgreSQL server owned by the test run, in its own temporary directory.

    Listens on ``127.0.0.1:port`` (password auth) and on a unix socket in ``base/sock`` (trust).
    ``fsync=off`` (the data are thrown away) but ``synchronous_commit=on``: a server stopped with
    ``mode="immediate"`` (a crash, as far as PostgreSQL knows) recovers every committed
    transaction on :meth:`start`, because the OS keeps the WAL that was written. :meth:`restart` keeps the port, so URLs stay
    valid across restarts. Root cannot run PostgreSQL, so as root the server runs as the OS user
    ``postgres`` (created by the Debian package).

    Not thread-safe for concurrent start/stop calls; calling :meth:`restart` from one helper
    thread while other threads use the database is the intended use.
    """

    bindir: Path
    base: Path
    port: int
    user: str = "tansaku"
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    dbname: str = "tansaku"
    os_user: str | None = None  # run server commands as this OS user (None: as ourselves)
    _n_databases: int = 0

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls, *, dbname: str = "tansaku", bindir: Path | None = None, start_timeout: float = 60
    ) -> PostgresServer:
        """``initdb`` a new cluster in a new temp dir, start it on a free port, create ``dbname``.

        Raises :class:`ServiceUnavailable` when the binaries (or, as root, the ``postgres`` OS
        user) are missing, and ``RuntimeError`` with the server log when it fails to start.
        """
        bindir = bindir or find_postgres_bindir()
        os_user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceUnavailable(
                    "running as root, but there is no OS user 'postgres' to run the server as "
                    "(the Debian package 'postgresql' creates it)"
                ) from None
            os_user = "postgres"
        # Not under pytest's tmp_path: that lives in a 0700 root-owned directory which the
        # postgres user cannot enter.
        base = Path(tempfile.mkdtemp(prefix="tansaku-pg-"))
        server = cls(bindir=bindir, base=base, port=0, dbname=dbname, os_user=os_user)
        _LIVE_SERVERS.add(server)
        try:
            server._initdb()
            server._start_on_free_port(start_timeout)
            server._createdb(dbname)
        except BaseException:
            server.destroy()
            raise
        return server

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # ---- addresses ---------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def logfile(self) -> Path:
        return self.base / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the main database (``postgresql+psycopg://`` over TCP)."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str, *, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of database ``dbname`` on this server; ``driver=""`` for a plain
        ``postgresql://`` URL (libpq form, usable by psycopg.connect)."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self, *, timeout: float = 60) -> None:
        """Start the server (same port as before) and wait until it accepts connections."""
        r = self._pg(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(int(timeout)),
            ],
            timeout=timeout + 10,
        )
        if r.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL did not start on port {self.port}:\n"
                f"{r.stdout}{r.stderr}\n--- server log ---\n{self.log_tail()}"
            )

    def stop(self, *, mode: str = "fast", timeout: float = 60) -> None:
        """Stop the server. ``mode``: ``"smart"`` (wait for clients), ``"fast"`` (disconnect
        clients, clean shutdown) or ``"immediate"`` (abort, like a crash; recovery on start)."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"mode must be smart, fast or immediate, got {mode!r}")
        if not self.is_running():
            return
        r = self._pg(
            ["pg_ctl", "stop", "-D", str(self.datadir), "-m", mode, "-w", "-t", str(int(timeout))],
            timeout=timeout + 10,
        )
        if r.returncode != 0 and self.is_running():
            raise RuntimeError(f"PostgreSQL did not stop: {r.stdout}{r.stderr}")

    def restart(self, *, downtime: float = 0.0, mode: str = "fast") -> None:
        """Stop (``mode`` as in :meth:`stop`), stay down ``downtime`` seconds, start again."""
        self.stop(mode=mode)
        if downtime > 0:
            time.sleep(downtime)
        self.start()

    def is_running(self) -> bool:
        r = self._pg(["pg_ctl", "status", "-D", str(self.datadir)], timeout=30)
        return r.returncode == 0

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (default: a fresh numbered name); return its URL."""
        if name is None:
            self._n_databases += 1
            name = f"t{self._n_databases:04d}_{secrets.token_hex(3)}"
        self._createdb(name)
        return self.url_for(name)

    def destroy(self) -> None:
        """Stop the server (immediately: the data are thrown away) and delete its directory."""
        _LIVE_SERVERS.discard(self)
        if self.datadir.exists():
            with contextlib.suppress(Exception):
                self.stop(mode="immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    # ---- internals ---------------------------------------------------------------------------

    def _pg(
        self, argv: list[str], *, timeout: float, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program from ``bindir`` as the server's OS user."""
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        kw: dict[str, Any] = {}
        if self.os_user is not None:
            # Drop root entirely, supplementary groups included.
            kw.update(user=self.os_user, group=self.os_user, extra_groups=[])
        # cwd: the postgres user cannot enter root's working directory (it would warn).
        return _run(cmd, timeout=timeout, cwd=self.base, input=input, **kw)

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.os_user is not None:
            ent = pwd.getpwnam(self.os_user)
            for p in (self.base, self.socket_dir, pwfile):
                os.chown(p, ent.pw_uid, ent.pw_gid)
        pwfile.chmod(0o600)
        r = self._pg(
            [
                "initdb",
                "-D",
                str(self.datadir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],  # throwaway data: skip the fsync of the new cluster
            timeout=120,
        )
        pwfile.unlink()
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{r.stdout}{r.stderr}")

    def _write_settings(self) -> None:
        conf = self.datadir / "postgresql.conf"
        text = conf.read_text()
        text = text.split("# --- tansaku test settings ---")[0]
        text += (
            "# --- tansaku test settings ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            # Throwaway data: no fsync, for speed. This only loses data if the *OS* crashes: a
            # committed transaction is still write()n to the WAL before COMMIT returns, so a
            # killed server (stop(mode="immediate")) recovers it. synchronous_commit must stay
            # on: with it off, a crash loses the last commits (seen in test_services.py).
            "fsync = off\n"
            "full_page_writes = off\n"
            # many workers x connection pools (issue 5); small memory footprint otherwise
            "max_connections = 300\n"
            "shared_buffers = 32MB\n"
        )
        conf.write_text(text)

    def _start_on_free_port(self, timeout: float) -> None:
        # _free_port() can race with another process grabbing the port; retry with a new one.
        for attempt in range(3):
            self.port = _free_port()
            self._write_settings()
            try:
                self.start(timeout=timeout)
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def _createdb(self, name: str) -> None:
        r = self._pg(
            ["createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, name],
            timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError(f"createdb {name} failed: {r.stderr.strip()}")


_LIVE_SERVERS: set[PostgresServer] = set()


@atexit.register
def _destroy_leftover_servers() -> None:
    # Fixture finalizers normally do this; this covers an interrupted run.
    for server in list(_LIVE_SERVERS):
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The run's shared PostgreSQL server (see the module docstring)."""
    try:
        server = PostgresServer.create()
    except ServiceUnavailable as e:
        _unavailable(str(e))
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a new empty database on the shared server, for this test only."""
    yield postgres_server.create_database()
    # A test that stopped the shared server must not break the ones after it.
    if not postgres_server.is_running():
        postgres_server.start()


@pytest.fixture
def restartable_postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL server that this test may stop, restart or crash (~1 s to make)."""
    try:
        server = PostgresServer.create()
    except ServiceUnavailable as e:
        _unavailable(str(e))
    try:
        yield server
    finally:
        server.destroy()


# --------------------------------------------------------------------------------------------
# Batch schedulers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchQueue:
    """Where test jobs go on a single-node batch scheduler.

    ``kind`` is ``"slurm"`` or ``"sge"``; ``queue`` is the Slurm partition / SGE cluster queue to
    submit to (``sbatch -p``, ``qsub -q``, dask-jobqueue ``queue=``); ``host`` the execution
    host; ``slots`` how many single-core jobs can run at once (more than the cores on purpose).
    """

    kind: str
    queue: str
    host: str
    slots: int


_USABLE_SLURM_STATES = {"idle", "mixed", "allocated"}


@functools.cache
def _check_slurm() -> BatchQueue | str:
    """The usable Slurm queue, or the reason there is none. Waits up to 15 s for a node that is
    still registering (e.g. daemons just started)."""
    if shutil.which("sinfo") is None:
        return f"Slurm is not installed (no 'sinfo'); {_SETUP_HINT}"
    deadline = time.monotonic() + 15
    last = ""
    while True:
        try:
            r = _run(["sinfo", "-h", "-N", "-o", "%N|%T|%c|%P"], timeout=15)
            last = (r.stdout + r.stderr).strip()
            if r.returncode != 0 and "Unable to contact slurm controller" in r.stderr:
                break  # no slurmctld at all: waiting would not help
            if r.returncode == 0:
                for line in r.stdout.splitlines():
                    node, state, cpus, part = line.split("|")
                    if state.rstrip("*~#!%$@^-") in _USABLE_SLURM_STATES:
                        return BatchQueue("slurm", part.rstrip("*"), node, int(cpus))
        except (subprocess.TimeoutExpired, ValueError) as e:
            last = repr(e)
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return (
        f"Slurm has no usable node (sinfo: {last or 'no output'!r}); is slurmctld "
        "running? see scripts/services/slurm_start.sh"
    )


_QSTAT_INSTANCE = re.compile(r"^(\S+)@(\S+)\s+\S+\s+\d+/\d+/(\d+)\s+\S+\s+\S+\s*(\S*)\s*$")


@functools.cache
def _check_sge() -> BatchQueue | str:
    """The usable Grid Engine queue, or the reason there is none (waits up to 15 s)."""
    if shutil.which("qstat") is None or shutil.which("qsub") is None:
        return f"Grid Engine is not installed (no 'qstat'/'qsub'); {_SETUP_HINT}"
    deadline = time.monotonic() + 15
    last = ""
    while True:
        try:
            r = _run(["qstat", "-f"], timeout=15)
            last = (r.stdout + r.stderr).strip()
            if r.returncode != 0 and (
                "commlib error" in r.stderr or "unable to contact qmaster" in r.stderr
            ):
                break  # no sge_qmaster at all: waiting would not help
            if r.returncode == 0:
                usable = []
                for line in r.stdout.splitlines():
                    m = _QSTAT_INSTANCE.match(line)
                    # a queue instance with state letters (a=alarm, u=unknown, d=disabled,
                    # E=error, ...) cannot take jobs
                    if m and not m.group(4):
                        usable.append(BatchQueue("sge", m.group(1), m.group(2), int(m.group(3))))
                if usable:
                    # prefer the queue our setup script makes
                    return next((q for q in usable if q.queue == "debug"), usable[0])
        except subprocess.TimeoutExpired as e:
            last = repr(e)
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return (
        f"Grid Engine has no usable queue instance (qstat -f: {last or 'no output'!r}); "
        "are sge_qmaster and sge_execd running? see scripts/services/sge_start.sh"
    )


@dataclass(frozen=True)
class PBSQueue(BatchQueue):
    """The single-host OpenPBS: ``bin_dir`` holds its ``qsub``/``qstat``/``qdel`` (not on PATH:
    Grid Engine's commands have the same names), ``user`` is the ordinary user jobs run as."""

    bin_dir: str = "/opt/pbs/bin"
    user: str = "pbsuser"


@functools.cache
def _check_pbs() -> PBSQueue | str:
    """The usable OpenPBS queue ``workq``, or the reason there is none (waits up to 15 s)."""
    bin_dir = os.environ.get("TANSAKU_PBS_BIN", "/opt/pbs/bin")
    user = os.environ.get("TANSAKU_PBS_USER", "pbsuser")
    if not (Path(bin_dir) / "qstat").is_file():
        return (
            f"OpenPBS is not installed (no {bin_dir}/qstat); scripts/services/pbs_setup.sh does it"
        )
    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"OpenPBS: there is no ordinary user {user!r} to run jobs as (setup_pbs.sh makes it)"
    deadline = time.monotonic() + 15
    last = ""
    while True:
        try:
            r = _run([f"{bin_dir}/pbsnodes", "-av"], timeout=15)
            last = (r.stdout + r.stderr).strip()
            if r.returncode != 0 and "cannot connect to server" in r.stderr:
                break  # no pbs_server at all: waiting would not help
            node = state = ""
            ncpus = 0
            for line in r.stdout.splitlines():
                if line and not line[0].isspace():
                    node = line.strip()
                key, _, value = line.strip().partition(" = ")
                if key == "state":
                    state = value
                elif key == "resources_available.ncpus":
                    ncpus = int(value)
            if (
                r.returncode == 0
                and node
                and state
                and not re.search(r"down|offline|unknown|stale", state)
            ):
                return PBSQueue("pbs", "workq", node, ncpus, bin_dir=bin_dir, user=user)
        except (subprocess.TimeoutExpired, ValueError) as e:
            last = repr(e)
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return (
        f"OpenPBS has no free node (pbsnodes -av: {last[:300] or 'no output'!r}); is it "
        "running? see scripts/services/pbs_start.sh"
    )


@pytest.fixture(scope="session")
def pbs() -> PBSQueue:
    """The single-host OpenPBS, checked to have a node that takes jobs."""
    q = _check_pbs()
    if isinstance(q, str):
        _unavailable(q)
    return q


@pytest.fixture(scope="session")
def slurm() -> BatchQueue:
    """The single-node Slurm, checked to have a node that takes jobs."""
    q = _check_slurm()
    if isinstance(q, str):
        _unavailable(q)
    return q


@pytest.fixture(scope="session")
def sge() -> BatchQueue:
    """The single-node Grid Engine, checked to have a queue instance that takes jobs."""
    q = _check_sge()
    if isinstance(q, str):
        _unavailable(q)
    return q


# --------------------------------------------------------------------------------------------
# Headless Chromium (Playwright driving Debian's chromium; Playwright never downloads a browser
# here because we always pass executable_path)
# --------------------------------------------------------------------------------------------

# As root Chromium needs --no-sandbox. The networking switches stop Chromium from calling home
# (the sandbox has no network; refused connections would only add noise and delay).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def find_chromium() -> str:
    """Path of a Chromium executable (``$TANSAKU_CHROMIUM`` first); raises ServiceUnavailable."""
    env = os.environ.get("TANSAKU_CHROMIUM")
    names = [env] if env else []
    names += ["chromium", "chromium-browser", "/usr/bin/chromium"]
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    raise ServiceUnavailable(
        f"Chromium not found: install the Debian package 'chromium' ({_SETUP_HINT}) "
        "or set TANSAKU_CHROMIUM"
    )


@functools.cache
def _check_browser() -> str | None:
    """None when a browser test can run, else the reason."""
    try:
        find_chromium()
    except ServiceUnavailable as e:
        return str(e)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (it is in the 'test' extra: pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        return find_chromium()
    except ServiceUnavailable as e:
        _unavailable(str(e))


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``) shared by the run."""
    reason = _check_browser()
    if reason:
        _unavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=list(CHROMIUM_ARGS), timeout=60_000
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A Playwright ``Page`` in a fresh context (no cookies or storage shared between tests)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# Hooks: markers <-> fixtures, early availability check
# --------------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses a service fixture gets that service's marker (so ``-m`` selects it)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        have = {m.name for m in item.iter_markers()}
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in names and marker not in have:
                item.add_marker(marker)
                have.add(marker)
        # Under pytest-xdist (scripts/test.sh runs ``-n 2 --dist loadgroup``) the tests of one
        # batch scheduler share its single node's slots and queue: run them on one worker, in turn.
        for marker in _SERIAL_MARKERS:
            if marker in have:
                item.add_marker(pytest.mark.xdist_group(marker))
                break


def _reason_missing(marker: str) -> str | None:
    if marker == "postgres":
        try:
            find_postgres_bindir()
        except ServiceUnavailable as e:
            return str(e)
        return None
    if marker == "slurm":
        q = _check_slurm()
        return q if isinstance(q, str) else None
    if marker == "sge":
        q = _check_sge()
        return q if isinstance(q, str) else None
    if marker == "pbs":
        q = _check_pbs()
        return q if isinstance(q, str) else None
    if marker == "browser":
        return _check_browser()
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, with TANSAKU_REQUIRE_SERVICES=1, fail) a marked test whose service is missing,
    before any of its fixtures run."""
    for marker in SERVICE_MARKERS:
        if item.get_closest_marker(marker) is not None:
            reason = _reason_missing(marker)
            if reason:
                _unavailable(reason)
