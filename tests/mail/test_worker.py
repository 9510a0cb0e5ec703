"""The worker on committed rows: pgqueuer queues, workers race, stop, and come back."""

import asyncio
import json
import socket
import time
from datetime import timedelta

import asyncpg
import pytest
from pgqueuer.types import QueueExecutionMode

from phresh.config import Settings
from phresh.db import Database, Pool
from phresh.mail import repository
from phresh.mail.transport import SmtpTransport
from phresh.mail.worker import (
    Delivery,
    connect,
    create_queue_manager,
    deliver,
    drain,
    start_worker,
)
from phresh.models import MailKind, MailStatus
from tests.fixtures.database import make_settings
from tests.fixtures.smtp import SmtpServer, free_port, smtp_settings
from tests.mail.conftest import committed_mail, statuses


async def wait_for_messages(server: SmtpServer, count: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(server.messages) < count:
        assert time.monotonic() < deadline, f"{len(server.messages)} of {count} mails arrived"
        await asyncio.sleep(0.01)


async def test_a_running_worker_delivers_a_mail_as_soon_as_it_is_committed(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    # The worker would look at the queue unprompted only every 30 s.
    settings = mail_settings.model_copy(
        update={"worker_heartbeat_s": 30.0, "mail_retry_base_s": 30.0}
    )
    worker = await start_worker(settings, Database(live_outbox, 5.0))
    try:
        # Long after the worker has looked at an empty queue: pgqueuer's NOTIFY wakes it.
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await committed_mail(live_outbox)

        await wait_for_messages(smtp_server, 1)
        assert time.monotonic() - started < 5
    finally:
        await worker.stop()

    assert await statuses(live_outbox) == [("sent", 1)]


async def test_stopping_finishes_the_delivery_under_way(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.stalling.set()
    worker = await start_worker(mail_settings, Database(live_outbox, 5.0))
    await committed_mail(live_outbox)
    await smtp_server.wait_for_data()

    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    smtp_server.stalling.clear()
    await asyncio.wait_for(stopping, 5)

    assert len(smtp_server.messages) == 1
    assert await statuses(live_outbox) == [("sent", 1)]


async def test_a_worker_keeps_trying_while_the_database_is_unreachable(
    database_url: str, live_outbox: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"postgresql://phresh@127.0.0.1:{free_port()}/phresh"
    settings = smtp_settings(database_url, 25).model_copy(
        update={"database_url": smtp_settings(unreachable, 25).database_url}
    )
    worker = await start_worker(settings, Database(live_outbox, 5.0))
    deadline = time.monotonic() + 5
    while "mail worker stopped" not in caplog.text:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)

    started = time.monotonic()
    await worker.stop()

    # Stopped during its pause, not after it.
    assert time.monotonic() - started < 0.5
    assert "starting again in 1 s" in caplog.text


async def test_a_worker_stops_at_once_while_it_waits_for_the_database(
    database_url: str, live_outbox: Pool
) -> None:
    # A server that takes the connection and never answers: connecting takes
    # db_connect_timeout_s (5 s).
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        silent_url = f"postgresql://phresh@127.0.0.1:{port}/phresh"
        settings = smtp_settings(database_url, 25).model_copy(
            update={"database_url": smtp_settings(silent_url, 25).database_url}
        )
        worker = await start_worker(settings, Database(live_outbox, 5.0))
        await asyncio.sleep(0.1)

        started = time.monotonic()
        await worker.stop()

    assert time.monotonic() - started < 0.5


async def test_drain_delivers_every_queued_mail_then_returns(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    for kind in (MailKind.verify_email, MailKind.reset_password, MailKind.verify_email):
        await committed_mail(live_outbox, kind)

    await asyncio.wait_for(drain(mail_settings, Database(live_outbox, 5.0)), 10)

    assert len(smtp_server.messages) == 2
    assert await statuses(live_outbox) == [("sent", 1), ("skipped", 0), ("sent", 1)]
    assert await live_outbox.fetchval("SELECT count(*) FROM pgqueuer") == 0


async def test_pgqueuer_retries_with_the_backoff_then_the_mail_is_given_up(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.reply = "451 4.3.0 Try later"
    await committed_mail(live_outbox)

    await asyncio.wait_for(drain(mail_settings, Database(live_outbox, 5.0)), 10)

    assert await statuses(live_outbox) == [("failed", 3)]
    retries = await live_outbox.fetch(
        "SELECT traceback FROM pgqueuer_log WHERE status = 'queued' AND traceback IS NOT NULL "
        "ORDER BY id"
    )
    delays = [json.loads(row["traceback"])["additional_context"]["retry_delay"] for row in retries]
    assert delays == [str(timedelta(seconds=0.05)), str(timedelta(seconds=0.1))]
    assert await live_outbox.fetchval("SELECT count(*) FROM pgqueuer") == 0


async def test_two_workers_racing_on_one_mail_send_it_once(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    mail_id = await committed_mail(live_outbox)
    transport = SmtpTransport(mail_settings)
    smtp_server.stalling.set()

    async with live_outbox.acquire() as first, live_outbox.acquire() as second:
        sending = asyncio.create_task(
            deliver(first, mail_id, settings=mail_settings, transport=transport)
        )
        await smtp_server.wait_for_data()
        # The first holds the mail: the second neither waits nor sends, and asks to be
        # tried again (its job must outlive a failure of the first).
        meanwhile = await deliver(second, mail_id, settings=mail_settings, transport=transport)
        smtp_server.stalling.clear()
        sent = await sending
        after = await deliver(second, mail_id, settings=mail_settings, transport=transport)

    assert meanwhile == Delivery(MailStatus.pending, retry_in=timedelta(seconds=0.05))
    assert sent == Delivery(MailStatus.sent)
    assert after == Delivery(MailStatus.sent)
    assert len(smtp_server.messages) == 1
    assert await statuses(live_outbox) == [("sent", 1)]


async def test_two_queue_managers_send_each_mail_once(
    live_outbox: Pool, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    mail_ids = [await committed_mail(live_outbox) for _ in range(4)]
    # A second job for each mail: as if a job had been taken again while still running.
    async with live_outbox.acquire() as pooled:
        for mail_id in mail_ids:
            await repository.enqueue_delivery(pooled, mail_id)
    database = Database(live_outbox, 5.0)
    transport = SmtpTransport(mail_settings)
    connections: list[asyncpg.Connection[asyncpg.Record]] = []
    try:
        for _ in range(2):
            connections.append(await connect(mail_settings))
        managers = [
            create_queue_manager(connection, database, mail_settings, transport)
            for connection in connections
        ]
        # One job at a time each, so that both managers take jobs of the same mails.
        runs = [
            manager.run(
                batch_size=1,
                mode=QueueExecutionMode.drain,
                dequeue_timeout=timedelta(seconds=1),
            )
            for manager in managers
        ]
        await asyncio.wait_for(asyncio.gather(*runs), 10)
    finally:
        for connection in connections:
            await connection.close()

    sent = sorted(message["Message-ID"].split(".")[0] for message in smtp_server.messages)
    assert sent == sorted(f"<mail-{mail_id}" for mail_id in mail_ids)
    assert await statuses(live_outbox) == [("sent", 1)] * 4


async def test_behind_a_pooler_the_worker_connects_directly_with_the_timeouts(
    database_url: str,
) -> None:
    # It stays in LISTEN: through a transaction pooler its session would be lent to others.
    # Nothing listens on port 1, the pool's (pooled) URL here.
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
    assert tuple(row) == ("12345ms", "2345ms", "34567ms", "phresh-mail-worker")
