import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from phresh import embedded, migrations
from phresh.main import create_app
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings

PROBLEM = "application/problem+json"
READY = {
    "status": "ok",
    "db": "reachable",
    "migrations": "head",
    "replica": "none",
    "replica_lag_ms": None,
}
# Nothing listens on port 1: the connection is refused at once.
REFUSING_URL = "postgresql://postgres@127.0.0.1:1/x"


@asynccontextmanager
async def client_for(
    database_url: str, migration_head: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app of its own, pointed at ``database_url``, through its lifespan;
    ``migration_head``: the newest migration its code is to know (default: the real one)."""
    app = create_app(make_settings(database_url))
    if migration_head is not None:
        app.state.migration_head = migration_head
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def timed_ready(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get("/health/ready")
    return response, time.perf_counter() - started


@pytest.fixture
async def silent_server_url() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never says a word (a hung database)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/x"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_live_is_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_live_needs_no_database() -> None:
    async with client_for(REFUSING_URL) as client:
        response = await client.get("/health/live")

    assert response.status_code == 200


async def test_ready_is_200_when_migrated_and_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == READY


async def test_ready_is_503_fast_when_the_database_refuses_connections() -> None:
    async with client_for(REFUSING_URL) as client:
        response, elapsed = await timed_ready(client)

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("not-ready")
    assert response.json()["detail"].startswith("database:")
    assert elapsed < 2.0


async def test_ready_is_503_within_2_s_when_the_database_never_answers(
    silent_server_url: str,
) -> None:
    async with client_for(silent_server_url) as client:
        response, elapsed = await timed_ready(client)

    assert response.status_code == 503
    assert response.json()["detail"].startswith("database:")
    assert elapsed < 2.0


async def test_ready_is_503_when_migrations_are_behind(empty_database_url: str) -> None:
    async with client_for(empty_database_url) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith("migrations:")
    assert migrations.head_revision() in response.json()["detail"]


async def test_ready_recovers_by_itself_when_the_database_comes_back(
    short_tmp_dir: Path,
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    server = await asyncio.to_thread(embedded.start_server, pgdata)
    try:
        url = embedded.database_url(server, "postgres")
        await migrations.upgrade_async(url)
        async with client_for(url) as client:
            before = await client.get("/health/ready")
            await asyncio.to_thread(embedded.stop_server, server)
            down, elapsed = await timed_ready(client)
            server = await asyncio.to_thread(embedded.start_server, pgdata)
            after = await client.get("/health/ready")
    finally:
        await asyncio.to_thread(embedded.stop_server, server)

    assert before.status_code == 200
    assert down.status_code == 503
    assert elapsed < 2.0
    assert after.status_code == 200
    assert after.json() == READY


def previous_revision() -> str:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    head = script.get_revision(migrations.HEAD)
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


async def test_ready_is_200_when_a_newer_release_migrated_further(database_url: str) -> None:
    # A rolling deploy: the new release migrated, this process runs the release before
    # (migrations are expand/contract) and stays in the load balancer.
    async with client_for(database_url, migration_head=previous_revision()) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["migrations"]) == ("ok", "ahead")


async def test_ready_is_503_when_the_code_is_newer_than_the_database(database_url: str) -> None:
    head = migrations.sequence(migrations.HEAD)
    assert head is not None
    next_release = f"{head + 1:04d}_from_the_next_release"

    async with client_for(database_url, migration_head=next_release) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["detail"] == (
        f"migrations: database at {migrations.HEAD}, code expects {next_release}"
    )
