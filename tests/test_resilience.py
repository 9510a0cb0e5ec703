"""A database that drops connections, restarts, times out or refuses input: the answers.

A dead connection fails at most the request that found it (503 with Retry-After), is thrown
away, and the next request succeeds. Every way the code reaches PostgreSQL is tried: the
current-user lookup (ORM), plain-SQL reads and inserts, ORM units of work, logins and the
readiness check (the engine directly).
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from phresh import embedded, migrations
from phresh.db import SessionDep, create_engine
from phresh.kit.repository import fetch_value
from phresh.main import create_app
from phresh.models import Cleaning, User
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, auth_headers, create_cleaning, create_user

PROBLEM = "application/problem+json"

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def calls(user: User, cleaning_id: int, headers: dict[str, str]) -> dict[str, Call]:
    """One request for each way the code reaches the database, with the status it expects."""

    async def current_user(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/users/me", headers=headers)

    async def plain_sql_read(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"/cleanings/{cleaning_id}", headers=headers)

    async def plain_sql_list(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/cleanings", params={"q": "attic"}, headers=headers)

    async def plain_sql_insert(client: httpx.AsyncClient) -> httpx.Response:
        body = {"name": "Shed", "price": "12.00"}
        return await client.post("/cleanings", json=body, headers=headers)

    async def orm_unit_of_work(client: httpx.AsyncClient) -> httpx.Response:
        return await client.patch(
            f"/cleanings/{cleaning_id}", json={"name": "Attic"}, headers=headers
        )

    async def login(client: httpx.AsyncClient) -> httpx.Response:
        form = {"username": user.username, "password": DEFAULT_PASSWORD}
        return await client.post("/auth/token", data=form)

    async def readiness(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/health/ready")

    return {
        "current_user": current_user,
        "plain_sql_read": plain_sql_read,
        "plain_sql_list": plain_sql_list,
        "plain_sql_insert": plain_sql_insert,
        "orm_unit_of_work": orm_unit_of_work,
        "login": login,
        "readiness": readiness,
    }


WAYS = [
    "current_user",
    "plain_sql_read",
    "plain_sql_list",
    "plain_sql_insert",
    "orm_unit_of_work",
    "login",
    "readiness",
]


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code in {200, 201}, response.text


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"


async def app_backends(engine: AsyncEngine, exclude: set[int]) -> set[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return {pid for (pid,) in rows} - exclude


async def terminate(engine: AsyncEngine, pids: set[int]) -> None:
    async with engine.connect() as connection:
        for pid in pids:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.mark.parametrize("way", WAYS)
async def test_a_terminated_connection_fails_one_request_then_the_pool_recovers(
    live_engine: AsyncEngine, way: str
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        user = await create_user(session)
        cleaning = await create_cleaning(session, owner=user, name="Attic")
    before = await app_backends(live_engine, exclude=set())
    settings = make_settings(str(live_engine.url.render_as_string(hide_password=False)))
    app = create_app(settings)
    headers = auth_headers(settings, user)
    requests = calls(user, cleaning.id, headers)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            # Several connections in the pool, all idle, then all killed.
            warm = await asyncio.gather(*(requests[name](client) for name in WAYS))
            pids = await app_backends(live_engine, exclude=before)
            await terminate(live_engine, pids)

            first = await requests[way](client)
            after = {name: await requests[name](client) for name in WAYS}

    for response in warm:
        assert_ok(response)
    assert pids
    assert_retry_later(first)
    for response in after.values():
        assert_ok(response)


async def test_after_a_restart_a_dead_connection_fails_one_request_and_service_resumes(
    short_tmp_dir: Path,
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    server = await asyncio.to_thread(embedded.start_server, pgdata)
    try:
        url = embedded.database_url(server, "postgres")
        await migrations.upgrade_async(url)
        settings = make_settings(url)
        setup_engine = create_engine(settings)
        setup = AsyncSession(setup_engine, expire_on_commit=False)
        async with setup as session, session.begin():
            user = await create_user(session)
            cleaning = await create_cleaning(session, owner=user, name="Attic")
        await setup_engine.dispose()
        requests = calls(user, cleaning.id, auth_headers(settings, user))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                warm = await asyncio.gather(*(requests[name](client) for name in WAYS))
                await asyncio.to_thread(embedded.stop_server, server)
                down = await requests["current_user"](client)
                server = await asyncio.to_thread(embedded.start_server, pgdata)
                first_round = {name: await requests[name](client) for name in WAYS}
                second_round = {name: await requests[name](client) for name in WAYS}
    finally:
        await asyncio.to_thread(embedded.stop_server, server)

    for response in warm:
        assert_ok(response)
    assert_retry_later(down)
    # The first request after the restart may meet a connection to the old server: that one
    # request answers 503 and the pool throws every connection of the old server away.
    statuses = {name: response.status_code for name, response in first_round.items()}
    assert sum(status == 503 for status in statuses.values()) <= 1, statuses
    for response in first_round.values():
        if response.status_code == 503:
            assert_retry_later(response)
        else:
            assert_ok(response)
    for response in second_round.values():
        assert_ok(response)


# Each failure the database can answer with, provoked on purpose through each way the code
# sends SQL: the ORM's statement API and plain SQL text, both on the request's session.
FAILURES: dict[str, tuple[str, Any]] = {
    "statement_timeout": (
        "SELECT 1 FROM pg_sleep(1)",
        select(literal(1)).select_from(func.pg_sleep(1).table_valued()),
    ),
    "lock_timeout": ("SELECT count(*) FROM cleaning", select(func.count()).select_from(Cleaning)),
    "connection_lost": (
        "SELECT pg_terminate_backend(pg_backend_pid())",
        select(func.pg_terminate_backend(func.pg_backend_pid())),
    ),
    "unstorable_input": ("SELECT CAST(:text AS text)", select(literal("a\x00b"))),
}
EXPECTED = {
    "statement_timeout": 503,
    "lock_timeout": 503,
    "connection_lost": 503,
    "unstorable_input": 422,
}


async def run_failure(
    session: SessionDep, way: Annotated[str, Query()], kind: Annotated[str, Query()]
) -> None:
    plain, orm = FAILURES[kind]
    if way == "plain_sql":
        await fetch_value(session, plain, {"text": "a\x00b"} if ":text" in plain else {})
    else:
        await session.scalar(orm)


@asynccontextmanager
async def failing_app(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, db_statement_timeout_ms=200, db_lock_timeout_ms=200)
    app: FastAPI = create_app(settings)
    app.add_api_route("/api/v1/test/failure", run_failure, methods=["POST"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


@asynccontextmanager
async def table_locked(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text("LOCK TABLE cleaning IN ACCESS EXCLUSIVE MODE"))
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.mark.parametrize("way", ["plain_sql", "orm"])
@pytest.mark.parametrize("kind", list(FAILURES))
async def test_each_database_failure_maps_to_one_status_on_every_path(
    live_engine: AsyncEngine, way: str, kind: str
) -> None:
    url = live_engine.url.render_as_string(hide_password=False)
    async with failing_app(url) as client:
        if kind == "lock_timeout":
            async with table_locked(live_engine):
                response = await client.post("/test/failure", params={"way": way, "kind": kind})
        else:
            response = await client.post("/test/failure", params={"way": way, "kind": kind})
        recovered = await client.get("/health/ready")

    assert response.status_code == EXPECTED[kind], response.text
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text
    if response.status_code == 503:
        assert response.headers["retry-after"] == "1"
    assert recovered.status_code == 200
