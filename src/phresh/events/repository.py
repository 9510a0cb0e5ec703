"""All SQL about events: writing them with their notification, reading a recipient's."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from phresh.db import Connection
from phresh.kit.repository import each, select_list
from phresh.models import Event, EventKind

if TYPE_CHECKING:
    ListenerConnection = asyncpg.Connection[asyncpg.Record]
else:
    ListenerConnection = asyncpg.Connection

# The channel every process LISTENs on; a notification's payload is "<user_id>:<event_id>".
CHANNEL = "phresh_events"
# The key space of the recipients' advisory locks (the first key of the two-key form).
EVENT_LOCKS = 0x6576_6E74

# One statement writes a change's events and their notifications: NOTIFY is sent when the
# transaction commits, and never if it rolls back.
#
# A recipient reads their events by id (id > the last one they got), so their events must
# become visible in id order. Ids are taken at insert and transactions commit in any order,
# so each writer first takes every recipient's transaction-scoped advisory lock (in user id
# order: two writers cannot deadlock on them) and holds it to its commit: a later writer to
# the same recipient takes its ids only once the earlier one has committed or rolled back.
# ``{recipients}`` is a query answering (user_id, kind); $1 is the cleaning, $2 the data.
RECORD = """
WITH recipient AS (
    SELECT r.user_id, r.kind,
           pg_advisory_xact_lock({locks}, (r.user_id % 2147483647)::integer)
    FROM ({recipients}) r
    ORDER BY r.user_id
), e AS (
    INSERT INTO event (user_id, kind, cleaning_id, data)
    SELECT recipient.user_id, recipient.kind, $1::bigint, $2::jsonb FROM recipient
    RETURNING id, user_id
)
SELECT pg_notify('{channel}', e.user_id || ':' || e.id) FROM e
"""

RECORD_FOR = RECORD.format(
    locks=EVENT_LOCKS,
    channel=CHANNEL,
    recipients="SELECT * FROM unnest($3::bigint[], $4::text[]) AS given(user_id, kind)",
)


async def record(
    connection: Connection,
    recipients: Sequence[tuple[int, EventKind]],
    cleaning_id: int | None,
    data: Mapping[str, Any],
) -> None:
    """An event of ``cleaning_id`` with ``data`` for each (user id, kind) of ``recipients``,
    in ``connection``'s transaction."""
    await connection.execute(
        RECORD_FOR,
        cleaning_id,
        json.dumps(data),
        [user_id for user_id, _ in recipients],
        [kind.value for _, kind in recipients],
    )


# The cleaner whose offer is accepted hears offer_accepted, every other cleaner whose offer
# is still pending offer_rejected. Run before those offers are moved to rejected.
RECORD_OFFER_DECISION = RECORD.format(
    locks=EVENT_LOCKS,
    channel=CHANNEL,
    recipients=(
        "SELECT o.cleaner_id AS user_id, CASE WHEN o.cleaner_id = $3 "
        "THEN 'offer_accepted' ELSE 'offer_rejected' END AS kind "
        "FROM offer o WHERE o.cleaning_id = $1 AND (o.cleaner_id = $3 OR o.status = 'pending')"
    ),
)


async def record_offer_decision(
    connection: Connection, cleaning_id: int, accepted_cleaner_id: int, data: Mapping[str, Any]
) -> None:
    await connection.execute(
        RECORD_OFFER_DECISION, cleaning_id, json.dumps(data), accepted_cleaner_id
    )


# The owner deleted the cleaning: every cleaner whose offer is still pending hears
# cleaning_removed. Run before those offers are moved to rejected.
RECORD_PENDING_REJECTED = RECORD.format(
    locks=EVENT_LOCKS,
    channel=CHANNEL,
    recipients=(
        "SELECT o.cleaner_id AS user_id, 'cleaning_removed' AS kind "
        "FROM offer o WHERE o.cleaning_id = $1 AND o.status = 'pending'"
    ),
)


async def record_pending_rejected(
    connection: Connection, cleaning_id: int, data: Mapping[str, Any]
) -> None:
    await connection.execute(RECORD_PENDING_REJECTED, cleaning_id, json.dumps(data))


EVENT_COLUMNS = select_list(Event, "e")
EVENTS_AFTER = (
    f"SELECT {EVENT_COLUMNS} FROM event e "  # noqa: S608 - EVENT_COLUMNS is a constant
    "WHERE e.user_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"
)


async def list_events_after(
    connection: Connection, user_id: int, after_id: int, *, limit: int
) -> list[Event]:
    """The user's events with an id above ``after_id``, oldest first (ix_event_user_id_id)."""
    return each(Event, await connection.fetch(EVENTS_AFTER, user_id, after_id, limit))


LATEST_EVENT_ID = "SELECT coalesce(max(id), 0) FROM event WHERE user_id = $1"


async def get_latest_event_id(connection: Connection, user_id: int) -> int:
    """The id of the user's newest event; 0 if they have none."""
    latest: int = await connection.fetchval(LATEST_EVENT_ID, user_id)
    return latest


# Ids grow with time: everything below the first id created since ``before`` goes, found
# through the primary key (no index on created_at to maintain for an hourly prune).
PRUNE_EVENTS = """
DELETE FROM event WHERE id < coalesce(
    (SELECT min(id) FROM event WHERE created_at >= $1), 9223372036854775807
)
"""


async def prune_events(connection: Connection, before: datetime) -> int:
    """Delete the events created before ``before``; how many."""
    return int((await connection.execute(PRUNE_EVENTS, before)).split()[-1])


PING = "SELECT 1"


async def ping(connection: ListenerConnection, timeout_s: float) -> None:
    """A round trip on the listener's own connection: fails if it is dead."""
    await connection.execute(PING, timeout=timeout_s)
