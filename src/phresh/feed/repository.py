"""The feed's SQL: two keyset index walks merged, then the page's cleanings joined."""

from datetime import datetime

from sqlalchemy import Select, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.models import Cleaning


def feed_query(*, before: tuple[datetime, int], limit: int) -> Select[str, datetime, Cleaning]:
    """Events strictly before ``before`` on (event_at, id), newest first.

    Each branch reads at most ``limit`` rows from its own partial index
    (ix_cleaning_live_created_at, ix_cleaning_live_updated_at), so a page costs the same
    however long the history is.
    """
    live = Cleaning.deleted_at.is_(None)
    created = (
        select(
            Cleaning.id.label("id"),
            literal("created").label("event"),
            Cleaning.created_at.label("event_at"),
        )
        .where(live, tuple_(Cleaning.created_at, Cleaning.id) < before)
        .order_by(Cleaning.created_at.desc(), Cleaning.id.desc())
        .limit(limit)
    )
    updated = (
        select(
            Cleaning.id.label("id"),
            literal("updated").label("event"),
            Cleaning.updated_at.label("event_at"),
        )
        .where(
            live,
            Cleaning.updated_at > Cleaning.created_at,
            tuple_(Cleaning.updated_at, Cleaning.id) < before,
        )
        .order_by(Cleaning.updated_at.desc(), Cleaning.id.desc())
        .limit(limit)
    )
    events = union_all(created.subquery().select(), updated.subquery().select()).subquery("events")
    return (
        select(events.c.event, events.c.event_at, Cleaning)
        .join(Cleaning, Cleaning.id == events.c.id)
        .options(joinedload(Cleaning.owner))
        .order_by(events.c.event_at.desc(), events.c.id.desc())
        .limit(limit)
    )


async def list_events(
    session: AsyncSession, *, before: tuple[datetime, int], limit: int
) -> list[tuple[str, datetime, Cleaning]]:
    rows = await session.execute(feed_query(before=before, limit=limit))
    return [(event, event_at, cleaning) for event, event_at, cleaning in rows]
