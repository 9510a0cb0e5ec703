"""The ``phresh`` command: serve, worker, db ..., seed, create-superuser.

A failure the user can fix (bad settings, a taken port, an unreachable database) ends the
command with one line on stderr per problem, saying what is wrong and what to do, and a
non-zero exit status; the traceback is printed too only with PHRESH_LOG_LEVEL=DEBUG.
"""

import asyncio
import errno
import functools
import gc
import logging
import logging.config
import os
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import asyncpg
import typer
from pydantic import ValidationError

from phresh.config import (
    Settings,
    describe_settings_errors,
    get_settings,
    to_async_url,
    to_libpq_url,
)
from phresh.stats import Order

# Alembic, SQLAlchemy (and so phresh.migrations), uvicorn and phresh.embedded are imported
# where they are used: `phresh --help`, or a refusal such as a taken port, does not wait for
# them to load, and a server worker (which imports this module for create_served_app) never
# loads the embedded server's code.

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="Phresh: the cleaning marketplace API.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")

logger = logging.getLogger("phresh.cli")

P = ParamSpec("P")
R = TypeVar("R")


class StartupError(Exception):
    """A failure the user can fix: each line is printed as ``phresh: <line>``."""

    def __init__(self, *lines: str, exit_code: int = 1) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.exit_code = exit_code


