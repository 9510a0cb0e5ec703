"""The event table's SQL: a record and its notification go out together, at commit only;
a recipient's events commit in id order; reads by keyset; the prune."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from phresh.config import Settings
from phresh.db import Connection, Pool, in_transaction
from phresh.events import repository
from phresh.events.listener import connect
from phresh.events.repository import ListenerConnection
from phresh.mail.worker import KEEP_ENDED, prune
from phresh.models import EventKind, OfferStatus, User
from tests.fixtures.factories import create_cleaning, create_offer, create_user

DATA = {"cleaning_id": 0, "cleaning_name": "Kitchen", "by": "bob"}


class Notifications:
    """What a connection of its own LISTENing on the events' channel receives."""

    def __init__(self) -> None:
        self.payloads: asyncio.Queue[str] = asyncio.Queue()

    def __call__(self, connection: object, pid: int, channel: str, payload: object) -> None:
        self.payloads.put_nowait(str(payload))

    async def next(self, timeout_s: float = 5.0) -> str:
        return await asyncio.wait_for(self.payloads.get(), timeout_s)

    async def none_within(self, timeout_s: float = 0.3) -> bool:
        try:
            await asyncio.wait_for(self.payloads.get(), timeout_s)
        except TimeoutError:
            return True
        return False


@pytest.fixture
async def notifications(settings: Settings) -> AsyncIterator[Notifications]:
    listening: ListenerConnection = await connect(settings)
    received = Notifications()
    await listening.add_listener(repository.CHANNEL, received)
    try:
        yield received
    finally:
        await listening.close()


async def committed_user(pool: Pool, name: str) -> User:
    async with pool.acquire() as connection, in_transaction(connection):
        return await create_user(connection, username=name)


async def test_a_record_notifies_its_recipient_when_its_transaction_commits(
    live_pool: Pool, notifications: Notifications
) -> None:
    alice = await committed_user(live_pool, "alice")

    async with live_pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await repository.record(connection, [(alice.id, EventKind.offer_created)], None, DATA)
        before_commit = await notifications.none_within()
        await transaction.commit()
    payload = await notifications.next()

    event_id = await live_pool.fetchval("SELECT id FROM event WHERE user_id = $1", alice.id)
    assert before_commit
    assert payload == f"{alice.id}:{event_id}"


async def test_a_rolled_back_record_notifies_nobody_and_leaves_nothing(
    live_pool: Pool, notifications: Notifications
) -> None:
    alice = await committed_user(live_pool, "alice")

    async with live_pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await repository.record(connection, [(alice.id, EventKind.offer_created)], None, DATA)
        await transaction.rollback()

    assert await notifications.none_within()
    assert await live_pool.fetchval("SELECT count(*) FROM event") == 0


async def test_one_record_tells_several_recipients_each_with_its_kind(
    live_pool: Pool, notifications: Notifications
) -> None:
    alice = await committed_user(live_pool, "alice")
    bob = await committed_user(live_pool, "bob")

    async with live_pool.acquire() as connection, in_transaction(connection):
        await repository.record(
            connection,
            [(bob.id, EventKind.offer_rejected), (alice.id, EventKind.offer_accepted)],
            None,
            DATA,
        )
    payloads = {await notifications.next(), await notifications.next()}

    rows = await live_pool.fetch("SELECT id, user_id, kind FROM event ORDER BY user_id")
    assert [(row["user_id"], row["kind"]) for row in rows] == [
        (alice.id, "offer_accepted"),
        (bob.id, "offer_rejected"),
    ]
    assert payloads == {f"{row['user_id']}:{row['id']}" for row in rows}


async def test_a_recipients_events_commit_in_id_order(live_pool: Pool) -> None:
    """A second writer to the same recipient takes its id only once the first has committed:
    a reader that has seen the second's event has seen the first's."""
    alice = await committed_user(live_pool, "alice")
    recipients = [(alice.id, EventKind.offer_created)]

    async with live_pool.acquire() as first:
        transaction = first.transaction()
        await transaction.start()
        await repository.record(first, recipients, None, DATA)

        async def second_writer() -> None:
            async with live_pool.acquire() as second, in_transaction(second):
                await repository.record(second, recipients, None, DATA)

        second = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        waited_for_the_first = not second.done()
        await transaction.commit()
        await second

    assert waited_for_the_first
    assert await live_pool.fetchval("SELECT count(*) FROM event") == 2


async def test_the_offer_decision_tells_the_accepted_and_the_pending(
    connection: Connection,
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    accepted, pending, cancelled = [await create_user(connection) for _ in range(3)]
    await create_offer(connection, cleaning=cleaning, cleaner=accepted)
    await create_offer(connection, cleaning=cleaning, cleaner=pending)
    await create_offer(
        connection, cleaning=cleaning, cleaner=cancelled, status=OfferStatus.cancelled
    )

    await repository.record_offer_decision(connection, cleaning.id, accepted.id, DATA)

    rows = await connection.fetch("SELECT user_id, kind, cleaning_id FROM event")
    assert {(row["user_id"], row["kind"], row["cleaning_id"]) for row in rows} == {
        (accepted.id, "offer_accepted", cleaning.id),
        (pending.id, "offer_rejected", cleaning.id),
    }


async def test_events_are_read_after_an_id_oldest_first_one_user_at_a_time(
    connection: Connection,
) -> None:
    alice = await create_user(connection)
    bob = await create_user(connection)
    for kind in (EventKind.offer_created, EventKind.offer_withdrawn, EventKind.job_cancelled):
        await repository.record(connection, [(alice.id, kind), (bob.id, kind)], None, DATA)
    ids = [
        event.id for event in await repository.list_events_after(connection, alice.id, 0, limit=10)
    ]

    after_first = await repository.list_events_after(connection, alice.id, ids[0], limit=1)

    assert len(ids) == 3
    assert ids == sorted(ids)
    assert [(event.id, event.kind, event.data) for event in after_first] == [
        (ids[1], EventKind.offer_withdrawn, DATA)
    ]
    assert await repository.get_latest_event_id(connection, alice.id) == ids[-1]
    nobody = await create_user(connection)
    assert await repository.get_latest_event_id(connection, nobody.id) == 0


async def test_the_prune_deletes_events_created_before_the_cutoff(
    connection: Connection,
) -> None:
    alice = await create_user(connection)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for age_days in (40, 31, 29, 1):
        await connection.execute(
            "INSERT INTO event (user_id, kind, data, created_at) VALUES ($1, 'offer_created', "
            "'{}', $2)",
            alice.id,
            now - timedelta(days=age_days),
        )

    deleted = await repository.prune_events(connection, now - timedelta(days=30))

    left = await connection.fetch("SELECT created_at FROM event ORDER BY id")
    assert deleted == 2
    assert [now - row["created_at"] for row in left] == [timedelta(days=29), timedelta(days=1)]


async def test_the_workers_hourly_prune_deletes_events_older_than_30_days(
    connection: Connection,
) -> None:
    alice = await create_user(connection)
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for age in (KEEP_ENDED + timedelta(hours=1), KEEP_ENDED - timedelta(hours=1)):
        await connection.execute(
            "INSERT INTO event (user_id, kind, created_at) VALUES ($1, 'offer_created', $2)",
            alice.id,
            now - age,
        )

    await prune(connection, now)

    left = await connection.fetch("SELECT created_at FROM event")
    assert [now - row["created_at"] for row in left] == [KEEP_ENDED - timedelta(hours=1)]
