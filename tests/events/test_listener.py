"""The process's listener: it wakes the subscriptions of the notified user only, survives a
payload it cannot read, and closes its connection."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from phresh.config import Settings
from phresh.db import Pool
from phresh.events.listener import EventListener, connect
from phresh.events.repository import CHANNEL
from tests.fixtures.database import make_settings

LISTENERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = 'phresh-events' AND datname = current_database()"
)


@pytest.fixture
async def listener(settings: Settings) -> AsyncIterator[EventListener]:
    listener = EventListener(settings)
    try:
        yield listener
    finally:
        await listener.close()


async def notify(pool: Pool, payload: str) -> None:
    await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


async def test_a_notification_rings_its_users_subscriptions_only(
    listener: EventListener, pool: Pool
) -> None:
    with (
        listener.subscribe(1) as first,
        listener.subscribe(1) as second,
        listener.subscribe(2) as other,
    ):
        await listener.listening.wait()
        # Connecting rang them all (to read what came before); start from silence.
        for subscription in (first, second, other):
            subscription.clear()

        await notify(pool, "1:10")

        assert await first.wait(5)
        assert await second.wait(5)
        assert not await other.wait(0.2)
        assert listener.subscriber_count() == 3
    assert listener.subscriber_count() == 0


async def test_a_payload_it_cannot_read_is_skipped_with_a_warning(
    listener: EventListener, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    with listener.subscribe(7) as subscription:
        await listener.listening.wait()
        subscription.clear()

        await notify(pool, "not-a-user")
        await notify(pool, "7:1")

        assert await subscription.wait(5)
        assert listener.listening.is_set()
    # Said once, as a warning (not asyncio's error of a callback that failed), without the
    # payload.
    assert [(r.name, r.levelname) for r in caplog.records if r.levelname != "DEBUG"] == [
        ("phresh.events", "WARNING")
    ]
    assert "not-a-user" not in caplog.text


async def test_the_connection_opens_with_the_first_subscription_and_closes_with_close(
    settings: Settings, pool: Pool
) -> None:
    listener = EventListener(settings)
    before = await pool.fetchval(LISTENERS)
    with listener.subscribe(1):
        await listener.listening.wait()
        during = await pool.fetchval(LISTENERS)

    await asyncio.wait_for(listener.close(), 5)

    assert before == 0
    assert during == 1
    assert not listener.listening.is_set()
    # The server's backend leaves pg_stat_activity a moment after the client has closed.
    async with asyncio.timeout(5):
        while await pool.fetchval(LISTENERS) != 0:  # noqa: ASYNC110 - a state to poll
            await asyncio.sleep(0.02)


async def test_a_lost_connection_is_replaced_at_once_each_time_and_rings_everyone(
    settings: Settings, pool: Pool, listener: EventListener, caplog: pytest.LogCaptureFixture
) -> None:
    terminate = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'phresh-events' AND datname = current_database()"
    )
    with listener.subscribe(1) as subscription:
        for _ in range(3):
            await asyncio.wait_for(listener.listening.wait(), 5)
            subscription.clear()
            await pool.execute(terminate)
            # Connected again, and the subscriptions rung: they read what they may have missed.
            assert await subscription.wait(5)
            await asyncio.sleep(0)

    delays = [r.getMessage() for r in caplog.records if "connecting again" in r.getMessage()]
    assert len(delays) == 3
    assert all(message.endswith("connecting again in 0.5 s") for message in delays), delays


async def test_behind_a_pooler_the_listener_connects_directly_with_the_timeouts(
    database_url: str,
) -> None:
    # Nothing listens on port 1: were the listener to use the pool's (pooled) URL, it could
    # not connect at all.
    settings = make_settings(
        "postgresql://postgres@127.0.0.1:1/phresh",
        db_pooler="pgbouncer",
        database_admin_url=database_url,
        db_statement_timeout_ms=12_345,
        db_lock_timeout_ms=2_345,
        db_idle_in_transaction_timeout_ms=34_567,
    )

    connection = await connect(settings)
    try:
        row = await connection.fetchrow(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
            "current_setting('idle_in_transaction_session_timeout'), "
            "current_setting('application_name')"
        )
    finally:
        await connection.close()

    assert row is not None
    # Straight to PostgreSQL, a session of its own: the startup packet carries them still.
    assert tuple(row) == ("12345ms", "2345ms", "34567ms", "phresh-events")
