"""Backups restore to the same data; the app role can touch rows but not the schema."""

import asyncio
import secrets
from pathlib import Path
from typing import cast

import asyncpg
import pytest

from phresh import maintenance, migrations, seed
from phresh.config import to_libpq_url
from phresh.db import Connection
from phresh.mail.service import enqueue_mail
from phresh.models import MailKind
from tests.fixtures.database import scratch_database

COUNTS = """
SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM cleaning) AS cleanings,
       (SELECT count(*) FROM offer) AS offers, (SELECT count(*) FROM evaluation) AS evaluations,
       (SELECT sum(price) FROM cleaning) AS price_sum,
       (SELECT version_num FROM alembic_version) AS version
"""


async def _fetchrow(url: str, query: str) -> asyncpg.Record:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        row = await conn.fetchrow(query)
        assert row is not None
        return row
    finally:
        await conn.close()


async def test_a_backup_restores_the_same_data_elsewhere(
    empty_database_url: str, server_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    await seed.seed(empty_database_url, users=10, cleanings=200, random_seed=3)
    dump = tmp_path / "phresh.dump"

    await asyncio.to_thread(maintenance.backup, empty_database_url, dump)
    async with scratch_database(server_url, "restore") as target:
        await asyncio.to_thread(maintenance.restore, target, dump)
        restored = await _fetchrow(target, COUNTS)

    original = await _fetchrow(empty_database_url, COUNTS)
    assert dict(restored) == dict(original)
    assert original["cleanings"] == 200


async def test_restoring_a_missing_file_fails_clearly(
    empty_database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(maintenance.MaintenanceError, match="no such backup"):
        maintenance.restore(empty_database_url, tmp_path / "nope.dump")


async def test_a_broken_backup_changes_nothing(empty_database_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    await seed.seed(empty_database_url, users=3, cleanings=5, random_seed=1)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP not really")

    with pytest.raises(maintenance.MaintenanceError):
        await asyncio.to_thread(maintenance.restore, empty_database_url, broken)

    assert (await _fetchrow(empty_database_url, COUNTS))["cleanings"] == 5


async def test_the_app_role_reads_and_writes_rows_but_cannot_change_the_schema(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    role = f"phresh_app_{secrets.token_hex(3)}"
    await maintenance.create_app_role(empty_database_url, role, password=None)
    owner = await asyncpg.connect(to_libpq_url(empty_database_url))
    app = await asyncpg.connect(maintenance.with_user(empty_database_url, role))
    try:
        user_id = await app.fetchval(
            'INSERT INTO "user" (username, email, password_hash) '
            "VALUES ('rolecheck', 'rolecheck@example.com', 'x') RETURNING id"
        )
        await app.execute('UPDATE "user" SET is_active = false WHERE id = $1', user_id)
        assert await app.fetchval("SELECT version_num FROM alembic_version")
        # Mail: the outbox row and its pgqueuer job (whose id comes from pgqueuer's sequence).
        await enqueue_mail(cast(Connection, app), MailKind.verify_email, "r@example.com", user_id)
        assert await app.fetchval("SELECT count(*) FROM pgqueuer") == 1

        for forbidden in (
            "DROP TABLE cleaning",
            "ALTER TABLE cleaning ADD COLUMN x int",
            "CREATE TABLE sneaky (id int)",
            "DELETE FROM alembic_version",
            "TRUNCATE cleaning",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(forbidden)
    finally:
        await app.close()
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()


SHOW_TIMEOUTS = (
    "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
    "current_setting('idle_in_transaction_session_timeout')"
)


async def session_timeouts(url: str) -> tuple[str, ...]:
    """The timeouts a new session starts with when it sends none at startup (as through
    PgBouncer, which refuses them there)."""
    row = await _fetchrow(url, SHOW_TIMEOUTS)
    return tuple(row)


async def drop_role(url: str, role: str) -> None:
    owner = await asyncpg.connect(to_libpq_url(url))
    try:
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
    finally:
        await owner.close()


async def test_the_app_role_s_sessions_start_with_its_timeouts_in_this_database_only(
    empty_database_url: str, server_url: str
) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    role = f"phresh_app_{secrets.token_hex(3)}"
    try:
        await maintenance.create_app_role(
            empty_database_url,
            role,
            password=None,
            timeouts={
                "statement_timeout": 1_234,
                "lock_timeout": 2_345,
                "idle_in_transaction_session_timeout": 3_456,
            },
        )
        first = await session_timeouts(maintenance.with_user(empty_database_url, role))
        elsewhere = await session_timeouts(maintenance.with_user(server_url, role))
        # Run again with other settings (a deploy that changed them): they follow.
        await maintenance.create_app_role(
            empty_database_url,
            role,
            password=None,
            timeouts={
                "statement_timeout": 5_678,
                "lock_timeout": 0,
                "idle_in_transaction_session_timeout": 7_890,
            },
        )
        second = await session_timeouts(maintenance.with_user(empty_database_url, role))
    finally:
        await drop_role(empty_database_url, role)

    assert first == ("1234ms", "2345ms", "3456ms")
    assert second == ("5678ms", "0", "7890ms")
    # ALTER ROLE ... IN DATABASE: another database on the server keeps its own defaults.
    assert elsewhere == await session_timeouts(server_url)


async def test_only_the_three_timeouts_can_be_set_on_the_app_role(
    empty_database_url: str,
) -> None:
    # The names go into the statement's text: nothing else may get there.
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    role = f"phresh_app_{secrets.token_hex(3)}"

    with pytest.raises(ValueError, match="not a timeout of the app's role: search_path"):
        await maintenance.create_app_role(
            empty_database_url, role, password=None, timeouts={"search_path": 0}
        )

    # All or nothing: the role was not made either.
    exists = await _fetchrow(
        empty_database_url, f"SELECT count(*) AS n FROM pg_roles WHERE rolname = '{role}'"
    )
    assert exists["n"] == 0
