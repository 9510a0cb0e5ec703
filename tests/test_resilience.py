"""A database that drops connections, restarts, times out or refuses input: the answers.

A dead connection never makes a 500. The pool replaces a connection it knows to be closed
when it is next acquired, so often no request fails at all; a request that does meet a
dead connection answers 503 with Retry-After, the pool throws that connection away, and the
next request succeeds. Every way the code reaches PostgreSQL is tried: the current-user
lookup, reads (autocommit), inserts and updates (in a transaction), logins and the
readiness check (which acquires from the pool itself).
"""

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import psutil
import pytest
from fastapi import FastAPI, Query

from phresh import embedded, migrations
from phresh.config import Settings
from phresh.db import ConnectionDep, Pool, create_pool
from phresh.main import create_app
from phresh.models import User
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, auth_headers, create_cleaning, create_user

PROBLEM = "application/problem+json"

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def calls(user: User, cleaning_id: int, headers: dict[str, str]) -> dict[str, Call]:
    """One request for each way the code reaches the database."""

    async def current_user(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/users/me", headers=headers)

    async def read_one(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(f"/cleanings/{cleaning_id}", headers=headers)

    async def search(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/cleanings", params={"q": "attic"}, headers=headers)

    async def insert(client: httpx.AsyncClient) -> httpx.Response:
        body = {"name": "Shed", "price": "12.00"}
        return await client.post("/cleanings", json=body, headers=headers)

    async def update(client: httpx.AsyncClient) -> httpx.Response:
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
        "read_one": read_one,
        "search": search,
        "insert": insert,
        "update": update,
        "login": login,
        "readiness": readiness,
    }


WAYS = ["current_user", "read_one", "search", "insert", "update", "login", "readiness"]


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code in {200, 201}, response.text


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"


def assert_ok_or_retry_later(response: httpx.Response) -> None:
    if response.status_code == 503:
        assert_retry_later(response)
    else:
        assert_ok(response)


async def committed_user_and_cleaning(pool: Pool) -> tuple[User, int]:
    async with pool.acquire() as setup, setup.transaction():
        user = await create_user(setup)
        cleaning = await create_cleaning(setup, owner=user, name="Attic")
    return user, cleaning.id


async def calls_on_new_database(settings: Settings) -> dict[str, Call]:
    """``calls`` on the empty database of ``settings``, migrated first, its user and cleaning
    committed."""
    assert settings.database_url is not None
    await migrations.upgrade_async(settings.database_url.get_secret_value())
    setup_pool = await create_pool(settings)
    try:
        user, cleaning_id = await committed_user_and_cleaning(setup_pool)
    finally:
        await setup_pool.close()
    return calls(user, cleaning_id, auth_headers(settings, user))


async def backends(pool: Pool) -> set[int]:
    """Every other session on the test database (the caller's own excepted)."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return {row["pid"] for row in rows}


async def terminate(pool: Pool, pids: set[int]) -> None:
    await pool.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


@pytest.mark.parametrize("way", WAYS)
async def test_a_terminated_connection_fails_at_most_one_request_then_the_pool_recovers(
    live_pool: Pool, database_url: str, way: str
) -> None:
    user, cleaning_id = await committed_user_and_cleaning(live_pool)
    before = await backends(live_pool)
    settings = make_settings(database_url)
    requests = calls(user, cleaning_id, auth_headers(settings, user))
    async with serving(create_app(settings)) as client:
        # Several connections in the pool, all idle, then all killed.
        warm = await asyncio.gather(*(requests[name](client) for name in WAYS))
        pids = await backends(live_pool) - before
        await terminate(live_pool, pids)

        first = await requests[way](client)
        after = {name: await requests[name](client) for name in WAYS}
        # The pool opened new sessions for them: the killed ones are gone for good.
        remaining = await backends(live_pool) & pids

    for response in warm:
        assert_ok(response)
    assert len(pids) > 1
    # The pool may have seen the connection close and replaced it (no request fails), or
    # the request met the dead connection: 503 with Retry-After, never a 500.
    assert_ok_or_retry_later(first)
    for response in after.values():
        assert_ok(response)
    assert remaining == set()


async def test_after_a_restart_a_dead_connection_fails_at_most_one_request_and_service_resumes(
    short_tmp_dir: Path,
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    server = await asyncio.to_thread(embedded.start_server, pgdata)
    try:
        url = embedded.database_url(server, "postgres")
        settings = make_settings(url)
        requests = await calls_on_new_database(settings)
        async with serving(create_app(settings)) as client:
            warm = await asyncio.gather(*(requests[name](client) for name in WAYS))
            await asyncio.to_thread(embedded.stop_server, server)
            down = {name: await requests[name](client) for name in WAYS}
            server = await asyncio.to_thread(embedded.start_server, pgdata)
            first_round = {name: await requests[name](client) for name in WAYS}
            second_round = {name: await requests[name](client) for name in WAYS}
    finally:
        await asyncio.to_thread(embedded.stop_server, server)

    for response in warm:
        assert_ok(response)
    # While the server is down every request says so, and asks to be retried.
    for response in down.values():
        assert_retry_later(response)
    # The first requests after the restart may meet a connection to the old server: at most
    # one answers 503, and the pool throws every connection of the old server away.
    statuses = {name: response.status_code for name, response in first_round.items()}
    assert sum(status == 503 for status in statuses.values()) <= 1, statuses
    for response in first_round.values():
        assert_ok_or_retry_later(response)
    for response in second_round.values():
        assert_ok(response)


# Each failure the database can answer with, provoked on purpose on the request's own
# connection, in a read (GET: autocommit) and in a write (POST: one transaction), with
# parameters (the extended protocol, a prepared statement) and without (the simple one).
FAILURES: dict[str, str] = {
    "statement_timeout": "SELECT 1 FROM pg_sleep(1)",
    "lock_timeout": "SELECT count(*) FROM cleaning",
    "connection_lost": "SELECT pg_terminate_backend(pg_backend_pid())",
    "idle_in_transaction_timeout": "SELECT 1",
    "unstorable_input": "SELECT convert_from('\\x610062'::bytea, 'UTF8')",
}
EXPECTED = {
    "statement_timeout": 503,
    "lock_timeout": 503,
    "connection_lost": 503,
    "idle_in_transaction_timeout": 503,
    "unstorable_input": 422,
}
STATEMENT_TIMEOUT_MS = 200
IDLE_IN_TRANSACTION_TIMEOUT_MS = 200


async def run_failure(
    connection: ConnectionDep,
    kind: Annotated[str, Query()],
    params: Annotated[bool, Query()],
) -> None:
    sql = FAILURES[kind]
    if kind == "idle_in_transaction_timeout":
        # The server ends a session left idle in its transaction (only a write has one).
        await connection.execute("SELECT 1")
        await asyncio.sleep(IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000 * 3)
    if params:
        await connection.fetchval(f"SELECT ({sql}) WHERE $1::int = 1", 1)
    else:
        await connection.execute(sql)


async def run_nothing(connection: ConnectionDep) -> None:
    await connection.execute("SELECT 1")


def failing_app(database_url: str) -> FastAPI:
    settings = make_settings(
        database_url,
        db_statement_timeout_ms=STATEMENT_TIMEOUT_MS,
        db_lock_timeout_ms=200,
        db_idle_in_transaction_timeout_ms=IDLE_IN_TRANSACTION_TIMEOUT_MS,
    )
    app = create_app(settings)
    app.add_api_route("/api/v1/test/failure", run_failure, methods=["GET", "POST"])
    app.add_api_route("/api/v1/test/nothing", run_nothing, methods=["GET", "POST"])
    return app


@asynccontextmanager
async def table_locked(pool: Pool) -> AsyncIterator[None]:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("LOCK TABLE cleaning IN ACCESS EXCLUSIVE MODE")
        yield


# A read runs in autocommit: it is never idle in a transaction.
FAILURE_PATHS = [
    pytest.param(kind, method, params, id=f"{kind}-{method}-{'params' if params else 'simple'}")
    for kind in FAILURES
    for method in ("GET", "POST")
    for params in (True, False)
    if not (kind == "idle_in_transaction_timeout" and method == "GET")
]


@pytest.mark.parametrize(("kind", "method", "params"), FAILURE_PATHS)
async def test_each_database_failure_maps_to_one_status_on_every_path(
    live_pool: Pool, database_url: str, kind: str, method: str, params: bool
) -> None:
    query = {"kind": kind, "params": str(params).lower()}
    async with serving(failing_app(database_url)) as client:
        if kind == "lock_timeout":
            async with table_locked(live_pool):
                response = await client.request(method, "/test/failure", params=query)
        else:
            response = await client.request(method, "/test/failure", params=query)
        # The same kind of request right after, and the readiness check: both served.
        again = await client.request(method, "/test/nothing")
        recovered = await client.get("/health/ready")

    assert response.status_code == EXPECTED[kind], response.text
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text
    if response.status_code == 503:
        assert response.headers["retry-after"] == "1"
    assert again.status_code == 200, again.text
    assert recovered.status_code == 200, recovered.text


class Held:
    """A route that runs a statement, then holds its connection until released, then runs
    another."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.holding = asyncio.Event()
        self.closed = asyncio.Event()
        self.release = asyncio.Event()

    async def route(self, connection: ConnectionDep) -> None:
        await connection.execute("SELECT 1")
        self.pids.add(connection.get_server_pid())
        connection.add_termination_listener(lambda _: self.closed.set())
        self.holding.set()
        await self.release.wait()
        await connection.execute("SELECT 1")


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_connection_killed_between_two_statements_is_a_503(
    live_pool: Pool, database_url: str, method: str
) -> None:
    # The request holds its connection while the server ends the session (a restart, an
    # administrator): its next statement meets a connection the pool has already taken back.
    held = Held()
    app = failing_app(database_url)
    app.add_api_route("/api/v1/test/held", held.route, methods=["GET", "POST"])
    async with serving(app) as client:
        request = asyncio.create_task(client.request(method, "/test/held"))
        async with asyncio.timeout(5):
            await held.holding.wait()
            await terminate(live_pool, held.pids)
            await held.closed.wait()
        held.release.set()
        response = await request
        again = await client.request(method, "/test/nothing")

    assert_retry_later(response)
    assert again.status_code == 200, again.text


async def test_a_pool_with_no_connection_free_in_time_is_a_503(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_size=1, db_pool_timeout_s=0.2)
    held = Held()
    app = create_app(settings)
    app.add_api_route("/api/v1/test/held", held.route, methods=["GET"])
    app.add_api_route("/api/v1/test/nothing", run_nothing, methods=["GET"])
    async with serving(app) as client:
        holding = asyncio.create_task(client.get("/test/held"))
        async with asyncio.timeout(5):
            await held.holding.wait()
        waiting = await client.get("/test/nothing")
        held.release.set()
        held_response = await holding
        after = await client.get("/test/nothing")

    assert_retry_later(waiting)
    assert held_response.status_code == 200
    assert after.status_code == 200


@contextmanager
def frozen(pgdata: Path) -> Iterator[None]:
    """The whole server stopped by SIGSTOP (postmaster and every backend): it neither answers
    nor closes, as a hung host or a stalled disk does. SIGCONT at the end."""
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    processes = [postmaster, *postmaster.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)


# Two ways a frozen server is cut short. The deadline: the client's statement timeout is
# longer than the request deadline, so the deadline cancels each request. The statement
# timeout: the deadline is long, and the client gives up on each statement slightly after
# the server's statement_timeout would have fired.
FREEZES: dict[str, dict[str, float]] = {
    "deadline": {"request_deadline_s": 1.5, "db_statement_timeout_ms": 4_000},
    "statement_timeout": {"request_deadline_s": 30, "db_statement_timeout_ms": 1_000},
}
# The longest a request may take while the server is frozen: the sooner of the two limits
# (1.5 s, and 1 s + the client's 1 s margin), the 1 s connect timeout, and slack for a busy
# machine; without either, each would wait 30 s (or for ever).
FROZEN_ANSWER_S = 4.5


@pytest.mark.parametrize("limit", FREEZES)
async def test_a_frozen_server_holds_no_request_past_its_limit_and_the_pool_recovers(
    short_tmp_dir: Path, limit: str
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    server = await asyncio.to_thread(embedded.start_server, pgdata)
    try:
        url = embedded.database_url(server, "postgres")
        settings = make_settings(url, db_connect_timeout_s=1, db_pool_size=4, **FREEZES[limit])
        requests = await calls_on_new_database(settings)
        async with serving(create_app(settings)) as client:
            # Connections in the pool, idle, when the server freezes.
            warm = await asyncio.gather(*(requests[name](client) for name in WAYS))

            async def timed(name: str) -> tuple[httpx.Response, float]:
                started = time.monotonic()
                response = await requests[name](client)
                return response, time.monotonic() - started

            with frozen(pgdata):
                async with asyncio.timeout(60):
                    during = dict(
                        zip(
                            WAYS, await asyncio.gather(*(timed(name) for name in WAYS)), strict=True
                        )
                    )
            after = {name: await requests[name](client) for name in WAYS}
    finally:
        await asyncio.to_thread(embedded.stop_server, server)

    for response in warm:
        assert_ok(response)
    for name, (response, seconds) in during.items():
        assert_retry_later(response)
        assert seconds < FROZEN_ANSWER_S, (name, seconds)
    # The connections cut short were closed, not handed out again: every request is served.
    for response in after.values():
        assert_ok(response)