def _debug() -> bool:
    try:
        return get_settings().log_level == "DEBUG"
    except ValidationError:
        return os.environ.get("PHRESH_LOG_LEVEL", "").upper() == "DEBUG"


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report StartupError (and Alembic's CommandError) as lines, not as a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except StartupError as exc:
            _report(exc, exc.lines)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            from alembic.util import CommandError

            # Alembic's user errors ("Can't locate revision ..."); anything else is a bug.
            if not isinstance(exc, CommandError):
                raise
            _report(exc, [str(exc)])
            raise typer.Exit(1) from None

    return run


def _report(error: Exception, lines: Iterable[str]) -> None:
    if _debug():
        traceback.print_exception(error, file=sys.stderr)
    for line in lines:
        typer.echo(f"phresh: {line}", err=True)


def load_settings() -> Settings:
    """The settings, or one line per invalid variable (naming it and the rule, not its value)."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise StartupError(*describe_settings_errors(exc), exit_code=2) from exc


def shown_url(url: str) -> str:
    """The URL as it was given, without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _without_password(text: str, url: str) -> str:
    from sqlalchemy.engine import make_url

    password = make_url(to_async_url(url)).password
    # Only an error message of the driver's is cleaned, and it never quotes the URL; this is a
    # second guard. A password of a few characters would mangle the text and protect nothing.
    if password and len(password) >= 4:
        text = text.replace(str(password), "***")
    return text


# What connecting raises when the server is down, unknown, refuses us or lacks the database.
UNREACHABLE = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def _check_reachable(url: str, connect_timeout_s: float) -> None:
    dsn = to_libpq_url(url)
    conn = await asyncpg.connect(dsn, timeout=connect_timeout_s)
    await conn.close()


def refuse_admin_through_pooler(settings: Settings) -> None:
    if settings.db_pooler == "pgbouncer" and settings.database_admin_url is None:
        raise StartupError(
            "PHRESH_DB_POOLER=pgbouncer: set PHRESH_DATABASE_ADMIN_URL to PostgreSQL's own "
            "address; schema and bulk-data commands must not go through the pooler"
        )


def refuse_embedded_outside_development(settings: Settings) -> None:
    if settings.database_url is None and settings.environment != "development":
        raise StartupError(
            f"PHRESH_ENVIRONMENT={settings.environment} needs PHRESH_DATABASE_URL: the embedded "
            "PostgreSQL starts in development only"
        )


@contextmanager
def database_url(settings: Settings, *, check: bool = True, admin: bool = False) -> Iterator[str]:
    """The database to use: PHRESH_DATABASE_URL, or the embedded server, started for the block.

    ``check``: connect once first, so an unreachable server is one clear line, not a traceback
    from deep inside a migration. ``admin``: a command that changes the schema or bulk data,
    which connects to PHRESH_DATABASE_ADMIN_URL when set (directly, never through a pooler).
    The embedded server is for development only: anywhere else, N processes would start N
    private databases.
    """
    if admin:
        refuse_admin_through_pooler(settings)
    configured = settings.admin_database_url() if admin else settings.database_url
    variable = "PHRESH_DATABASE_ADMIN_URL" if admin and settings.database_admin_url else None
    if configured is None:
        refuse_embedded_outside_development(settings)
    if configured is not None:
        url = configured.get_secret_value()
        shown = shown_url(url)
        if check:
            try:
                asyncio.run(_check_reachable(url, settings.db_connect_timeout_s))
            except UNREACHABLE as exc:
                reason = _without_password(str(exc).splitlines()[0] if str(exc) else "", url)
                raise StartupError(
                    f"cannot reach the database {shown}: {reason or type(exc).__name__}; "
                    f"check {variable or 'PHRESH_DATABASE_URL'} and that the server is up"
                ) from exc
        typer.echo(f"phresh: using {shown}", err=True)
        yield url
        return
    from phresh import embedded

    data_dir = settings.data_dir.expanduser().resolve()
    typer.echo(f"phresh: starting embedded PostgreSQL in {data_dir}", err=True)
    try:
        server = embedded.start_server(data_dir, explain_over_ms=settings.db_slow_query_ms)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StartupError(
            f"cannot start the embedded PostgreSQL in {data_dir}: {exc}; "
            f"its log is {data_dir / 'log'} (or set PHRESH_DATA_DIR to another directory)"
        ) from exc
    try:
        server_url = embedded.database_url(server, "postgres")
        yield asyncio.run(embedded.prepare_database(server_url, settings.database_name))
    finally:
        others = embedded.stop_server(
            server,
            before_stop=lambda: typer.echo("phresh: stopping embedded PostgreSQL", err=True),
        )
        if others:
            pids = ", ".join(str(pid) for pid in others)
            typer.echo(f"phresh: embedded PostgreSQL stays up for pid {pids}", err=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def create_served_app() -> "FastAPI":
    """uvicorn's factory for ``phresh serve``: the app, with what start-up built frozen.

    uvicorn calls it once per server process (each worker imports it anew). Everything built by
    then (modules, routes, schemas, settings) lives as long as the process: ``gc.freeze()``
    moves it out of the collector's generations, so full collections no longer walk it; they
    showed up as p99 latency spikes. Here, not in the app's lifespan, which also runs for every
    app a test starts.
    """
    from phresh.main import create_app
    from phresh.shutdown import DrainOnSigterm

    application = create_app()
    # Only a served process drains on SIGTERM: a test's app leaves the signal alone.
    application.add_middleware(
        DrainOnSigterm,
        shutdown=application.state.shutdown,
        drain_s=get_settings().shutdown_drain_s_or_default(),
    )
    gc.collect()
    gc.freeze()
    return application


def web_app_built(settings: Settings) -> bool:
    return settings.web_dir is not None and (settings.web_dir / "index.html").is_file()


def url_host(host: str) -> str:
    """The host as a browser on this machine reaches it."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - reading a bind address, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def ensure_port_free(host: str, port: int) -> None:
    """Fail now, before the database is started, if uvicorn could not listen on host:port."""
    other = port + 1 if port < 65535 else 8001
    hint = f"pick another port: PHRESH_PORT={other} make run, or phresh serve --port {other}"
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror}; set PHRESH_HOST (or --host)"
        raise StartupError(msg) from exc
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            # As uvicorn binds: connections of a server that just stopped do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    msg = f"{host}:{port} is already in use; {hint}"
                else:
                    msg = f"cannot listen on {host}:{port}: {exc.strerror}; {hint}"
                raise StartupError(msg) from exc


@contextmanager
def serving_data_dir(settings: Settings, host: str, port: int) -> Iterator[None]:
    """Refuse a second ``phresh serve`` on one embedded data directory (commands may share it)."""
    if settings.database_url is not None:
        yield
        return
    from phresh import embedded

    data_dir = settings.data_dir.expanduser().resolve()
    try:
        with embedded.serving(data_dir, host, port):
            yield
    except embedded.AlreadyServedError as exc:
        where = f"pid {exc.pid} on port {exc.port}" if exc.pid else "another phresh serve"
        msg = (
            f"{data_dir} is already served by {where}; stop it first, "
            "or set PHRESH_DATA_DIR to another directory"
        )
        raise StartupError(msg) from exc


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PHRESH_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PHRESH_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: PHRESH_WORKERS.")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the web app and the API; migrates first unless PHRESH_MIGRATE_ON_START=false."""
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    # Before anything is written (the embedded server's serve file) or started.
    refuse_embedded_outside_development(settings)
    if settings.migrate_on_start:
        # Migrating on start is a schema change: never through a transaction pooler.
        refuse_admin_through_pooler(settings)
    with ExitStack() as stack:
        stack.enter_context(serving_data_dir(settings, host, port))
        ensure_port_free(host, port)
        # Without migrations to run, the server starts even while the database is down:
        # /api/v1/health/ready answers 503 until it is reachable.
        url = stack.enter_context(database_url(settings, check=settings.migrate_on_start))
        if settings.migrate_on_start:
            from phresh import migrations

            # Directly (PHRESH_DATABASE_ADMIN_URL when set), under the migrations' advisory
            # lock: any number of processes may start at once.
            admin_url = settings.database_admin_url
            migrations.upgrade(admin_url.get_secret_value() if admin_url else url)
        # Workers (and --reload children) build their app from the environment.
        os.environ["PHRESH_DATABASE_URL"] = url
        get_settings.cache_clear()
        from phresh.metrics.serving import multiprocess_metrics

        # Several workers: their metrics add up through files in a directory of this run's.
        served_by = 1 if reload else (workers or settings.workers)
        stack.enter_context(multiprocess_metrics(settings.metrics_dir, served_by))
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it; with this handler that
        # ends in SystemExit, so the embedded database is stopped after the server, not left.
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        import uvicorn

        from phresh import logs
        from phresh.server import HeadGuardProtocol

        base = f"http://{url_host(host)}:{port}"
        if web_app_built(settings):
            typer.echo(f"phresh: the web app at {base}/", err=True)
        typer.echo(f"phresh: API docs at {base}/docs", err=True)
        uvicorn.run(
            "phresh.cli:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=None if reload else served_by,
            reload=reload,
            loop="uvloop",
            # httptools, with a cap on each request's headers and on the time they take.
            http=HeadGuardProtocol,
            # One line per request comes from the app (phresh.logs.RequestLog, as
            # PHRESH_ACCESS_LOG says), without the query string uvicorn's would print.
            access_log=False,
            # uvicorn believes the forwarded headers of loopback unless told otherwise.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
            log_config=logs.log_config(settings),
            log_level=settings.log_level.lower(),
            # After PHRESH_SHUTDOWN_DRAIN_S (phresh.shutdown): the requests in flight get this long.
            timeout_graceful_shutdown=settings.shutdown_grace_s,
        )


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from phresh import migrations

    with database_url(load_settings(), admin=True) as url:
        migrations.upgrade(url, revision)


@db_app.command("downgrade")
@one_line_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from phresh import migrations

    with database_url(load_settings(), admin=True) as url:
        migrations.downgrade(url, revision)


@db_app.command("current")
@one_line_errors
def db_current() -> None:
    """Show the revision the database is at."""
    from alembic import command

    from phresh import migrations

    with database_url(load_settings(), admin=True) as url:
        command.current(migrations.alembic_config(url), verbose=True)


@db_app.command("history")
@one_line_errors
def db_history() -> None:
    """List every migration."""
    from alembic import command

    from phresh import migrations

    command.history(migrations.alembic_config(), verbose=True)


@db_app.command("revision")
@one_line_errors
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="Short slug-like summary.")],
    autogenerate: Annotated[bool, typer.Option(help="Diff the models against the DB.")] = True,
) -> None:
    """Write a new migration file (autogenerated from the models by default)."""
    from alembic import command

    from phresh import migrations

    with database_url(load_settings(), admin=True) as url:
        command.revision(
            migrations.alembic_config(url),
            message=message,
            autogenerate=autogenerate,
            # Numbered after the head: readiness tells a later revision by its number.
            rev_id=migrations.next_revision_id(message, migrations.head_revision()),
        )


