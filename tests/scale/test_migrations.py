"""Migrations go to PHRESH_DATABASE_ADMIN_URL, directly, while the app's URL is PgBouncer's:
three ``phresh db upgrade`` at once (the issue's failing trial) all succeed, and none of their
statements passed through PgBouncer."""

import asyncio
import secrets
from pathlib import Path

import asyncpg

from phresh import embedded, topology
from phresh.migrations import HEAD
from tests.fixtures.database import TEST_JWT_SECRET

AT_ONCE = 3


async def test_migrations_go_to_the_admin_url_while_the_app_goes_through_pgbouncer(
    scale_dir: Path,
    scale_primary: topology.Postgres,
    scale_pgbouncer: topology.Bouncer,
    scale_urls: topology.Urls,
) -> None:
    # scale_urls: the API's role exists, as in a deployment.
    name = f"phresh_migrate_{secrets.token_hex(3)}"
    await embedded.ensure_database(scale_primary.url(), name)
    urls = topology.urls_of(scale_primary, scale_pgbouncer, None, name)
    env = topology.app_environment(scale_dir, urls, TEST_JWT_SECRET)
    try:
        upgrades = [
            await asyncio.create_subprocess_exec(
                topology.PHRESH,
                "db",
                "upgrade",
                env=env,
                cwd=scale_dir,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(AT_ONCE)
        ]
        async with asyncio.timeout(topology.START_TIMEOUT_S):
            outputs = await asyncio.gather(*(upgrade.communicate() for upgrade in upgrades))

        assert [upgrade.returncode for upgrade in upgrades] == [0] * AT_ONCE, outputs
        conn = await asyncpg.connect(scale_primary.url(name))
        try:
            assert await conn.fetchval("SELECT version_num FROM alembic_version") == HEAD
        finally:
            await conn.close()
        pools = topology.pgbouncer_show(scale_pgbouncer, "STATS")
        assert [row for row in pools if row["database"] == name] == []
    finally:
        await embedded.drop_database(scale_primary.url(), name)
