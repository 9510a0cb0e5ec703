"""Who is told what, and a recipient's events as they come.

The other domains' services call ``tell`` (or ``tell_offer_decided``) in the transaction of
the change: the events are written, and their recipients' streams woken, only if it commits.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from phresh.auth import service as auth_service
from phresh.auth.service import Claims
from phresh.db import Connection, Database
from phresh.events import repository
from phresh.events.listener import EventListener
from phresh.models import Cleaning, Event, EventKind

# A stream reads at most this many events at a time (then at once the next ones).
BATCH_SIZE = 100


def event_data(cleaning: Cleaning, by: str) -> dict[str, Any]:
    """What a toast needs: "alice offered on 'Kitchen deep clean'"."""
    return {"cleaning_id": cleaning.id, "cleaning_name": cleaning.name, "by": by}


async def tell(
    connection: Connection,
    cleaning: Cleaning,
    *,
    by: str,
    recipients: Sequence[tuple[int, EventKind]],
) -> None:
    """Tell each (user id, kind) of ``recipients`` that ``by`` (a username) did something to
    ``cleaning``."""
    await repository.record(connection, recipients, cleaning.id, event_data(cleaning, by))


async def tell_offer_decided(connection: Connection, cleaning: Cleaning, accepted: int) -> None:
    """The owner accepted the offer of cleaner ``accepted``: they hear offer_accepted, every
    cleaner whose offer is still pending offer_rejected. Call it before those offers move."""
    await repository.record_offer_decision(
        connection, cleaning.id, accepted, event_data(cleaning, cleaning.owner)
    )


async def tell_pending_rejected(connection: Connection, cleaning: Cleaning) -> None:
    """The owner deleted ``cleaning``: each cleaner whose offer is still pending hears
    cleaning_removed. Call it before those offers move."""
    await repository.record_pending_rejected(
        connection, cleaning.id, event_data(cleaning, cleaning.owner)
    )


async def get_start(connection: Connection, user_id: int, last_event_id: int | None) -> int:
    """Where a stream starts: after ``last_event_id`` (what the client got last), or after
    the user's newest event (only new ones). An id beyond the user's newest counts as their
    newest: later events get higher ids whatever a client claims to have seen."""
    latest = await repository.get_latest_event_id(connection, user_id)
    return latest if last_event_id is None else min(last_event_id, latest)


async def follow_events(
    database: Database,
    listener: EventListener,
    claims: Claims,
    after_id: int,
    *,
    keepalive_s: float,
) -> AsyncGenerator[list[Event]]:
    """The user's events after ``after_id``, a batch as soon as there are some, and an empty
    batch after each ``keepalive_s`` of silence. Ends when the access token expires or its
    session ends (checked every ``keepalive_s``).

    Each read takes a pooled connection for its one statement only; between reads the
    stream holds none.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (claims.expires_at - time.time())
    checked_at = loop.time()
    with listener.subscribe(claims.user_id) as subscription:
        # Read at once (what came since after_id), then each time the subscription rings.
        rang = True
        while True:
            if rang:
                # Cleared before the read: a notification that comes during the read rings
                # for the next wait.
                subscription.clear()
                async with database.acquire() as connection:
                    events = await repository.list_events_after(
                        connection, claims.user_id, after_id, limit=BATCH_SIZE
                    )
                if events:
                    after_id = events[-1].id
                    yield events
                    if len(events) == BATCH_SIZE:
                        continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            rang = await subscription.wait(min(keepalive_s, remaining))
            if loop.time() >= deadline:
                return
            if loop.time() - checked_at >= keepalive_s:
                checked_at = loop.time()
                if not await session_is_live(database, claims):
                    return
            if not rang:
                yield []


async def session_is_live(database: Database, claims: Claims) -> bool:
    async with database.acquire() as connection:
        return await auth_service.get_session_user(connection, claims) is not None
