"""``phresh serve`` and the commands beside it, run as users run them: ``.venv/bin/phresh``.

Every process here shares one embedded data directory, initialised once for the module.
"""

import gc
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from phresh import embedded, migrations
from phresh.cli import app, create_served_app, url_host
from phresh.config import Settings, get_settings, to_libpq_url
from phresh.main import create_app
from tests.fixtures.serving import (
    PHRESH,
    STARTUP_TIMEOUT_S,
    environment,
    free_port,
    migrated_data_dir,
    postmaster_pid,
    ready_status,
    served,
    stop,
)

# The request lines of a served process, as an operator reads them.
LOGGED = {"PHRESH_ACCESS_LOG": "true", "PHRESH_LOG_LEVEL": "INFO"}


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with migrated_data_dir() as pgdata:
        yield pgdata


def phresh(pgdata: Path, port: int, *args: str) -> subprocess.Popen[str]:
    """``phresh ARGS`` in the background, stdout and stderr in one stream, in order."""
    return subprocess.Popen(  # noqa: S603 - our own command
        [PHRESH, *args],
        env=environment(pgdata, port),
        cwd=pgdata.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run(
    pgdata: Path, port: int, *args: str, timeout_s: float = STARTUP_TIMEOUT_S
) -> tuple[int, str]:
    with phresh(pgdata, port, *args) as process:
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    return process.returncode, output


@pytest.fixture
def serving(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A ``phresh serve`` on the module's data directory, ready; killed if a test leaves it."""
    with served(data_dir) as server:
        yield server


def test_a_command_beside_the_server_leaves_the_database_up_until_the_server_stops(
    data_dir: Path, serving: tuple[subprocess.Popen[str], int]
) -> None:
    server, port = serving
    postmaster = postmaster_pid(data_dir)

    code, output = run(data_dir, free_port(), "db", "current")

    assert code == 0, output
    assert "(head)" in output
    assert "stopping embedded PostgreSQL" not in output
    assert f"embedded PostgreSQL stays up for pid {server.pid}" in output
    assert ready_status(port) == 200

    served = stop(server)

    assert server.returncode == 128 + signal.SIGTERM
    assert served.splitlines()[-1] == "phresh: stopping embedded PostgreSQL"
    assert embedded.process_start(postmaster) is None
    assert not (data_dir / "postmaster.pid").exists()


def test_a_second_server_on_the_data_dir_is_refused_and_the_first_keeps_serving(
    data_dir: Path, serving: tuple[subprocess.Popen[str], int]
) -> None:
    server, port = serving

    # A refusal comes before anything starts: no waiting for a server that should not run.
    code, output = run(data_dir, free_port(), "serve", timeout_s=10)

    assert code != 0
    assert output.splitlines() == [
        f"phresh: {data_dir} is already served by pid {server.pid} on port {port}; "
        "stop it first, or set PHRESH_DATA_DIR to another directory"
    ]
    assert ready_status(port) == 200
    stop(server)


def test_seed_prints_its_logins_before_the_database_stops(data_dir: Path) -> None:
    code, output = run(data_dir, free_port(), "seed", "--users", "3", "--cleanings", "5")

    assert code == 0, output
    lines = output.splitlines()
    logins = next(i for i, line in enumerate(lines) if line.startswith("log in as any demo"))
    assert "phresh-demo-password" in lines[logins]
    assert lines[logins - 1].startswith("seeded 3 users, 5 cleanings")
    assert lines[-1] == "phresh: stopping embedded PostgreSQL"


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("PHRESH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
def test_serve_prints_the_docs_url_and_runs_the_freezing_factory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    port = free_port()

    result = CliRunner().invoke(
        app,
        ["serve", "--host", "localhost"],
        env={
            # No migrations: nothing connects before uvicorn (which is not run here).
            "PHRESH_DATABASE_URL": "postgresql://phresh@127.0.0.1:1/phresh",
            "PHRESH_MIGRATE_ON_START": "false",
            "PHRESH_PORT": str(port),
            "PHRESH_WEB_DIR": "",
        },
        prog_name="phresh",
    )

    assert result.exit_code == 0, result.output
    docs = [line for line in result.output.splitlines() if "/docs" in line]
    assert docs == [f"phresh: API docs at http://localhost:{port}/docs"]
    assert "web app" not in result.output  # PHRESH_WEB_DIR is empty: no web app
    [(args, kwargs)] = calls
    assert args == ("phresh.cli:create_served_app",)
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"]) == ("localhost", port)


def test_serve_names_the_web_app_when_it_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    (tmp_path / "index.html").write_text("<!doctype html><title>Phresh</title>")
    port = free_port()

    result = CliRunner().invoke(
        app,
        ["serve", "--host", "0.0.0.0"],  # noqa: S104 - uvicorn is not run
        env={
            "PHRESH_DATABASE_URL": "postgresql://phresh@127.0.0.1:1/phresh",
            "PHRESH_MIGRATE_ON_START": "false",
            "PHRESH_PORT": str(port),
            "PHRESH_WEB_DIR": str(tmp_path),
        },
        prog_name="phresh",
    )

    assert result.exit_code == 0, result.output
    assert f"phresh: the web app at http://127.0.0.1:{port}/" in result.output.splitlines()


@pytest.mark.parametrize(
    ("host", "shown"),
    [("0.0.0.0", "127.0.0.1"), ("::", "[::1]"), ("::1", "[::1]"), ("10.1.2.3", "10.1.2.3")],  # noqa: S104
)
def test_the_docs_url_names_an_address_a_browser_can_open(host: str, shown: str) -> None:
    assert url_host(host) == shown


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen", "fresh_settings")
def test_the_served_app_factory_freezes_what_start_up_built() -> None:
    served = create_served_app()

    assert isinstance(served, FastAPI)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
async def test_create_app_and_its_lifespan_freeze_nothing(settings: Settings) -> None:
    """Tests start many apps: freezing is the served process's business, not the app's."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        pass

    assert gc.get_freeze_count() == 0


def test_the_access_log_hides_the_token_of_a_mail_link(data_dir: Path) -> None:
    # The page the link opens is the web app's: a build of one page stands in for it.
    build = data_dir.parent / "dist"
    build.mkdir()
    (build / "index.html").write_text("<!doctype html><title>Phresh</title>")
    with served(data_dir, **LOGGED, PHRESH_WEB_DIR=str(build)) as (server, port):
        try:
            page = httpx.get(
                f"http://127.0.0.1:{port}/verify-email?token=s3cret-link-token", timeout=5
            )
        finally:
            output = stop(server)

    assert page.status_code == 200
    # The request's line names the path, never the query string.
    assert "phresh.access: GET /verify-email 200 " in output
    assert "s3cret-link-token" not in output


@pytest.mark.parametrize(
    ("allowed", "logged"), [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")], ids=["nobody", "lb"]
)
def test_a_forwarded_address_is_believed_only_from_the_allowed(
    data_dir: Path, allowed: str, logged: str
) -> None:
    with served(data_dir, **LOGGED, PHRESH_FORWARDED_ALLOW_IPS=allowed) as (server, port):
        try:
            live = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/health/live",
                headers={"X-Forwarded-For": "203.0.113.9"},
                timeout=5,
            )
        finally:
            output = stop(server)

    assert live.status_code == 200
    [line] = [line for line in output.splitlines() if "GET /api/v1/health/live" in line]
    assert line.endswith(f" client={logged}")


def test_served_logs_are_json_lines_one_per_request_uvicorn_s_own_included(
    data_dir: Path,
) -> None:
    with served(data_dir, **LOGGED, PHRESH_LOG_FORMAT="json") as (server, port):
        try:
            live = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/health/live",
                headers={"X-Request-ID": "served-json-1"},
                timeout=5,
            )
        finally:
            output = stop(server)

    assert live.status_code == 200
    lines = [line for line in output.splitlines() if line]
    # The command's own words are "phresh: ..." lines; every log record is a JSON object.
    records = [json.loads(line) for line in lines if not line.startswith("phresh: ")]
    assert {"uvicorn.error", "phresh.access"} <= {record["logger"] for record in records}
    [request] = [record for record in records if record.get("request_id") == "served-json-1"]
    assert request["logger"] == "phresh.access"
    assert (request["route"], request["status"]) == ("/api/v1/health/live", 200)
    # uvicorn's access log is off: no second line for the request, in any format.
    assert [line for line in lines if "/api/v1/health/live" in line] == [
        json.dumps(request, separators=(",", ":"))
    ]


def test_db_top_prints_the_statements_the_embedded_server_recorded(data_dir: Path) -> None:
    # The module's data directory was migrated (`phresh db upgrade`): statements enough.
    code, output = run(data_dir, free_port(), "db", "top", "--limit", "3", "--by", "calls")

    assert code == 0, output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["total", "ms"])
    rows = lines[header + 1 : header + 4]
    assert len(rows) == 3
    assert all(row.split()[1].isdigit() for row in rows)
    assert lines[-1] == "phresh: stopping embedded PostgreSQL"


async def test_serve_migrates_through_the_admin_url(
    database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    # The pool's database stands for PgBouncer's address (migrated already, so the served
    # app is ready); the admin URL is PostgreSQL's own, where the migrations must run.
    with served(
        tmp_path / "pgdata",
        PHRESH_DATABASE_URL=database_url,
        PHRESH_DATABASE_ADMIN_URL=empty_database_url,
        PHRESH_RUN_WORKER="false",
    ) as (server, _):
        stop(server)

    conn = await asyncpg.connect(to_libpq_url(empty_database_url))
    try:
        migrated = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        revision = (
            await conn.fetchval("SELECT version_num FROM alembic_version") if migrated else None
        )
    finally:
        await conn.close()
    assert revision == migrations.head_revision()
