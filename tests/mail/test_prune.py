"""The hourly prune: what no request can use any more goes; what can stays."""

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta

from phresh.config import Settings
from phresh.db import Connection, Database, Pool
from phresh.mail.worker import KEEP_ENDED, prune, start_worker
from phresh.models import User
from tests.fixtures.factories import create_user

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


async def add_session(
    connection: Connection, user: User, name: str, *, ended: datetime | None, expires: datetime
) -> None:
    session_id = await connection.fetchval(
        "INSERT INTO auth_session (user_id, created_at, last_used_at, expires_at, revoked_at, "
        "revoked_reason) VALUES ($1, $2, $2, $3, $4, CASE WHEN $4::timestamptz IS NULL "
        "THEN NULL ELSE 'logout' END) RETURNING id",
        user.id,
        NOW - 100 * DAY,
        expires,
        ended,
    )
    await connection.execute(
        "INSERT INTO refresh_token (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
        digest(name),
        session_id,
        min(expires, NOW + DAY),
    )


async def names(connection: Connection, sql: str) -> set[object]:
    return {row[0] for row in await connection.fetch(sql)}


async def test_prune_deletes_what_has_expired_or_ended_long_ago(connection: Connection) -> None:
    user = await create_user(connection)
    await add_session(connection, user, "live", ended=None, expires=NOW + 60 * DAY)
    await add_session(connection, user, "ended-lately", ended=NOW - DAY, expires=NOW + DAY)
    await add_session(
        connection, user, "ended-long-ago", ended=NOW - KEEP_ENDED - DAY, expires=NOW + DAY
    )
    await add_session(
        connection, user, "expired-long-ago", ended=None, expires=NOW - KEEP_ENDED - DAY
    )
    await connection.execute(
        "INSERT INTO account_token (token_hash, user_id, purpose, email, expires_at) VALUES "
        "($1, $3, 'verify_email', 'a@example.com', $4), "
        "($2, $3, 'reset_password', 'a@example.com', $5)",
        digest("usable"),
        digest("expired"),
        user.id,
        NOW + DAY,
        NOW - timedelta(minutes=1),
    )
    await connection.execute(
        "INSERT INTO mail (kind, recipient, status, created_at) VALUES "
        "('verify_email', 'pending-old@example.com', 'pending', $1), "
        "('verify_email', 'sent-old@example.com', 'sent', $1), "
        "('verify_email', 'failed-old@example.com', 'failed', $1), "
        "('verify_email', 'sent-lately@example.com', 'sent', $2)",
        NOW - KEEP_ENDED - DAY,
        NOW - DAY,
    )

    deleted = await prune(connection, NOW)

    mine = {digest(name) for name in ("live", "ended-lately", "ended-long-ago", "expired-long-ago")}
    tokens = await names(connection, "SELECT token_hash FROM refresh_token")
    assert tokens & mine == {digest("live"), digest("ended-lately")}
    # Theirs and the factory's session stay.
    assert await connection.fetchval("SELECT count(*) FROM auth_session") == 3
    assert await names(connection, "SELECT token_hash FROM account_token") == {digest("usable")}
    assert await names(connection, "SELECT recipient FROM mail") == {
        "pending-old@example.com",
        "sent-lately@example.com",
    }
    assert deleted == 2 + 1 + 2  # two sessions (their tokens by cascade), a link, two mails
    # The next hour's prune is queued, once.
    job = await connection.fetchrow(
        "SELECT dedupe_key, execute_after FROM pgqueuer WHERE entrypoint = 'prune'"
    )
    assert job is not None
    assert job["dedupe_key"] == "prune:2026-11-23T10"
    await prune(connection, NOW + timedelta(minutes=5))
    assert await connection.fetchval("SELECT count(*) FROM pgqueuer") == 1


async def test_a_running_worker_prunes_at_once_and_queues_the_next_hour(
    settings: Settings, live_pool: Pool
) -> None:
    await live_pool.execute("TRUNCATE mail, pgqueuer, pgqueuer_log, pgqueuer_statistics")
    async with live_pool.acquire() as connection:
        user = await create_user(connection)
        await connection.execute(
            "INSERT INTO account_token (token_hash, user_id, purpose, email, expires_at) "
            "VALUES ($1, $2, 'verify_email', 'a@example.com', now() - interval '1 minute')",
            digest("expired"),
            user.id,
        )
    worker = await start_worker(settings, Database(live_pool, 5.0))
    try:
        deadline = time.monotonic() + 10
        while await live_pool.fetchval("SELECT count(*) FROM account_token"):
            assert time.monotonic() < deadline, "the expired token was not pruned"
            await asyncio.sleep(0.05)
        while not await live_pool.fetchval(
            "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'prune' AND execute_after > now()"
        ):
            assert time.monotonic() < deadline, "no prune queued for the next hour"
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await live_pool.execute("TRUNCATE mail, pgqueuer, pgqueuer_log, pgqueuer_statistics")
