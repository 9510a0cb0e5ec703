"""The request owns its connection: writes in one committed transaction, reads without one.

The app under test is the real one with its own pool and ``db_echo`` on: every statement
its connections send is logged to ``phresh.sql`` (an asyncpg query logger), which is how
these tests see the BEGIN and COMMIT it sends, or does not.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from phresh.config import Settings, to_libpq_url
from phresh.db import Connection, ConnectionDep, Database, Pool, create_pool
from phresh.errors import Conflict
from phresh.kit.repository import ConstraintViolation, constraints_named
from phresh.main import create_app
from phresh.models import Cleaning, User
from phresh.users import repository as user_repository
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_offer, create_user

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START")


async def times(connection: ConnectionDep) -> list[datetime]:
    """now() at two statements 10 ms apart: equal inside one transaction, not in autocommit."""
    first = await connection.fetchval("SELECT now()")
    second = await connection.fetchval("SELECT now() FROM pg_sleep(0.01)")
    return [first, second]


async def insert_then_fail(connection: ConnectionDep, owner_id: int) -> None:
    await connection.execute(
        "INSERT INTO cleaning (owner_id, name, price) VALUES ($1, 'Gone', 10)", owner_id
    )
    raise Conflict("Changed my mind.")


@pytest.fixture
async def echo_app(database_url: str, live_pool: Pool) -> AsyncIterator[FastAPI]:
    """The app as served (its own pool, real commits), logging every statement it sends,
    with two routes of its own on the request's connection."""
    app = create_app(make_settings(database_url, db_echo=True))
    app.add_api_route("/api/v1/test/times", times, methods=["GET", "POST"])
    app.add_api_route("/api/v1/test/insert-then-fail", insert_then_fail, methods=["POST"])
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def echo_client(echo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=echo_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def sql_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="phresh.sql")
    return caplog


