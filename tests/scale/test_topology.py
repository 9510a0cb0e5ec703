"""The pieces of the scale-out topology (phresh.topology) are what they claim to be: a real
streaming standby, PgBouncer pooling transactions, the API's role with its timeouts, and API
servers that read from the standby."""

import asyncio
import secrets
import time

import asyncpg
import httpx
import pytest

from phresh import topology
from phresh.config import to_libpq_url
from phresh.db import create_pool
from tests.fixtures.database import make_settings

# The standby replays the primary's writes within milliseconds here; this only bounds a wait.
REPLAY_TIMEOUT_S = 10.0


async def test_the_standby_streams_the_primary_s_writes_and_refuses_its_own(
    scale_primary: topology.Postgres, scale_standby: topology.Postgres
) -> None:
    assert await topology.replication_state(scale_primary, "phresh-standby") == "streaming"
    table = f"probe_{secrets.token_hex(4)}"
    primary = await asyncpg.connect(scale_primary.url())
    standby = await asyncpg.connect(scale_standby.url())
    try:
        await primary.execute(f"CREATE TABLE {table} (value int); INSERT INTO {table} VALUES (7)")
        deadline = time.monotonic() + REPLAY_TIMEOUT_S
        while await standby.fetchval("SELECT to_regclass($1) IS NULL", table):
            assert time.monotonic() < deadline, "the standby did not replay the primary's write"
            await asyncio.sleep(0.01)

        assert await standby.fetchval(f"SELECT value FROM {table}") == 7
        assert await standby.fetchval("SELECT pg_is_in_recovery()") is True
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await standby.execute(f"INSERT INTO {table} VALUES (8)")
    finally:
        await primary.execute(f"DROP TABLE IF EXISTS {table}")
        await primary.close()
        await standby.close()


def test_pgbouncer_pools_transactions(scale_pgbouncer: topology.Bouncer) -> None:
    settings = {
        row["key"]: row["value"] for row in topology.pgbouncer_show(scale_pgbouncer, "CONFIG")
    }

    assert settings["pool_mode"] == "transaction"


async def test_the_api_role_starts_with_phresh_s_timeouts_through_pgbouncer(
    scale_urls: topology.Urls,
) -> None:
    # No statement prepared by name: PgBouncer 1.18 in transaction mode cannot keep them.
    conn = await asyncpg.connect(to_libpq_url(scale_urls.database), statement_cache_size=0)
    try:
        role = await conn.fetchval("SELECT current_user")
        timeouts = [
            await conn.fetchval(f"SHOW {name}")
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        ]
    finally:
        await conn.close()

    assert role == topology.APP_ROLE
    assert timeouts == ["15s", "5s", "1min"]


async def test_the_api_servers_read_from_the_standby(
    scale_servers: list[topology.Served],
) -> None:
    async with httpx.AsyncClient() as client:
        for served in scale_servers:
            response = await client.get(served.url + topology.READY_PATH)

            assert response.status_code == 200
            assert response.json()["replica"] == "in use"


async def test_the_pool_behind_pgbouncer_costs_one_statement_per_query(
    scale_primary: topology.Postgres, scale_urls: topology.Urls
) -> None:
    """Nothing PgBouncer adds per transaction: a client whose startup parameters differ from
    the server connection's (asyncpg's "utf-8" against the server's "UTF8") gets a SET before
    each of its transactions."""
    settings = make_settings(
        scale_urls.database, db_pooler="pgbouncer", database_admin_url=scale_urls.admin
    )
    marker = f"probe_{secrets.token_hex(4)}"
    pool = await create_pool(settings)
    admin = await asyncpg.connect(to_libpq_url(scale_urls.admin))
    try:
        await admin.execute("SELECT pg_stat_statements_reset()")
        for _ in range(20):
            async with pool.acquire() as connection:
                await connection.fetchval(f"SELECT 1 AS {marker}")
        calls = {
            row["query"]: row["calls"]
            for row in await admin.fetch("SELECT query, calls FROM pg_stat_statements")
        }
    finally:
        await admin.close()
        await pool.close()

    assert sum(n for query, n in calls.items() if marker in query) == 20
    # A server connection that served another client first is set once to this one's
    # application_name; nothing is sent again per transaction.
    sets = sum(n for query, n in calls.items() if query.upper().startswith("SET "))
    assert sets <= 2, calls
