"""The marketplace through PgBouncer 1.18 in transaction mode, from many clients at once.

The done-criterion of the scale-out work: with PHRESH_DB_POOLER=pgbouncer the flows of
tests/scale/flows.py answer every request as expected, in apps of this process and in two
real ``phresh serve`` processes sharing one PgBouncer. The controls show that the same load
fails without the setting, and with asyncpg's statement cache left on: the suite can see the
breakage the setting prevents. A serial smoke test would pass either way.
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from phresh import topology
from phresh.main import create_app
from tests.fixtures.client import client_of
from tests.fixtures.database import make_settings
from tests.fixtures.topology import load_settings
from tests.scale.flows import run_load

# At least the 8 of the report (55 of 92 requests failed there without the setting).
CONCURRENCY = 12
ROUNDS = 2


@asynccontextmanager
async def apps_through_pgbouncer(
    urls: topology.Urls, count: int, **overrides: object
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` apps of this process, each with its pool, all through PgBouncer; a client
    on each."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            options: dict[str, object] = {
                "database_admin_url": urls.admin,
                "db_pooler": "pgbouncer",
                "db_pool_size": 10,
            }
            options |= {name.lower(): value for name, value in load_settings().items()}
            settings = make_settings(urls.database, **(options | overrides))
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(client_of(app)))
        yield clients


def appended(log: Path, since: int) -> str:
    """What was written to ``log`` after its first ``since`` bytes."""
    return log.read_bytes()[since:].decode(errors="replace")


def transactions(bouncer: topology.Bouncer, database: str = topology.DATABASE) -> int:
    """How many transactions PgBouncer has carried to ``database`` since it started."""
    rows = topology.pgbouncer_show(bouncer, "STATS")
    return sum(int(row["total_xact_count"]) for row in rows if row["database"] == database)


async def test_the_marketplace_through_pgbouncer_in_transaction_mode_has_no_errors(
    scale_urls: topology.Urls, scale_pgbouncer: topology.Bouncer
) -> None:
    before = transactions(scale_pgbouncer)
    async with apps_through_pgbouncer(scale_urls, 2) as clients:
        tally = await run_load(clients, concurrency=CONCURRENCY, rounds=ROUNDS)

    assert tally.errors == [], tally.report()
    assert tally.scenarios_done == CONCURRENCY * ROUNDS
    assert transactions(scale_pgbouncer) - before >= tally.requests


async def replica_reads(servers: list[topology.Served]) -> float:
    """How many reads the servers' replica pools have served (GET /metrics, from 127.0.0.1)."""
    total = 0.0
    async with httpx.AsyncClient() as client:
        for served in servers:
            response = await client.get(f"{served.url}/metrics")
            assert response.status_code == 200
            total += sum(
                sample.value
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
                if sample.name == "phresh_db_reads_total" and sample.labels["pool"] == "replica"
            )
    return total


async def test_two_served_processes_share_one_pgbouncer_with_no_errors(
    scale_servers: list[topology.Served], scale_pgbouncer: topology.Bouncer
) -> None:
    before, read_from_replica = transactions(scale_pgbouncer), await replica_reads(scale_servers)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"{served.url}/api/v1", timeout=30.0)
            )
            for served in scale_servers
        ]
        tally = await run_load(clients, concurrency=CONCURRENCY, rounds=ROUNDS)

    assert tally.errors == [], tally.report()
    assert tally.scenarios_done == CONCURRENCY * ROUNDS
    # Every scenario went back and forth between the two: tokens, refresh tokens and cursors
    # of one were taken by the other.
    assert len(tally.answered_by) == 2
    assert min(tally.answered_by.values()) > tally.requests // 3
    assert transactions(scale_pgbouncer) - before >= tally.requests // 2
    # Reads went to the standby too, and still saw each scenario's writes (flows.py).
    assert await replica_reads(scale_servers) > read_from_replica


async def test_without_the_pooler_setting_the_same_load_fails(
    scale_urls: topology.Urls, scale_pgbouncer: topology.Bouncer
) -> None:
    since = scale_pgbouncer.log.stat().st_size
    async with apps_through_pgbouncer(scale_urls, 2, db_pooler="none") as clients:
        tally = await run_load(clients, concurrency=CONCURRENCY, rounds=1)

    assert tally.errors, "the load passed through PgBouncer without PHRESH_DB_POOLER=pgbouncer"
    # The timeouts in each connection's startup packet, which PgBouncer refuses.
    assert "unsupported startup parameter" in appended(scale_pgbouncer.log, since)


async def test_with_statements_prepared_by_name_the_same_load_fails(
    scale_urls: topology.Urls, scale_primary: topology.Postgres
) -> None:
    since = scale_primary.log.stat().st_size
    async with apps_through_pgbouncer(scale_urls, 2, db_statement_cache_size=100) as clients:
        tally = await run_load(clients, concurrency=CONCURRENCY, rounds=1)

    assert tally.errors, "the load passed through PgBouncer with asyncpg's statement cache on"
    # A statement prepared on one server connection, looked for on another (or prepared
    # twice on one): "prepared statement "__asyncpg_stmt_2__" does not exist" / "already
    # exists".
    assert 'prepared statement "__asyncpg_stmt_' in appended(scale_primary.log, since)