async def statements(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every statement the app sent since the log was last cleared, in order."""
    # asyncpg calls its query loggers on the next turn of the event loop: let them run.
    await asyncio.sleep(0.01)
    return [
        record.getMessage().split(": ", 1)[1]
        for record in caplog.records
        if record.name == "phresh.sql"
    ]


def keyword(statement: str) -> str:
    return statement.strip().split(maxsplit=1)[0].rstrip(";").upper()


async def committed_owner_and_cleaning(live_pool: Pool) -> tuple[User, Cleaning]:
    async with live_pool.acquire() as setup, setup.transaction():
        owner = await create_user(setup)
        cleaning = await create_cleaning(setup, owner=owner, name="Attic")
    return owner, cleaning


async def test_a_write_runs_in_one_committed_transaction(
    echo_client: httpx.AsyncClient,
    live_pool: Pool,
    settings: Settings,
    sql_log: pytest.LogCaptureFixture,
) -> None:
    owner, cleaning = await committed_owner_and_cleaning(live_pool)
    sql_log.clear()

    response = await echo_client.patch(
        f"/cleanings/{cleaning.id}", json={"name": "Loft"}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    sent = [keyword(statement) for statement in await statements(sql_log)]
    # Every statement of the request between one BEGIN and one COMMIT.
    assert len(sent) > 2, sent
    assert sent[0] == "BEGIN"
    assert sent[-1] == "COMMIT"
    assert [k for k in sent if k in TRANSACTION_CONTROL] == ["BEGIN", "COMMIT"]
    stored = await live_pool.fetchval("SELECT name FROM cleaning WHERE id = $1", cleaning.id)
    assert stored == "Loft"


async def test_a_failed_write_leaves_nothing_behind(
    live_client: httpx.AsyncClient, live_pool: Pool
) -> None:
    async with live_pool.acquire() as setup, setup.transaction():
        await create_user(setup, username="taken")
    payload = {"username": "taken", "email": "new@example.com", "password": "long enough pw"}

    response = await live_client.post("/users", json=payload)

    assert response.status_code == 409
    assert await live_pool.fetchval('SELECT count(*) FROM "user"') == 1
    assert await live_pool.fetchval("SELECT count(*) FROM profile") == 1


async def test_a_read_runs_without_a_transaction(
    echo_client: httpx.AsyncClient,
    live_pool: Pool,
    settings: Settings,
    sql_log: pytest.LogCaptureFixture,
) -> None:
    async with live_pool.acquire() as setup, setup.transaction():
        user = await create_user(setup)
    sql_log.clear()

    response = await echo_client.get("/users/me", headers=auth_headers(settings, user))

    assert response.status_code == 200
    sent = await statements(sql_log)
    assert sent
    assert [s for s in sent if keyword(s) in TRANSACTION_CONTROL] == []


async def test_statements_of_a_write_request_share_its_transaction(
    echo_client: httpx.AsyncClient,
) -> None:
    response = await echo_client.post("/test/times")

    assert response.status_code == 200
    first, second = response.json()
    assert first == second


async def test_statements_of_a_read_request_run_each_on_its_own(
    echo_client: httpx.AsyncClient,
) -> None:
    response = await echo_client.get("/test/times")

    assert response.status_code == 200
    first, second = (datetime.fromisoformat(value) for value in response.json())
    assert first < second


async def test_a_write_request_that_fails_rolls_back_what_it_wrote(
    echo_client: httpx.AsyncClient, live_pool: Pool, sql_log: pytest.LogCaptureFixture
) -> None:
    async with live_pool.acquire() as setup, setup.transaction():
        owner = await create_user(setup)
    sql_log.clear()

    response = await echo_client.post("/test/insert-then-fail", params={"owner_id": owner.id})

    assert response.status_code == 409
    assert await live_pool.fetchval("SELECT count(*) FROM cleaning") == 0
    sent = [keyword(statement) for statement in await statements(sql_log)]
    assert [k for k in sent if k in TRANSACTION_CONTROL] == ["BEGIN", "ROLLBACK"]


async def test_the_commit_happens_before_the_response_starts(
    echo_app: FastAPI, live_pool: Pool, settings: Settings
) -> None:
    # httpx's ASGITransport returns only after the app finishes, so the response arriving
    # proves nothing: the moment the app starts its response, another connection must
    # already see the change committed.
    owner, cleaning = await committed_owner_and_cleaning(live_pool)
    seen_at_start: list[str] = []

    async def recording_app(scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen_at_start.append(
                    await live_pool.fetchval("SELECT name FROM cleaning WHERE id = $1", cleaning.id)
                )
            await send(message)

        await echo_app(scope, receive, recording_send)

    transport = httpx.ASGITransport(app=recording_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.patch(
            f"/cleanings/{cleaning.id}",
            json={"name": "Loft"},
            headers=auth_headers(settings, owner),
        )

    assert response.status_code == 200
    assert seen_at_start == ["Loft"]


async def test_reads_take_no_row_locks(
    echo_client: httpx.AsyncClient,
    live_pool: Pool,
    settings: Settings,
    sql_log: pytest.LogCaptureFixture,
) -> None:
    # In autocommit a lock would end with its statement: it could only make the read wait.
    async with live_pool.acquire() as setup, setup.transaction():
        owner = await create_user(setup, username="owner")
        cleaner = await create_user(setup, username="cleaner")
        cleaning = await create_cleaning(setup, owner=owner, name="Attic")
        await create_offer(setup, cleaning=cleaning, cleaner=cleaner)
    sql_log.clear()
    headers = auth_headers(settings, owner)
    paths = [
        "/users/me",
        "/cleanings",
        "/users/me/cleanings",
        f"/cleanings/{cleaning.id}",
        f"/cleanings/{cleaning.id}/offers",
        f"/cleanings/{cleaning.id}/offers/cleaner",
        "/feed/cleanings",
        "/users/cleaner/evaluations",
        "/users/cleaner/evaluations/stats",
        "/profiles/cleaner",
        "/health/ready",
    ]

    statuses = [(await echo_client.get(path, headers=headers)).status_code for path in paths]

    assert statuses == [200] * len(paths)
    sent = await statements(sql_log)
    assert len(sent) >= len(paths)
    locking = [
        s
        for s in sent
        if any(
            clause in " ".join(s.upper().split())
            for clause in ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE")
        )
    ]
    assert locking == []
    assert [s for s in sent if keyword(s) in TRANSACTION_CONTROL] == []


async def test_a_broken_constraint_in_a_write_names_the_constraint(
    connection: Connection,
) -> None:
    owner = await create_user(connection, username="taken")

    with pytest.raises(ConstraintViolation) as violation:
        async with connection.transaction():
            await user_repository.insert_user(
                connection,
                username="taken",
                email="twin@example.com",
                password_hash=owner.password_hash,
                full_name=None,
            )

    assert violation.value.constraint == "uq_user_username"


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE cleaning SET price = 0", "ck_cleaning_price_positive"),
        ("UPDATE cleaning SET owner_id = -1", "fk_cleaning_owner_id_user"),
        ('UPDATE "user" SET email = $1', "uq_user_email"),
    ],
    ids=["check", "foreign-key", "unique"],
)
async def test_constraints_named_names_each_kind_of_constraint(
    connection: Connection, sql: str, constraint: str
) -> None:
    owner = await create_user(connection)
    await create_user(connection, email="same@example.com")
    await create_cleaning(connection, owner=owner)
    args = ["same@example.com"] if "$1" in sql else []

    with pytest.raises(ConstraintViolation) as violation, constraints_named():
        async with connection.transaction():
            await connection.execute(sql, *args)

    assert violation.value.constraint == constraint
    assert await connection.fetchval("SELECT count(*) FROM cleaning WHERE price > 0") == 1


# --- Database.acquire: a connection whose session ended --------------------------------


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    yield database
    await database.close()


async def pooled_pids(database: Database, count: int) -> set[int]:
    """The backends of ``count`` connections held at once, then given back."""

    async def pid(held: asyncio.Event) -> int:
        async with database.acquire() as connection:
            await held.wait()
            backend: int = connection.get_server_pid()
            return backend

    held = asyncio.Event()
    tasks = [asyncio.create_task(pid(held)) for _ in range(count)]
    await asyncio.sleep(0.05)
    held.set()
    return set(await asyncio.gather(*tasks))


async def test_a_session_ended_mid_statement_renews_every_pooled_connection(
    database: Database,
) -> None:
    before = await pooled_pids(database, 3)

    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        async with database.acquire() as connection:
            await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    assert len(before) == 3
    # The other two sessions are alive, but the pool cannot know: all are replaced.
    assert (await pooled_pids(database, 3)) & before == set()


async def test_a_session_ended_between_statements_is_a_lost_connection(
    database: Database, pool: Pool
) -> None:
    before = await pooled_pids(database, 2)

    async def statement_after_the_session_ended() -> None:
        async with database.acquire() as connection:
            closed = asyncio.Event()
            connection.add_termination_listener(lambda _: closed.set())
            await pool.execute("SELECT pg_terminate_backend($1)", connection.get_server_pid())
            async with asyncio.timeout(5):
                await closed.wait()
            # asyncpg itself says InterfaceError: the connection went back to the pool.
            await connection.execute("SELECT 1")

    with pytest.raises(asyncpg.ConnectionDoesNotExistError) as lost:
        await statement_after_the_session_ended()

    assert isinstance(lost.value.__cause__, asyncpg.InterfaceError)
    assert (await pooled_pids(database, 2)) & before == set()


async def test_a_protocol_in_an_unknown_state_is_closed_as_lost(database: Database) -> None:
    before = await pooled_pids(database, 2)

    with pytest.raises(asyncpg.ConnectionDoesNotExistError) as lost:
        async with database.acquire():
            raise asyncpg.InternalClientError("cannot switch to state 12")

    assert isinstance(lost.value.__cause__, asyncpg.InternalClientError)
    assert (await pooled_pids(database, 2)) & before == set()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.QueryCanceledError("statement timeout"),
        asyncpg.InterfaceError("the server expects 1 argument for this query, 0 were passed"),
        ValueError("a bug"),
    ],
    ids=["unique-violation", "statement-timeout", "interface-misuse", "other"],
)
async def test_any_other_error_keeps_the_connection_and_escapes_as_it_is(
    database: Database, error: Exception
) -> None:
    before = await pooled_pids(database, 2)

    with pytest.raises(type(error)) as escaped:
        async with database.acquire():
            raise error

    assert escaped.value is error
    assert await pooled_pids(database, 2) == before


# --- Behind a transaction pooler (PHRESH_DB_POOLER=pgbouncer) ---------------------------

# Timeouts no server or role here defaults to: seen only where the startup packet sent them.
TIMEOUTS = {
    "db_statement_timeout_ms": 12_345,
    "db_lock_timeout_ms": 2_345,
    "db_idle_in_transaction_timeout_ms": 34_567,
}
SHOW_TIMEOUTS = (
    "SELECT current_setting('statement_timeout') AS statement_timeout, "
    "current_setting('lock_timeout') AS lock_timeout, "
    "current_setting('idle_in_transaction_session_timeout') AS idle"
)
SENT_TIMEOUTS = {"statement_timeout": "12345ms", "lock_timeout": "2345ms", "idle": "34567ms"}


def pooled_settings(database_url: str, pooler: str) -> Settings:
    # Here the "pooler" is the test server itself; the admin URL satisfies the rule that a
    # pooled setup names a direct one.
    return make_settings(
        database_url, db_pooler=pooler, database_admin_url=database_url, **TIMEOUTS
    )


@asynccontextmanager
async def pool_of(settings: Settings) -> AsyncIterator[Pool]:
    pool = await create_pool(settings)
    try:
        yield pool
    finally:
        await pool.close()


async def session_defaults(database_url: str) -> dict[str, str]:
    """The timeouts of a session that sent nothing at startup: the server's and role's."""
    conn = await asyncpg.connect(to_libpq_url(database_url))
    try:
        row = await conn.fetchrow(SHOW_TIMEOUTS)
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


async def test_a_pool_behind_pgbouncer_sends_no_timeouts_at_startup(database_url: str) -> None:
    # PgBouncer refuses them in the startup packet ("unsupported startup parameter"): the
    # role's own settings give them instead (phresh db create-app-role).
    async with pool_of(pooled_settings(database_url, "pgbouncer")) as pool:
        row = await pool.fetchrow(SHOW_TIMEOUTS)
        name = await pool.fetchval("SHOW application_name")

    assert row is not None
    assert dict(row) == await session_defaults(database_url)
    assert dict(row) != SENT_TIMEOUTS
    assert name == "phresh"


async def test_a_pool_straight_to_postgresql_sends_its_timeouts(database_url: str) -> None:
    async with pool_of(pooled_settings(database_url, "none")) as pool:
        row = await pool.fetchrow(SHOW_TIMEOUTS)

    assert row is not None
    assert dict(row) == SENT_TIMEOUTS


async def prepared_statement_names(pool: Pool) -> list[str]:
    """The statements prepared by name on one connection after a few queries on it."""
    async with pool.acquire() as connection:
        for number in range(3):
            await connection.fetchval("SELECT $1::int + 1", number)
            await connection.fetch("SELECT id FROM cleaning WHERE id = $1", number)
        rows = await connection.fetch("SELECT name FROM pg_prepared_statements")
    return [str(row["name"]) for row in rows]


async def test_a_pool_behind_pgbouncer_prepares_no_statement_by_name(database_url: str) -> None:
    # A named statement lives on one server connection; a transaction pooler hands the next
    # transaction another ("prepared statement __asyncpg_stmt_27__ does not exist").
    async with pool_of(pooled_settings(database_url, "pgbouncer")) as pool:
        names = await prepared_statement_names(pool)

    assert names == []


async def test_a_pool_straight_to_postgresql_keeps_its_statements_prepared(
    database_url: str,
) -> None:
    async with pool_of(pooled_settings(database_url, "none")) as pool:
        names = await prepared_statement_names(pool)

    assert len(names) >= 2
    assert all(name.startswith("__asyncpg_stmt_") for name in names)