@db_app.command("check")
@one_line_errors
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from alembic import command

    from phresh import migrations

    with database_url(load_settings(), admin=True) as url:
        command.check(migrations.alembic_config(url))


@db_app.command("backup")
@one_line_errors
def db_backup(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: var/backups/<time>.dump")
    ] = None,
) -> None:
    """Dump the whole database to one compressed file (pg_dump custom format)."""
    from phresh import maintenance

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = output or Path("var/backups") / f"phresh-{stamp}.dump"
    with database_url(load_settings(), admin=True) as url:
        try:
            maintenance.backup(url, target)
        except maintenance.MaintenanceError as exc:
            raise StartupError(f"backup failed: {exc}") from exc
        typer.echo(f"phresh: backup written to {target}")


@db_app.command("restore")
@one_line_errors
def db_restore(
    dump: Annotated[Path, typer.Argument(help="A file written by `phresh db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database's contents with a backup, in one transaction."""
    from phresh import maintenance

    if not yes:
        typer.confirm("This replaces every table's contents. Continue?", abort=True)
    with database_url(load_settings(), admin=True) as url:
        try:
            maintenance.restore(url, dump)
        except maintenance.MaintenanceError as exc:
            raise StartupError(f"restore failed: {exc}") from exc
        typer.echo(f"phresh: restored {dump}")


@db_app.command("create-app-role")
@one_line_errors
def db_create_app_role(
    role: Annotated[str, typer.Argument(help="Login role for the API, e.g. phresh_app.")],
    password: Annotated[
        str | None, typer.Option(help="Its password (omit for socket/trust setups).")
    ] = None,
) -> None:
    """Create (or re-grant) a least-privilege role: row access only, no schema changes."""
    from phresh import maintenance

    settings = load_settings()
    with database_url(settings, admin=True) as url:
        timeouts = maintenance.role_timeouts(settings)
        asyncio.run(maintenance.create_app_role(url, role, password, timeouts))
        typer.echo(f"phresh: role {role!r} can now read and write rows, and nothing more")
        shown = ", ".join(f"{name} = {ms} ms" for name, ms in timeouts.items())
        typer.echo(f"phresh: its sessions in this database start with {shown}")


@db_app.command("top")
@one_line_errors
def db_top(
    limit: Annotated[int, typer.Option(min=1, help="How many statements.")] = 10,
    order: Annotated[
        Order, typer.Option("--by", help="Total time, time per call, or calls.")
    ] = Order.total,
) -> None:
    """Print the statements that cost the database the most (pg_stat_statements)."""
    from phresh import stats

    with database_url(load_settings(), admin=True) as url:
        try:
            statements = asyncio.run(stats.top_statements(url, limit=limit, order=order))
        except stats.StatsUnavailable as exc:
            raise StartupError(str(exc)) from exc
        typer.echo(stats.render(statements))


@app.command()
@one_line_errors
def worker(
    drain: Annotated[
        bool, typer.Option("--drain", help="Deliver the mails queued now, then exit.")
    ] = False,
) -> None:
    """Deliver mail: beside `phresh serve` run with PHRESH_RUN_WORKER=false."""
    settings = load_settings()
    with ExitStack() as stack:
        # Until the worker's own handler is in place: stop the embedded database on the way.
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        url = stack.enter_context(database_url(settings))
        os.environ["PHRESH_DATABASE_URL"] = url
        get_settings.cache_clear()
        settings = load_settings()
        asyncio.run(_check_migrated(settings))
        from phresh import logs

        logging.config.dictConfig(logs.log_config(settings))
        if settings.smtp_host:
            where = f"over SMTP to {settings.smtp_host}:{settings.smtp_port_or_default()}"
        else:
            where = f"as .eml files into {settings.mail_dir.expanduser().resolve()}"
        typer.echo(f"phresh: delivering mail {where}", err=True)
        asyncio.run(_deliver_mail(settings, drain=drain))


async def _check_migrated(settings: Settings) -> None:
    """The worker needs the outbox's and pgqueuer's tables: one line if they are not there."""
    from phresh.db import Database
    from phresh.health import service as health_service
    from phresh.migrations import HEAD

    database = await Database.open(settings)
    try:
        await health_service.check_ready(database, HEAD)
    except health_service.NotReady as exc:
        msg = f"{exc.detail}; run `phresh db upgrade` (`phresh serve` migrates as it starts)"
        raise StartupError(msg) from exc
    finally:
        await database.close()


async def _deliver_mail(settings: Settings, *, drain: bool) -> None:
    from phresh.db import Database
    from phresh.mail import worker as mail_worker

    database = await Database.open(settings)
    try:
        if drain:
            await mail_worker.drain(settings, database)
            return
        running = await mail_worker.start_worker(settings, database)
        # SIGTERM (a deployment stopping it) and Ctrl+C: finish the deliveries under way,
        # then exit 0.
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        typer.echo("phresh: stopping the mail worker", err=True)
        await running.stop()
    finally:
        await database.close()


@app.command()
@one_line_errors
def seed(
    users: Annotated[int, typer.Option(min=1, help="Demo users to create.")] = 50,
    cleanings: Annotated[int, typer.Option(min=0, help="Cleanings to create.")] = 500,
    random_seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 42,
) -> None:
    """Fill the database with realistic demo data (made inside PostgreSQL: fast at millions)."""
    from phresh import migrations
    from phresh import seed as seeding

    with database_url(load_settings(), admin=True) as url:
        migrations.upgrade(url)
        report = asyncio.run(
            seeding.seed(url, users=users, cleanings=cleanings, random_seed=random_seed)
        )
        # Before the embedded database is stopped (and its line printed).
        typer.echo(report)


@app.command("create-superuser")
@one_line_errors
def create_superuser(
    username: Annotated[str, typer.Option(prompt=True)],
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an administrator account (prompts for anything not given)."""
    from phresh import admin, migrations

    settings = load_settings()
    with database_url(settings, admin=True) as url:
        migrations.upgrade(url)
        os.environ["PHRESH_DATABASE_URL"] = url
        get_settings.cache_clear()
        try:
            asyncio.run(admin.create_superuser(get_settings(), username, email, password))
        except admin.AdminError as exc:
            raise StartupError(str(exc)) from exc
        typer.echo(f"phresh: superuser {username.lower()!r} created")


@app.command()
@one_line_errors
def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI document (the web app's client is generated from it); no database."""
    import json

    from phresh.main import create_app

    document = json.dumps(create_app(load_settings()).openapi(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document, encoding="utf-8")
